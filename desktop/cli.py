"""Headless sub-commands. Bad input: exit 2, one line on stderr, no traceback, no output file."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop.domain.atomic import check_output_file
from desktop.domain.errors import Cancelled, InvalidRecipe, StudioError, UntrustedPath
from desktop.logs import log_path, setup_logging

log = logging.getLogger("desktop.cli")
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
MAX_THREADS = 1024  # more than any CPU has; torch overflows on numbers past a C int


SUBCOMMANDS = ("render", "train", "bench", "preprocess", "pose")
LIBRARY_LOGGERS = ("diffusers", "transformers", "huggingface_hub")


def _add_app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", nargs="?", help="a project file to open")
    parser.add_argument("--open", dest="open_project", metavar="PROJECT", help="open this project")
    parser.add_argument("--generate", action="store_true", help="run one generation at start")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window when it is done")
    parser.add_argument("--quit", action="store_true", help="exit after --generate / --screenshot")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    _add_speed_options(parser)
    parser.add_argument("--verbose", action="store_true", help="also log to the terminal")


def _add_speed_options(parser: argparse.ArgumentParser) -> None:
    from desktop.domain.app_settings import PRECISION_CHOICES

    parser.add_argument("--precision", choices=PRECISION_CHOICES, default=None,
                        help="auto (float16 on a GPU; bfloat16 on a CPU with native bfloat16, else float32) or a "
                        "fixed one")
    parser.add_argument("--no-compile", action="store_true",
                        help="run the models as they are, without compiling them (the first run at a size is "
                        "then quick, every step slower)")


def build_parser() -> argparse.ArgumentParser:
    """The sub-commands; with none, `main.py [PROJECT] [app options]` opens the app."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="ControlNet Studio. Without a sub-command it opens the app: "
        "main.py [PROJECT] [--open PROJECT] [--generate] [--screenshot OUT.png] [--quit] [--device D]",
    )
    parser.add_argument("--verbose", action="store_true", help="also log to the terminal")
    sub = parser.add_subparsers(dest="command", title="sub-commands", metavar="COMMAND")

    render = sub.add_parser("render", help="render a recipe (.json, or a PNG made by this app) to a PNG")
    render.add_argument("recipe", help="recipe .json, or a PNG that carries a recipe")
    render.add_argument("-o", "--output", required=True, help="output .png")
    render.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    _add_speed_options(render)
    render.add_argument("--steps", type=int, help="override the recipe's steps")
    render.add_argument("--seed", type=int, help="override the recipe's seed")
    render.add_argument("--quiet", action="store_true", help="no progress lines")
    render.add_argument(
        "--allow-local-files", action="store_true",
        help="let a recipe from a PNG read the local files it names (images, masks, poses, preprocessor model "
        "folders); without it, such a recipe may use only the data embedded in it and hub models (the models it "
        "asks for are always named before they load)")
    render.add_argument(
        "--lora-dir", metavar="DIR",
        help="the folder of LoRA files: <lora:name:weight> in a prompt loads DIR/name.safetensors (also a PNG's "
        "tags: they can pick only among the LoRAs in DIR, named before they load); without it such tags are "
        "reported and ignored")

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
    net.add_argument("--init", choices=("zero", "gaussian", "lite"), default="zero")
    net.add_argument("--sample-every", type=int, default=250)
    net.add_argument("--seed", type=int, default=0)
    evaluate = train_sub.add_parser(
        "evaluate", help="the demo quality bar on samples never trained on: outlines, posed figures, edges of photos")
    evaluate.add_argument("--base", help="base model folder with a model card (default: the built-in demo model)")
    evaluate.add_argument("--samples", type=int, default=50, help="samples per measure")
    evaluate.add_argument("--steps", type=int, default=20)
    evaluate.add_argument("--grid", help="also save each measure's controls and results as PNG grids (NAME-<measure>.png)")
    export = train_sub.add_parser("export-base", help="the demo base at one of its checkpoints, as a model folder")
    export.add_argument("--work", required=True, help="the demo run's work folder (OUT/work)")
    export.add_argument("--step", type=int, required=True)
    export.add_argument("--out", required=True)
    report = train_sub.add_parser("report", help="the paper's claims at small scale, from finished ablation runs")
    report.add_argument("--base", required=True, help="the base model the arms were trained on")
    report.add_argument("--runs", required=True, help="folder with one sub-folder per arm (zero, gaussian, lite)")
    report.add_argument("--out", required=True, help="markdown file to write the measured section to")
    demo = train_sub.add_parser("demo", help="train the built-in demo model from nothing (about 3.5 h on 2 CPU cores)")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--stages", default="vae,base,controlnet_scribble,controlnet_pose,controlnet_edges",
                      help="comma-separated subset of vae, base, controlnet_scribble, controlnet_pose, controlnet_edges")
    demo.add_argument("--threads", type=int, default=1, help="torch threads (one was steadiest on a busy 2-core CPU)")

    bench = sub.add_parser("bench", help="speed figures: our sampler vs diffusers, previews, conditions, UI stalls")
    bench.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    bench.add_argument("--model", default="tiny", help="tiny, sd15-shape, or a model folder with controlnet*/")
    bench.add_argument("--size", type=int, help="image size (default: 64 tiny, 256 sd15-shape)")
    bench.add_argument("--steps", type=int, default=10)
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--json", dest="json_out", help="write the figures here")
    bench.add_argument("--workdir", help="keep the built benchmark models here (reused next time)")
    bench.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    _add_speed_options(bench)
    bench.add_argument("--engine-only", action="store_true",
                       help="only the engine's figures (no app worker and UI figures: for a machine without Qt)")
    bench.add_argument("--diffusers-compiled", action="store_true",
                       help="also time diffusers' pipeline with its UNet and ControlNet under torch.compile")

    pre = sub.add_parser("preprocess", help="turn a photo into a control image")
    pre.add_argument("name", help="preprocessor: " + ", ".join(_preprocessor_names()))
    pre.add_argument("image", help="input photo")
    pre.add_argument("-o", "--output", required=True, help="output .png")
    pre.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a preprocessor parameter")
    pre.add_argument("--width", type=int, help="output width (pixel perfect: preprocess at this size)")
    pre.add_argument("--height", type=int, help="output height")
    pre.add_argument("--resize-mode", default="crop_and_resize", help="just_resize, crop_and_resize or resize_and_fill")
    pre.add_argument("--mask", help="mask image (inpaint)")
    pose = sub.add_parser("pose", help="render OpenPose JSON, or detect the people in a photo")
    pose_sub = pose.add_subparsers(dest="what", metavar="WHAT", required=True)
    pose_render = pose_sub.add_parser("render", help="OpenPose JSON -> the official control image")
    pose_render.add_argument("pose", help="OpenPose JSON file")
    pose_render.add_argument("-o", "--output", required=True)
    pose_render.add_argument("--width", type=int)
    pose_render.add_argument("--height", type=int)
    pose_detect = pose_sub.add_parser("detect", help="photo -> OpenPose JSON (RT-DETR + ViTPose)")
    pose_detect.add_argument("photo")
    pose_detect.add_argument("-o", "--output", required=True, help="output .json")
    pose_detect.add_argument("--detector", default=None, help="person detector: hub id or folder")
    pose_detect.add_argument("--pose-model", default=None, help="ViTPose model: hub id or folder")

    app = sub.add_parser("app", help="open the app (the default without a sub-command)")
    _add_app_options(app)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "app")):
        args = parser.parse_args(argv)
    else:
        args = parser.parse_args(["app", *argv])
    setup_logging(args.verbose)
    if args.command == "app":
        from desktop.ui.platform_check import qt_platform_problem

        if problem := qt_platform_problem():  # before Qt can abort the process on it
            log.error("app: %s", problem)
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
        from desktop.ui.launch import launch_app

        return launch_app(args)
    handler = {"render": _render, "train": _train, "bench": _bench, "preprocess": _preprocess, "pose": _pose}[args.command]
    try:
        return handler(args)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    except StudioError as err:
        log.error("%s: %s | %s", args.command, err, err.detail)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the edge: one line for the user, the trace in the log
        log.exception("%s failed", args.command)
        print(f"internal error: {err} (details in {log_path()})", file=sys.stderr)
        return EXIT_INTERNAL


