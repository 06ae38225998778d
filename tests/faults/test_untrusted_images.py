"""Issue 13: images and PNGs from strangers. PostScript never reaches Ghostscript whatever the file
is called, a device or FIFO named as an image is refused at once, a result PNG always renders again
however large its recipe, and a hostile PNG gets one sentence (exit 2), never a traceback."""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from desktop.cli import main
from desktop.conditions.image_io import encode_png, read_image
from desktop.conditions.layer_images import control_image
from desktop.domain.errors import InvalidImage
from desktop.domain.layers import ImageLayer
from desktop.domain.recipe import recipe_from_dict
from desktop.domain.safe_files import MAX_RECIPE_BYTES
from desktop.conditions.result_png import RECIPE_KEY, recipe_from_png, write_png

ROOT = Path(__file__).resolve().parents[2]
NOT_RASTER = "not a PNG, JPEG, WebP, BMP, TIFF or GIF image"


# -- shared with tests/ui/test_untrusted_image_entry.py ---------------------------------------------
def eps_payload(target: Path) -> bytes:
    """A valid EPS whose PostScript writes `target` if any Ghostscript runs it."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        + f"({target}) (w) file dup (written by PostScript) writestring closefile\n".encode()
        + b"0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
    )


class GhostscriptSpy:
    """A `gs` first on PATH that records every run; with the payload's own file, proof either way."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log, self.written = folder / "gs-ran", folder / "written-by-postscript"
        binary = folder / "bin" / "gs"
        binary.parent.mkdir()
        binary.write_text(f'#!/bin/sh\necho "$@" >> "{self.log}"\n[ "$1" = --version ] && echo 10.0\nexit 0\n')
        binary.chmod(0o755)
        self.path = f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"

    def eps_file(self, name: str = "photo.png") -> Path:
        path = self.folder / name
        path.write_bytes(eps_payload(self.written))
        return path

    def ran(self) -> bool:
        return self.log.exists() or self.written.exists()


@pytest.fixture()
def ghostscript(tmp_path, monkeypatch) -> GhostscriptSpy:
    spy = GhostscriptSpy(tmp_path)
    monkeypatch.setenv("PATH", spy.path)
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow looks for gs again, finding the spy
    return spy


