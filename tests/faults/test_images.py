"""RELIABILITY 14-18: huge, damaged, rotated, 16-bit and odd-mode images."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from desktop.conditions.image_io import read_image
from desktop.domain.errors import InvalidImage


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny file whose header claims a huge image (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# 14 -----------------------------------------------------------------------------------------
def test_over_the_pixel_cap_is_refused_before_decoding_with_dimensions():
    with pytest.raises(InvalidImage) as info:
        read_image(_png_header_only(100_000, 90_000))
    assert "100000 x 90000" in str(info.value)


def test_a_smaller_cap_applies_too():
    data = io.BytesIO()
    Image.new("RGB", (300, 300)).save(data, "PNG")
    with pytest.raises(InvalidImage, match="300 x 300"):
        read_image(data.getvalue(), max_pixels=50_000)


# 15 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["truncated_png", "truncated_jpeg", "text", "empty"])
def test_damaged_files_cannot_be_read(tmp_path, kind):
    buffer = io.BytesIO()
    picture = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    if kind.startswith("truncated"):
        picture.save(buffer, "PNG" if kind.endswith("png") else "JPEG")
        data = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    else:
        data = b"hello, not an image" if kind == "text" else b""
    path = tmp_path / "image.png"
    path.write_bytes(data)
    with pytest.raises(InvalidImage, match="cannot read image"):
        read_image(path)


# 16 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotation_is_applied(orientation):
    pixels = np.zeros((40, 100, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left edge
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    upright = read_image(buffer.getvalue())
    assert upright.shape == (100, 40, 3)
    band_on_top = upright[:10].mean() > 200
    assert band_on_top if orientation == 6 else upright[-10:].mean() > 200


# 17 -----------------------------------------------------------------------------------------
def test_16_bit_grey_is_scaled_not_clipped():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    assert read_image(buffer.getvalue())[0, :, 0].tolist() == [0, 1, 128, 255]


def test_16_bit_rgb_is_scaled_not_clipped(tmp_path):
    values = np.zeros((2, 2, 3), np.uint16)
    values[0, 0] = (65535, 32896, 0)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), values[:, :, ::-1])
    assert read_image(path)[0, 0].tolist() == [255, 128, 0]


# 18 -----------------------------------------------------------------------------------------
def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_modes_are_normalised_by_the_stated_rule():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 255, 255, 255))
    out = read_image(_encoded(rgba))
    assert out.shape == (4, 4, 3) and out[0, 0].tolist() == [255, 255, 255] and out[1, 1].tolist() == [0, 0, 0]
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    palette.info["transparency"] = 0
    assert read_image(_encoded(palette))[0, 0].tolist() == [200, 100, 50]
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    assert read_image(_encoded(cmyk, "JPEG"))[0, 0].tolist()[0] > 200
    la = Image.new("LA", (4, 4), (200, 255))
    assert read_image(_encoded(la))[0, 0].tolist() == [200, 200, 200]
    grey = Image.new("L", (4, 4), 77)
    assert read_image(_encoded(grey))[0, 0].tolist() == [77, 77, 77]