def _library_output_to_log() -> None:
    """diffusers, transformers and huggingface_hub print their own warnings to stderr, and Python
    prints warnings there too: a render sends them to the log, so stderr holds only its own lines
    (--verbose still shows them, through the log's terminal handler). Importing the libraries
    takes seconds, so this runs once the cheap checks have passed."""
    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub.utils import logging as hub_logging  # noqa: F401 - sets up its stderr handler
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_default_handler()
    transformers_logging.disable_default_handler()
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for handler in [h for h in library.handlers if type(h) is logging.StreamHandler]:
            library.removeHandler(handler)
        library.propagate = True
    logging.captureWarnings(True)


def _load_recipe(path: str, allow_local_files: bool):
    """A user's JSON recipe, or a PNG's: self-contained (embedded data only) unless the user allows local files."""
    from desktop.domain.recipe import load_recipe_file

    if path.lower().endswith(".png"):
        from desktop.conditions.result_png import recipe_from_png

        recipe = recipe_from_png(path)
        return recipe.with_overrides(self_contained=False, local_models=True) if allow_local_files else recipe
    return load_recipe_file(path)


def _render(args: argparse.Namespace) -> int:
    output = check_output_file(args.output, ".png")
    recipe = _load_recipe(args.recipe, args.allow_local_files)
    overrides = {k: getattr(args, k) for k in ("steps", "seed") if getattr(args, k) is not None}
    if args.lora_dir is not None:
        overrides["lora_dir"] = Path(args.lora_dir).expanduser().resolve()
    recipe = recipe.with_overrides(**overrides).validate()

    from desktop.engine.compile_cache import compile_cache_dir
    from desktop.engine.device import choose_device
    from desktop.engine.fast_path import FastPathOptions
    from desktop.engine.model_cache import ModelCache
    from desktop.conditions.result_png import write_png
    from desktop.engine.render import PreviewSettings, render

    device = choose_device(args.device, args.precision or "auto")
    fast = FastPathOptions(compile=not args.no_compile, cache_dir=compile_cache_dir())
    started = time.perf_counter()
    named: list = []  # the models, once resolved; a PNG's are shown before they load or download

    def on_models(references) -> None:
        named.append(references)
        if args.recipe.lower().endswith(".png"):
            print(f"recipe from {Path(args.recipe).name} uses {references.describe()}", file=sys.stderr, flush=True)

    def on_step(update) -> None:
        if not args.quiet:
            rate = (time.perf_counter() - started) / update.step
            print(f"step {update.step}/{update.total} ({rate:.2f} s/step)", file=sys.stderr, flush=True)

    _library_output_to_log()
    try:
        result = render(ModelCache(device, fast), recipe, on_step=on_step, previews=PreviewSettings(every=0),
                        on_models=on_models, on_status=lambda text: args.quiet or print(text, file=sys.stderr, flush=True))
    except UntrustedPath as err:
        raise UntrustedPath(f"{err}; add --allow-local-files to read it") from err
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    with _writing(output):
        write_png(output, result.image, result.recipe)
    height, width = result.image.shape[:2]
    models = dataclasses.replace(named[0], base_info=result.model).describe()  # the family, known once loaded
    print(f"wrote {output} ({width} x {height}, {result.seconds:.1f} s on {device.label}; {models})")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.what == "evaluate":
        return _evaluate(args)
    if args.what == "export-base":
        from desktop.train.demo import export_base_checkpoint

        checkpoint = Path(args.work) / "base_stage" / "checkpoints" / f"step-{args.step:06d}"
        if not checkpoint.is_dir():
            raise InvalidRecipe("step", f"no checkpoint at {checkpoint}")
        print(f"wrote {export_base_checkpoint(Path(args.work), args.step, Path(args.out))}")
        return 0
    if args.what == "report":
        from desktop.domain.atomic import write_text_atomic
        from desktop.train.reproduce import write_report

        runs = Path(args.runs)
        commands = []
        for arm in ("zero", "gaussian", "lite"):
            settings = json.loads((runs / arm / "settings.json").read_text(encoding="utf-8"))
            commands.append(
                f"python main.py train controlnet --base {args.base} --data shapes --out {runs / arm} --init {arm} "
                f"--steps {settings['steps']} --batch {settings['batch']} --lr {settings['lr']} "
                f"--sample-every {settings['sample_every']} --seed {settings['seed']}")
        commands.append(f"python main.py train report --base {args.base} --runs {args.runs} --out {args.out}")
        write_text_atomic(args.out, write_report(args.base, runs, Path(args.out), commands) + "\n")
        print(f"wrote {args.out}")
        return 0
    if args.what == "demo":
        from desktop.train.demo import STAGES, default_plan, run_demo

        stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise InvalidRecipe("stages", f"unknown stage {unknown[0]!r}; use {', '.join(STAGES)}")
        plan = default_plan(args.seed)
        plan.threads = _check_threads(args.threads)
        written = run_demo(Path(args.out), plan, stages, say=lambda text: print(text, flush=True))
        if written is None:
            left = [s for s in STAGES if s.startswith("controlnet_") and not (Path(args.out) / "work" / s / "final").exists()]
            print(f"no model written yet: stages left {', '.join(left)} (run again with them to finish)")
        else:
            print(f"demo model written to {written}")
        return 0
    from desktop.train.controlnet_trainer import ControlNetSettings, train_controlnet

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


