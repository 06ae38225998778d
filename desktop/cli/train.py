"""`train`: a ControlNet on a locked base, the demo model from nothing, and the tools around them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from desktop.domain.errors import InvalidRecipe

from . import evaluate
from .common import check_threads

ARMS = ("zero", "gaussian", "lite")  # the ablation's ControlNet initialisations


def add_parser(sub: argparse._SubParsersAction) -> None:
    """`train` and its WHAT sub-commands, `train evaluate` among them."""
    train = sub.add_parser("train", help="train a ControlNet, or rebuild the built-in demo model")
    train_sub = train.add_subparsers(dest="what", metavar="WHAT", required=True)
    net = train_sub.add_parser("controlnet", help="train a ControlNet on a locked base model")
    net.add_argument("--base", required=True, help="base model: a local diffusers folder")
    net.add_argument("--data", required=True, help="'shapes', or a fill50k-layout folder (prompt.json)")
    net.add_argument("--out", required=True, help="output folder (checkpoints, samples, log.csv, final/)")
    net.add_argument("--steps", type=int, default=2000)
    net.add_argument("--batch", type=int, default=16)
    net.add_argument("--lr", type=float, default=1e-4)
    net.add_argument("--resolution", type=int, default=64)
    net.add_argument("--prompt-dropout", type=float, default=0.5)
    net.add_argument("--init", choices=ARMS, default="zero")
    net.add_argument("--sample-every", type=int, default=250)
    net.add_argument("--seed", type=int, default=0)
    evaluate.add_parser(train_sub)
    export = train_sub.add_parser("export-base", help="the demo base at one of its checkpoints, as a model folder")
    export.add_argument("--work", required=True, help="the demo run's work folder (OUT/work)")
    export.add_argument("--step", type=int, required=True)
    export.add_argument("--out", required=True)
    report = train_sub.add_parser("report", help="the paper's claims at small scale, from finished ablation runs")
    report.add_argument("--base", required=True, help="the base model the arms were trained on")
    report.add_argument("--runs", required=True, help="folder with one sub-folder per arm (zero, gaussian, lite)")
    report.add_argument("--out", required=True, help="markdown file to write the measured section to")
    demo = train_sub.add_parser("demo", help="train the built-in demo model from nothing (about 4.5 h on 2 CPU cores)")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--stages", default="vae,base,controlnet_scribble,controlnet_pose,controlnet_edges",
                      help="comma-separated subset of vae, base, controlnet_scribble, controlnet_pose, controlnet_edges")
    demo.add_argument("--threads", type=int, default=1, help="torch threads (one was steadiest on a busy 2-core CPU)")


def run(args: argparse.Namespace) -> int:
    """Runs the chosen WHAT."""
    return {"controlnet": _controlnet, "evaluate": evaluate.run, "export-base": _export_base, "report": _report,
            "demo": _demo}[args.what](args)


def _controlnet(args: argparse.Namespace) -> int:
    from desktop.domain.training_settings import ControlNetSettings
    from desktop.train.controlnet_trainer import train_controlnet

    if args.data != "shapes" and not Path(args.data).is_dir():
        raise InvalidRecipe("data", f"{args.data} is neither 'shapes' nor a folder")
    if not Path(args.base).is_dir():
        raise InvalidRecipe("base", f"{args.base} is not a local diffusers folder")
    settings = ControlNetSettings(
        base=args.base, data=args.data, out=args.out, steps=args.steps, batch=args.batch, lr=args.lr,
        resolution=args.resolution, prompt_dropout=args.prompt_dropout, init=args.init,
        sample_every=args.sample_every, checkpoint_every=args.sample_every, seed=args.seed,
    )
    final = train_controlnet(settings, say=lambda text: print(text, flush=True))
    print(f"ControlNet written to {final}")
    return 0


def _export_base(args: argparse.Namespace) -> int:
    from desktop.train.demo import export_base_checkpoint

    checkpoint = Path(args.work) / "base_stage" / "checkpoints" / f"step-{args.step:06d}"
    if not checkpoint.is_dir():
        raise InvalidRecipe("step", f"no checkpoint at {checkpoint}")
    print(f"wrote {export_base_checkpoint(Path(args.work), args.step, Path(args.out))}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """The report ends with the commands that reproduce it, each arm's from its own settings.json."""
    from desktop.domain.atomic import write_text_atomic
    from desktop.train.reproduce import write_report

    runs = Path(args.runs)
    commands = []
    for arm in ARMS:
        settings = json.loads((runs / arm / "settings.json").read_text(encoding="utf-8"))
        commands.append(
            f"python main.py train controlnet --base {args.base} --data shapes --out {runs / arm} --init {arm} "
            f"--steps {settings['steps']} --batch {settings['batch']} --lr {settings['lr']} "
            f"--sample-every {settings['sample_every']} --seed {settings['seed']}")
    commands.append(f"python main.py train report --base {args.base} --runs {args.runs} --out {args.out}")
    write_text_atomic(args.out, write_report(args.base, runs, Path(args.out), commands) + "\n")
    print(f"wrote {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Stages already finished are kept, so a stopped run goes on where it stopped."""
    from desktop.train.demo import STAGES, default_plan, run_demo

    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InvalidRecipe("stages", f"unknown stage {unknown[0]!r}; use {', '.join(STAGES)}")
    plan = default_plan(args.seed)
    plan.threads = check_threads(args.threads)
    written = run_demo(Path(args.out), plan, stages, say=lambda text: print(text, flush=True))
    if written is None:
        left = [s for s in STAGES if s.startswith("controlnet_") and not (Path(args.out) / "work" / s / "final").exists()]
        print(f"no model written yet: stages left {', '.join(left)} (run again with them to finish)")
    else:
        print(f"demo model written to {written}")
    return 0