def one_error_line(capsys) -> str:
    """The CLI's promise for bad input: exactly one line on stderr, no traceback."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def tiny_recipe(tiny_models, **condition) -> dict:
    """Two steps at 64 x 64 on the tiny models, one scribble condition made of `condition`."""
    return {
        "prompt": "a red circle", "seed": 1, "steps": 2, "width": 64, "height": 64,
        "base_model": str(tiny_models.base),
        "conditions": [{"kind": "scribble", "controlnet": str(tiny_models.controlnet), **condition}],
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def noisy_photo_png(side: int = 900) -> bytes:
    """About 2.4 MB: noise does not compress, like a real reference photo."""
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    return encode_png(pixels)


# -- images read directly ------------------------------------------------------------------------------
@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
def test_eps_named_png_is_refused_by_content_and_never_reaches_ghostscript(ghostscript, as_bytes):
    path = ghostscript.eps_file()
    with pytest.raises(InvalidImage) as info:
        read_image(path.read_bytes() if as_bytes else path)
    assert not ghostscript.ran()
    assert NOT_RASTER in str(info.value)


@pytest.mark.parametrize("fmt", ["PPM", "TGA", "ICO", "PCX", "SGI"])
def test_other_formats_pillow_knows_are_refused_whatever_the_name(tmp_path, fmt):
    path = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(path, fmt)
    with pytest.raises(InvalidImage, match=NOT_RASTER):
        read_image(path)


def _camera_mpo() -> bytes:
    """Two frames, as phones write: Pillow reports such a JPEG as MPO."""
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), (250, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 250))]
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "MPO"])
def test_every_allowed_raster_format_still_reads(fmt):
    if fmt == "MPO":
        data = _camera_mpo()
    else:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (250, 0, 0)).save(buffer, fmt)
        data = buffer.getvalue()
    assert read_image(data)[0, 0, 0] > 200


def test_a_project_image_layer_holding_eps_is_refused(ghostscript):
    layer = ImageLayer(name="Photo", png=eps_payload(ghostscript.written))
    with pytest.raises(InvalidImage) as info:
        control_image(layer, 64, 64)
    assert not ghostscript.ran()
    assert NOT_RASTER in str(info.value)


def test_bytes_are_named_by_their_label_never_image_the_image():
    with pytest.raises(InvalidImage) as labelled:
        read_image(b"not an image", label="conditions[0].image_data")
    with pytest.raises(InvalidImage) as plain:
        read_image(b"not an image")
    assert str(labelled.value).startswith("cannot read conditions[0].image_data: it is damaged")
    assert "image the image" not in str(plain.value) and str(plain.value).startswith("cannot read the image:")


# -- the CLI: every place a recipe names or embeds an image ---------------------------------------------
def _write_json(path: Path, recipe: dict) -> Path:
    path.write_text(json.dumps(recipe))
    return path


def _photo_png(tmp_path: Path) -> Path:
    path = tmp_path / "ok.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(path)
    return path


def _eps_recipe(kind: str, tmp_path: Path, tiny_models, eps: bytes) -> Path:
    """A recipe whose image (or mask) is the EPS payload, the way `kind` names or embeds it."""
    _photo_png(tmp_path)
    (tmp_path / "evil.png").write_bytes(eps)
    inpaint = {"kind": "inpaint", "preprocess": "inpaint", "image": "ok.png"}
    conditions = {
        "image path": {"image": "evil.png"},
        "image_data": {"image_data": b64(eps)},
        "params.mask": {**inpaint, "params": {"mask": "evil.png"}},
        "mask_data": {**inpaint, "mask_data": b64(eps)},
    }
    if kind != "png recipe":
        return _write_json(tmp_path / "recipe.json", tiny_recipe(tiny_models, **conditions[kind]))
    recipe = recipe_from_dict(tiny_recipe(tiny_models, image_data=b64(eps)), tmp_path)
    path = tmp_path / "theirs.png"
    write_png(path, np.zeros((8, 8, 3), np.uint8), recipe)
    return path


@pytest.mark.parametrize("kind", ["image path", "image_data", "params.mask", "mask_data", "png recipe"])
def test_render_refuses_eps_wherever_the_recipe_puts_it(ghostscript, tmp_path, tiny_models, capsys, kind):
    source = _eps_recipe(kind, tmp_path, tiny_models, eps_payload(ghostscript.written))
    out = tmp_path / "out.png"
    code = main(["render", str(source), "-o", str(out), "--quiet"])
    assert not ghostscript.ran()
    assert code == 2 and NOT_RASTER in one_error_line(capsys) and not out.exists()


def test_embedded_image_errors_name_the_field(tmp_path, tiny_models, capsys):
    recipe = _write_json(tmp_path / "recipe.json", tiny_recipe(tiny_models, image_data=b64(b"not an image")))
    assert main(["render", str(recipe), "-o", str(tmp_path / "out.png"), "--quiet"]) == 2
    assert one_error_line(capsys).startswith("error: cannot read conditions[0].image_data: it is damaged")


def test_render_refuses_an_eps_given_as_the_result_png(ghostscript, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["render", str(ghostscript.eps_file("theirs.png")), "-o", str(out)]) == 2
    assert one_error_line(capsys) == "error: cannot read image theirs.png: it is not a PNG image"
    assert not out.exists() and not ghostscript.ran()


def test_preprocess_refuses_eps_input(ghostscript, tmp_path, capsys):
    out = tmp_path / "edges.png"
    code = main(["preprocess", "canny", str(ghostscript.eps_file()), "-o", str(out)])
    assert not ghostscript.ran()
    assert code == 2 and NOT_RASTER in one_error_line(capsys) and not out.exists()


# -- a device or a FIFO named as an image: refused at once, in a child process with bounded memory --------
def _special_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "photo.png"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


def _run_cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`main.py` as a user runs it; 3 GB of address space at most, so an endless read cannot eat the machine."""
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120, preexec_fn=limit_memory)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
@pytest.mark.parametrize("command", ["render", "preprocess"])
def test_a_device_or_fifo_as_image_is_refused_at_once(tmp_path, tiny_models, kind, command):
    image = _special_file(tmp_path, kind)
    out = tmp_path / "out.png"
    if command == "render":
        recipe = _write_json(tmp_path / "r.json", tiny_recipe(tiny_models, image=image.name))
        args = ["render", str(recipe), "-o", str(out)]
    else:
        args = ["preprocess", "canny", str(image), "-o", str(out)]
    done = _run_cli(args, tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0] == "error: cannot read image photo.png: it is not a regular file"
    assert not out.exists()


# -- item 6: a result PNG always renders again, however large its recipe -----------------------------------
def test_a_result_png_with_a_huge_recipe_reads_back_equal(tiny_models, tmp_path):
    photo, prompt = noisy_photo_png(), "a red circle on a blue background, " * 60_000  # 2.1 MB
    assert len(photo) > 2_300_000 and len(prompt) > 2_000_000
    recipe = recipe_from_dict({**tiny_recipe(tiny_models, image_data=b64(photo)), "prompt": prompt}, tmp_path)
    path = tmp_path / "result.png"
    write_png(path, np.full((64, 64, 3), 128, np.uint8), recipe)
    again = recipe_from_png(path)
    assert again.prompt == prompt and again.conditions[0].image_data == photo
    assert read_image(path).shape == (64, 64, 3)  # and it still opens as a reference photo