def _bench(args: argparse.Namespace) -> int:
    from desktop.bench.runner import run_bench, table, write_json

    from desktop.domain.recipe import STEPS_MAX, check_size

    if args.size is not None:
        check_size("size", args.size)
    if not 2 <= args.steps <= STEPS_MAX:
        raise InvalidRecipe("steps", f"must be between 2 and {STEPS_MAX} (the first step is not timed), got {args.steps}")
    if args.repeats < 1:
        raise InvalidRecipe("repeats", f"must be at least 1, got {args.repeats}")
    if args.json_out:
        check_output_file(args.json_out, ".json", "json")
    if args.threads is not None:
        import torch

        torch.set_num_threads(_check_threads(args.threads))
    result = run_bench(args.model, args.device, args.size, args.steps, args.repeats, args.workdir,
                       say=lambda text: print(text, flush=True), precision=args.precision or "auto",
                       compile_models=not args.no_compile, engine_only=args.engine_only,
                       diffusers_compiled=args.diffusers_compiled)
    print(table(result))
    if args.json_out:
        with _writing(Path(args.json_out)):
            write_json(result, args.json_out)
    return 0


def _check_threads(threads: int) -> int:
    return _check_count("threads", threads, 1, MAX_THREADS)


def _check_count(name: str, value: int, low: int, high: int) -> int:
    from desktop.domain.recipe import shown

    if not low <= value <= high:
        raise InvalidRecipe(name, f"must be between {low} and {high}, got {shown(value)}")
    return value


