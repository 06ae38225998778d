"""The one place images from files and strangers are decoded: raster formats only, sizes checked
before decoding, orientation and modes normalised.

Pillow picks a decoder by content, not by name, so an EPS file named `.png` would be handed to
Ghostscript; only the raster formats in RASTER_FORMATS are ever tried, whatever the file is called.

Rule for modes: the result is always 8-bit RGB. Transparency is composited over black
(control images are white-on-black, so a transparent scribble layer reads as "no stroke");
16-bit channels are scaled by 255/65535, never clipped; CMYK, palette and grey are converted
by Pillow's standard conversions.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from desktop.domain.errors import InvalidImage, UnreadableFile
from desktop.domain.png_chunks import PNG_SIGNATURE, TEXT_CHUNKS, png_chunks, without_text
from desktop.domain.safe_files import MAX_IMAGE_BYTES, MB, read_regular_file

MAX_PIXELS = 64_000_000
RASTER_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")  # JPEG includes MPO: phones write it
_FORMAT_NAMES = "a PNG, JPEG, WebP, BMP, TIFF or GIF image"


def read_image(
    source: str | os.PathLike[str] | bytes, *, max_pixels: int = MAX_PIXELS, label: str = ""
) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array, or raise InvalidImage with one clear sentence.

    `label` names bytes in that sentence ("conditions[0].image_data"); a file is named by its name.
    """
    if isinstance(source, bytes):
        subject, data = label or "the image", source
    else:
        subject, data = f"image {Path(source).name}", _read_file(source)
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"cannot read {subject}: it is over the limit of {MAX_IMAGE_BYTES // MB} MB")
    if not data:
        raise InvalidImage(f"cannot read {subject}: it is empty")
    return to_rgb_array(ImageOps.exif_transpose(_decode(data, subject, max_pixels)))


def read_png_text(path: str | os.PathLike[str], key: str, *, limit: int, what: str = "text") -> str | None:
    """The text a PNG file keeps under `key` (tEXt, zTXt or iTXt), or None; its pixels are never decoded.

    Pillow caps every text chunk at 1 MB for all images; a result PNG's recipe embeds its control
    images and can be far larger, so its chunk is read here under the caller's own `limit`.
    """
    subject = f"image {Path(path).name}"
    data = _read_file(path)
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage(f"cannot read {subject}: it is not a PNG image")
    wanted = key.encode("latin-1")
    for kind, start, end in png_chunks(data):
        if kind not in TEXT_CHUNKS:
            continue
        keyword, _, rest = data[start + 8 : end - 4].partition(b"\0")
        if keyword != wanted:
            continue
        try:
            if zlib.crc32(data[start + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
                raise zlib.error("CRC mismatch")
            return _chunk_text(kind, rest, limit)
        except _TooLong as err:
            raise InvalidImage(f"cannot read {subject}: its {what} is over the limit of {limit // MB} MB") from err
        except (IndexError, UnicodeDecodeError, zlib.error) as err:
            raise InvalidImage(f"cannot read {subject}: its {what} is damaged") from err
    return None


def _read_file(path: str | os.PathLike[str]) -> bytes:
    """A regular file under the image cap: a device or FIFO named as an image is refused at once."""
    try:
        return read_regular_file(path, limit=MAX_IMAGE_BYTES, what="image")
    except UnreadableFile as err:
        raise InvalidImage(str(err)) from err


def _decode(data: bytes, subject: str, max_pixels: int) -> Image.Image:
    """Decode with the raster allow-list, refusing an image over `max_pixels` before its pixels are read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # a PNG's text is metadata, never pixels: dropped, so Pillow's 1 MB text cap cannot refuse a
            # result PNG whose recipe is large (its image is still a valid reference photo)
            image = Image.open(io.BytesIO(without_text(data)), formats=RASTER_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(
                    f"cannot open {subject}: it is {width} x {height} pixels, over the limit of {max_pixels:,} pixels"
                )
            image.load()
    except InvalidImage:
        raise
    except UnidentifiedImageError as err:
        raise InvalidImage(f"cannot read {subject}: it is damaged, or not {_FORMAT_NAMES}") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidImage(f"cannot open {subject}: it is too large to open safely") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise InvalidImage(f"cannot read {subject}: it is damaged") from err
    return image


class _TooLong(Exception):
    """A text chunk that inflates past the caller's limit."""


def _chunk_text(kind: bytes, rest: bytes, limit: int) -> str:
    """The text of a tEXt/zTXt/iTXt chunk after its keyword, inflated no further than `limit`."""
    if kind == b"tEXt":
        raw, encoding = rest, "latin-1"
    elif kind == b"zTXt":
        raw, encoding = _inflate(rest[1:], limit), "latin-1"
    else:
        compressed, text = rest[:1] == b"\x01", rest[2:].split(b"\0", 2)[2]  # after language, translation
        raw, encoding = (_inflate(text, limit) if compressed else text), "utf-8"
    if len(raw) > limit:
        raise _TooLong()
    return raw.decode(encoding)


def _inflate(data: bytes, limit: int) -> bytes:
    """zlib data inflated to at most `limit` bytes: a chunk of kilobytes may claim gigabytes."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(data, limit + 1)
    if len(raw) > limit:
        raise _TooLong()
    if not inflater.eof:
        raise zlib.error("the compressed text ends early")
    return raw


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Normalise any Pillow image to 8-bit RGB by the module's stated rule."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode != "I" or grey.max() > 255 else 255.0
        grey8 = np.clip(np.round(grey * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float64)
        span = float(grey.max() - grey.min()) or 1.0
        grey8 = np.round((grey - grey.min()) * (255.0 / span)).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = None  # our own cap (MAX_PIXELS) is checked on the header, before decoding
