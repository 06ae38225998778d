"""`bench`: speed figures, our sampler against diffusers, previews, conditions and UI stalls."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.domain.atomic import check_output_file
from desktop.domain.errors import InvalidRecipe

from .common import add_speed_options, check_threads, writing


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `bench` sub-command's options."""
    bench = sub.add_parser("bench", help="speed figures: our sampler vs diffusers, previews, conditions, UI stalls")
    bench.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    bench.add_argument("--model", default="tiny", help="tiny, sd15-shape, or a model folder with controlnet*/")
    bench.add_argument("--size", type=int, help="image size (default: 64 tiny, 256 sd15-shape)")
    bench.add_argument("--steps", type=int, default=10)
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--json", dest="json_out", help="write the figures here")
    bench.add_argument("--workdir", help="keep the built benchmark models here (reused next time)")
    bench.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    add_speed_options(bench)
    bench.add_argument("--engine-only", action="store_true",
                       help="only the engine's figures (no app worker and UI figures: for a machine without Qt)")
    bench.add_argument("--diffusers-compiled", action="store_true",
                       help="also time diffusers' pipeline with its UNet and ControlNet under torch.compile")


def run(args: argparse.Namespace) -> int:
    """Every number is checked before the models are built: building them takes most of a run."""
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

        torch.set_num_threads(check_threads(args.threads))
    result = run_bench(args.model, args.device, args.size, args.steps, args.repeats, args.workdir,
                       say=lambda text: print(text, flush=True), precision=args.precision or "auto",
                       compile_models=not args.no_compile, engine_only=args.engine_only,
                       diffusers_compiled=args.diffusers_compiled)
    print(table(result))
    if args.json_out:
        with writing(Path(args.json_out)):
            write_json(result, args.json_out)
    return 0
