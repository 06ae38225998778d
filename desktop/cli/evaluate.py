"""`train evaluate`: the demo model's quality bar, on samples it never trained on."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from desktop.domain.atomic import check_output_file, write_bytes_atomic
from desktop.domain.errors import InvalidRecipe

from .common import check_count


def add_parser(train_sub: argparse._SubParsersAction) -> None:
    """The `train evaluate` options."""
    evaluate = train_sub.add_parser(
        "evaluate", help="the demo quality bar on samples never trained on: outlines, posed figures, edges of photos")
    evaluate.add_argument("--base", help="base model folder with a model card (default: the built-in demo model)")
    evaluate.add_argument("--samples", type=int, default=50, help="samples per measure")
    evaluate.add_argument("--steps", type=int, default=20)
    evaluate.add_argument("--grid", help="also save each measure's controls and results as PNG grids (NAME-<measure>.png)")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every measure meets its bar, 1 when one does not (the table says which)."""
    import numpy as np
    from PIL import Image

    from desktop.conditions.image_io import encode_png
    from desktop.domain.defaults import default_base_model, model_card
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache
    from desktop.train.quality_bar import MEASURED, evaluate_demo

    if args.grid:
        check_output_file(args.grid, ".png", "grid")
    check_count("samples", args.samples, 1, 1000)
    check_count("steps", args.steps, 1, 150)
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