def _preprocessor_names() -> list[str]:
    from desktop.conditions.preprocessors import PREPROCESSORS

    return list(PREPROCESSORS)


def _parse_params(pairs: list[str]) -> dict:
    params: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRecipe("param", f"must look like key=value, got {pair!r}")
        try:
            params[key] = int(value)
        except ValueError:
            try:
                params[key] = float(value)
            except ValueError:
                params[key] = value
    return params


@contextmanager
def _writing(output: Path) -> Iterator[None]:
    """A write that fails after the checks (a full disk, a folder made read-only since) is one
    sentence; the atomic writers leave no partial file behind."""
    try:
        yield
    except OSError as err:
        raise InvalidRecipe("output", f"cannot write {output.name}: {err.strerror or err}") from err


def _preprocess(args: argparse.Namespace) -> int:
    from desktop.conditions.image_io import encode_png, read_image
    from desktop.conditions.layer_images import displayable
    from desktop.conditions.prepare import control_from_photo
    from desktop.conditions.preprocessors import get_preprocessor
    from desktop.domain.atomic import write_bytes_atomic
    from desktop.domain.recipe import check_size

    output = check_output_file(args.output, ".png")
    spec = get_preprocessor(args.name, "name")
    params = _parse_params(args.param)
    for name in ("width", "height"):
        if getattr(args, name) is not None:
            check_size(name, getattr(args, name))
    photo = read_image(args.image)
    width = photo.shape[1] if args.width is None else args.width
    height = photo.shape[0] if args.height is None else args.height
    mask = read_image(args.mask)[:, :, 0] if args.mask else None
    started = time.perf_counter()
    image = control_from_photo(photo, spec.feeds, width, height, preprocessor=args.name, params=params,
                               resize_mode=args.resize_mode, mask=mask)
    with _writing(output):
        write_bytes_atomic(output, encode_png(displayable(image)))
    print(f"wrote {output} ({width} x {height}, {args.name} for {spec.controlnet or 'any model'}, "
          f"{time.perf_counter() - started:.2f} s)")
    return 0


