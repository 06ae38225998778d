"""PNG results that carry their recipe: ours (JSON, control images embedded) for exact
re-runs, and an AUTOMATIC1111-style `parameters` text that other tools show."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from desktop.conditions.image_io import read_png_text
from desktop.domain.atomic import write_bytes_atomic
from desktop.domain.errors import InvalidRecipe
from desktop.domain.png_chunks import with_text
from desktop.domain.recipe import RECIPE_KEY, Recipe, parse_json, recipe_from_dict
from desktop.domain.safe_files import MAX_RECIPE_BYTES
from desktop.domain.settings_schema import SCHEDULER

_MODE_NAMES = {
    "balanced": "Balanced", "prompt": "My prompt is more important",
    "control": "ControlNet is more important", "cfg-rw": "CFG resolution weighting",
}


def parameters_text(recipe: Recipe) -> str:
    """The settings in the text layout AUTOMATIC1111 writes and most tools read."""
    fields = [
        f"Steps: {recipe.steps}", f"Sampler: {SCHEDULER.labels.get(recipe.scheduler, recipe.scheduler)}",
        f"CFG scale: {recipe.guidance_scale:g}", f"Seed: {recipe.seed}",
        f"Size: {recipe.width}x{recipe.height}", f"Model: {_short(recipe.base_model or 'demo model')}",
    ]
    for index, c in enumerate(recipe.conditions):
        if not c.enabled:
            continue
        unit = (
            f"Module: none, Model: {_short(c.controlnet or c.kind)}, Weight: {c.weight:g}, "
            f"Guidance Start: {c.start:g}, Guidance End: {c.end:g}, Control Mode: {_MODE_NAMES[c.mode]}"
        )
        fields.append(f'ControlNet {index}: "{unit}"')
    lines = [recipe.prompt]
    if recipe.negative_prompt:
        lines.append(f"Negative prompt: {recipe.negative_prompt}")
    lines.append(", ".join(fields))
    return "\n".join(lines)


def png_bytes(image: np.ndarray, recipe: Recipe, *, recipe_dict: dict[str, Any] | None = None,
              embed_recipe: bool = True) -> bytes:
    """The result PNG: `image` (H, W, 3 uint8) with its recipe (control images embedded) and the
    `parameters` text. `recipe_dict` is `recipe.to_dict(embed_images=True)` when the caller has it already.
    Without `embed_recipe` the recipe is left for the caller to keep beside it (`with_recipe` adds it later,
    giving these very bytes)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters_text(recipe))
    if embed_recipe:
        data = recipe.to_dict(embed_images=True) if recipe_dict is None else recipe_dict
        info.add_itxt(RECIPE_KEY, json.dumps(data, ensure_ascii=False), zip=True)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def with_recipe(png: bytes, recipe_dict: dict[str, Any]) -> bytes:
    """A result's PNG with its recipe put back: a project keeps each result's recipe once, beside a PNG
    without it; an exported result carries it again, so it renders again anywhere."""
    return with_text(png, RECIPE_KEY, json.dumps(recipe_dict, ensure_ascii=False))


def write_png(path: str | Path, image: np.ndarray, recipe: Recipe) -> None:
    """Encode fully in memory, then write atomically: no partial file on any failure."""
    write_bytes_atomic(path, png_bytes(image, recipe))


def recipe_from_png(path: str | Path) -> Recipe:
    """The recipe a result PNG carries, read from its text chunk alone: the pixels are never decoded,
    and the recipe may be as large as a JSON recipe (control images embedded)."""
    path = Path(path)
    text = read_png_text(path, RECIPE_KEY, limit=MAX_RECIPE_BYTES, what="recipe")
    if not text:
        raise InvalidRecipe("recipe", f"{path.name} holds no ControlNet Studio recipe")
    try:
        data = parse_json(text)
    except ValueError as err:
        raise InvalidRecipe("recipe", f"the recipe inside {path.name} {err}") from err
    return recipe_from_dict(data, base_dir=path.resolve().parent, self_contained=True).with_overrides(
        local_models=False)  # a stranger's: no local files


def _short(reference: str) -> str:
    return Path(reference).stem if reference.endswith(".safetensors") else reference.rstrip("/").split("/")[-1]