def test_a_result_png_with_a_large_photo_renders_again_from_the_cli(tiny_models, tmp_path):
    (tmp_path / "photo.png").write_bytes(noisy_photo_png())
    recipe = _write_json(tmp_path / "recipe.json", tiny_recipe(tiny_models, image="photo.png"))
    first, again = tmp_path / "first.png", tmp_path / "again.png"
    assert main(["render", str(recipe), "-o", str(first), "--quiet"]) == 0
    (tmp_path / "photo.png").unlink()
    assert main(["render", str(first), "-o", str(again), "--quiet"]) == 0
    assert np.array_equal(read_image(first), read_image(again))


# -- item 9: hostile result PNGs get one line and exit 2 --------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _recipe_chunk(compressed_text: bytes) -> bytes:
    """A compressed iTXt chunk under our key, as Pillow's `add_itxt(..., zip=True)` writes it."""
    return _chunk(b"iTXt", RECIPE_KEY.encode() + b"\0\x01\x00\0\0" + compressed_text)


def _png(width: int, height: int, recipe_chunk: bytes, *, bilevel: bool = False) -> bytes:
    """A complete, valid PNG of black pixels (1-bit grey when `bilevel`, else 8-bit RGB)."""
    depth, colour, row = (1, 0, (width + 7) // 8) if bilevel else (8, 2, 3 * width)
    deflate = zlib.compressobj(9)
    blank = b"\0" * (1 + row)
    idat = b"".join(deflate.compress(blank * 500) for _ in range(height // 500))
    idat += deflate.compress(blank * (height % 500)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + recipe_chunk + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def _render_png(path: Path, capsys) -> str:
    out = path.with_name("out.png")
    assert main(["render", str(path), "-o", str(out), "--quiet"]) == 2
    assert not out.exists()
    return one_error_line(capsys)


def test_a_recipe_chunk_that_inflates_past_the_cap_is_one_line(tmp_path, capsys):
    deflate = zlib.compressobj(9)
    bomb = deflate.compress(b" " * (MAX_RECIPE_BYTES + 2**20)) + deflate.flush()  # 65 KB that claim 65 MB
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(8, 8, _recipe_chunk(bomb)))
    assert _render_png(path, capsys) == "error: cannot read image bomb.png: its recipe is over the limit of 64 MB"


def test_a_recipe_nested_100k_deep_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.png"
    path.write_bytes(_png(8, 8, _recipe_chunk(zlib.compress(b"[" * 100_000 + b"]" * 100_000))))
    assert _render_png(path, capsys) == "error: recipe: the recipe inside deep.png is nested too deeply"


@pytest.mark.parametrize("fault", ["bad checksum", "cut short"])
def test_a_damaged_recipe_chunk_is_one_line(tmp_path, capsys, fault):
    chunk = _recipe_chunk(zlib.compress(b'{"prompt": "x"}' * 50))
    if fault == "bad checksum":
        chunk = chunk[:-1] + bytes([chunk[-1] ^ 0xFF])
    else:
        body = chunk[8:-4][:-20]
        chunk = _chunk(b"iTXt", body)
    path = tmp_path / "damaged.png"
    path.write_bytes(_png(8, 8, chunk))
    assert _render_png(path, capsys) == "error: cannot read image damaged.png: its recipe is damaged"


def _huge_png(tmp_path: Path, recipe: dict) -> Path:
    """A real 30000 x 30000 PNG (1-bit, 100 KB) carrying `recipe`."""
    path = tmp_path / "huge.png"
    path.write_bytes(_png(30_000, 30_000, _recipe_chunk(zlib.compress(json.dumps(recipe).encode())), bilevel=True))
    return path


def test_a_30000_pixel_square_png_has_its_recipe_read_without_decoding_pixels(tmp_path, tiny_models):
    photo = encode_png(np.zeros((8, 8, 3), np.uint8))
    recipe = recipe_from_png(_huge_png(tmp_path, tiny_recipe(tiny_models, image_data=b64(photo))))
    assert recipe.base_model == str(tiny_models.base) and recipe.conditions[0].image_data == photo


def test_a_30000_pixel_square_png_given_to_render_is_one_line(tmp_path):
    path = _huge_png(tmp_path, {"prompt": "x", "steps": 0, "conditions": []})
    done = _run_cli(["render", str(path), "-o", str(tmp_path / "out.png")], tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, "error: steps: must be between 1 and 150, got 0")
    assert not (tmp_path / "out.png").exists()
