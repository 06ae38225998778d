"""`render`: a recipe (.json, or a PNG made by this app) to a PNG."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.domain.atomic import check_output_file
from desktop.domain.errors import UntrustedPath

from .common import add_speed_options, writing
from .library_logs import library_output_to_log

if TYPE_CHECKING:
    from desktop.domain.recipe import Recipe


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `render` sub-command's options."""
    render = sub.add_parser("render", help="render a recipe (.json, or a PNG made by this app) to a PNG")
    render.add_argument("recipe", help="recipe .json, or a PNG that carries a recipe")
    render.add_argument("-o", "--output", required=True, help="output .png")
    render.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    add_speed_options(render)
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


def load_recipe(path: str, allow_local_files: bool) -> Recipe:
    """A user's JSON recipe, or a PNG's: self-contained (embedded data only) unless the user allows local files."""
    from desktop.domain.recipe import load_recipe_file

    if path.lower().endswith(".png"):
        from desktop.conditions.result_png import recipe_from_png

        recipe = recipe_from_png(path)
        return recipe.with_overrides(self_contained=False, local_models=True) if allow_local_files else recipe
    return load_recipe_file(path)


def run(args: argparse.Namespace) -> int:
    """Checks the output and the recipe before the engine loads; a PNG's models are named before they load."""
    output = check_output_file(args.output, ".png")
    recipe = load_recipe(args.recipe, args.allow_local_files)
    overrides = {k: getattr(args, k) for k in ("steps", "seed") if getattr(args, k) is not None}
    if args.lora_dir is not None:
        overrides["lora_dir"] = Path(args.lora_dir).expanduser().resolve()
    recipe = recipe.with_overrides(**overrides).validate()

    from desktop.conditions.result_png import write_png
    from desktop.engine.compile_cache import compile_cache_dir
    from desktop.engine.device import choose_device
    from desktop.engine.fast_path import FastPathOptions
    from desktop.engine.model_cache import ModelCache
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

    library_output_to_log()
    try:
        result = render(ModelCache(device, fast), recipe, on_step=on_step, previews=PreviewSettings(every=0),
                        on_models=on_models, on_status=lambda text: args.quiet or print(text, file=sys.stderr, flush=True))
    except UntrustedPath as err:
        raise UntrustedPath(f"{err}; add --allow-local-files to read it") from err
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    with writing(output):
        write_png(output, result.image, result.recipe)
    height, width = result.image.shape[:2]
    models = dataclasses.replace(named[0], base_info=result.model).describe()  # the family, known once loaded
    print(f"wrote {output} ({width} x {height}, {result.seconds:.1f} s on {device.label}; {models})")
    return 0
