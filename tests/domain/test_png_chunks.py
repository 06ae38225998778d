"""Text chunks dropped and put back as bytes: the pixels are never touched, and a recipe dropped and
restored gives the very bytes Pillow wrote."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

from desktop.domain.png_chunks import with_text, without_text


def _png(**texts: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "Steps: 20")
    for key, value in texts.items():
        info.add_itxt(key, value, zip=True)
    buffer = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_one_keyword_is_dropped_and_the_rest_kept():
    recipe = json.dumps({"prompt": "ñ 日本", "image_data": "x" * 5000})
    png = _png(recipe=recipe)
    dropped = without_text(png, "recipe")
    assert len(dropped) < len(png) - 50
    image = Image.open(io.BytesIO(dropped))
    assert image.info == {"parameters": "Steps: 20"}
    assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(png))))


def test_text_put_back_gives_pillows_own_bytes_and_replaces_what_was_there():
    recipe = json.dumps({"prompt": "a red circle", "seed": 7})
    png = _png(recipe=recipe)
    assert with_text(without_text(png, "recipe"), "recipe", recipe) == png
    assert with_text(png, "recipe", recipe) == png  # never two copies
    assert Image.open(io.BytesIO(with_text(png, "recipe", "other"))).info["recipe"] == "other"


def test_all_text_dropped_and_anything_not_a_png_left_alone():
    png = _png(recipe="{}")
    assert Image.open(io.BytesIO(without_text(png))).info == {}
    assert without_text(b"GIF89a...") == b"GIF89a..." and with_text(b"GIF89a", "k", "v") == b"GIF89a"
