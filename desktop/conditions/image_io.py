"""Reading images safely: size checked before decoding, orientation and modes normalised.

Rule for modes: the result is always 8-bit RGB. Transparency is composited over black
(control images are white-on-black, so a transparent scribble layer reads as "no stroke");
16-bit channels are scaled by 255/65535, never clipped; CMYK, palette and grey are converted
by Pillow's standard conversions.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from desktop.domain.errors import InvalidImage

MAX_PIXELS = 64_000_000


def read_image(source: str | os.PathLike[str] | bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array, or raise InvalidImage with one clear sentence."""
    name = "the image" if isinstance(source, bytes) else str(source)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except FileNotFoundError as err:
        raise InvalidImage(f"cannot read image: {name} does not exist") from err
    except OSError as err:
        raise InvalidImage(f"cannot read image {name}: {err.strerror or err}") from err
    if not data:
        raise InvalidImage(f"cannot read image {name}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(
                    f"cannot open {name}: it is {width} x {height} pixels, over the limit of {max_pixels:,} pixels"
                )
            image.load()
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InvalidImage(f"cannot open {name}: it is too large to open safely") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InvalidImage(f"cannot read image {name}: it is damaged or not an image") from err
    return to_rgb_array(ImageOps.exif_transpose(image))


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