def _pose(args: argparse.Namespace) -> int:
    from desktop.conditions.image_io import encode_png, read_image
    from desktop.conditions.openpose_json import people_from_openpose, people_to_openpose
    from desktop.conditions.pose_render import render_openpose
    from desktop.domain.atomic import write_bytes_atomic, write_text_atomic
    from desktop.domain.recipe import parse_json
    from desktop.domain.safe_files import MAX_POSE_BYTES, read_text_file

    if args.what == "render":
        output = check_output_file(args.output, ".png")
        text = read_text_file(args.pose, limit=MAX_POSE_BYTES, what="pose")
        try:
            data = parse_json(text)
        except ValueError as err:
            raise InvalidRecipe("pose", f"{Path(args.pose).name} {err}") from err
        canvas = data if isinstance(data, dict) else {}
        width, height = _pose_size(args.width, canvas, "width"), _pose_size(args.height, canvas, "height")
        people = people_from_openpose(data, width, height)
        with _writing(output):
            write_bytes_atomic(output, encode_png(render_openpose(people, width, height)))
        print(f"wrote {output} ({width} x {height}, {len(people)} people)")
        return 0
    from desktop.conditions.prepare import NETWORKS
    from desktop.conditions.preprocessors import neural

    output = check_output_file(args.output, ".json")
    photo = read_image(args.photo)
    people = neural.detect_people(photo, NETWORKS, args.detector or neural.PERSON_DETECTOR,
                                  args.pose_model or neural.POSE_MODEL)
    height, width = photo.shape[:2]
    with _writing(output):
        write_text_atomic(output, json.dumps(people_to_openpose(people, width, height), indent=1))
    print(f"wrote {output} ({len(people)} people)")
    return 0


def _pose_size(flag: int | None, canvas: dict, name: str) -> int:
    """The flag, else the pose file's canvas, else 512. A canvas is a photo's size (pose detect writes
    it), so any whole number within the bound, not only multiples of 8."""
    from desktop.conditions.openpose_json import CANVAS_MAX, CANVAS_MIN
    from desktop.domain.recipe import check_size

    field, value = (name, flag) if flag is not None else (f"canvas_{name}", canvas.get(f"canvas_{name}") or 512)
    check_size(field, value, low=CANVAS_MIN, high=CANVAS_MAX, multiple_of=1)
    return value


def _evaluate(args: argparse.Namespace) -> int:
    """Exit 0 when every measure meets its bar, 1 when one does not (the table says which)."""
    import numpy as np
    from PIL import Image

    from desktop.conditions.image_io import encode_png
    from desktop.domain.atomic import write_bytes_atomic

    from desktop.engine.defaults import default_base_model, model_card
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache
    from desktop.train.quality_bar import MEASURED, evaluate_demo

    if args.grid:
        check_output_file(args.grid, ".png", "grid")
    _check_count("samples", args.samples, 1, 1000)
    _check_count("steps", args.steps, 1, 150)
    base_ref = args.base or default_base_model()
    card = model_card(base_ref)
    if card is None:
        raise InvalidRecipe("base", f"{base_ref} has no model card naming its ControlNets")
    cache = ModelCache(choose_device("cpu", "float32"))  # the quality bar is defined in float32, eager
    base = cache.base(base_ref)
    folders = {kind: folder for kind in MEASURED if (folder := card.controlnet_for(kind))}
    missing = sorted({folder for folder in folders.values() if not (Path(base_ref) / folder).is_dir()})
    if missing:
        raise InvalidRecipe("base", f"its model card names {', '.join(missing)}, which {base_ref} does not have")
    if not folders:
        raise InvalidRecipe("base", f"the model card of {base_ref} names no ControlNet the quality bar measures")
    nets = {kind: cache.controlnet(str(Path(base_ref) / folder)) for kind, folder in folders.items()}
    started = time.perf_counter()
    evaluation = evaluate_demo(base, nets, args.samples, args.steps)
    print(f"{args.samples} held-out samples per measure at 64 x 64, {args.steps} UniPC steps "
          f"({time.perf_counter() - started:.0f} s)")
    for row in evaluation.rows:
        print(row.text())
    if args.grid:
        stem = Path(args.grid)
        for name, grid in evaluation.grids.items():
            path = check_output_file(stem.with_name(f"{stem.stem}-{name}.png"), ".png", "grid")
            image = Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST)
            write_bytes_atomic(path, encode_png(np.asarray(image)))
            print(f"wrote {path}")
    return 0 if evaluation.passed else 1
