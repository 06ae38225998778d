"""From a loaded photo to the exact control image a ControlNet is fed: resize mode, the
preprocessor (cached by image and parameters), and the kind's polarity (lineart is inverted)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import cv2
import numpy as np

from desktop.domain.errors import InvalidRecipe
from desktop.domain.recipe import RESIZE_MODES

from .preprocessors import get_preprocessor
from .preprocessors.neural import NetworkCache

_CACHE_SIZE = 32


def fit_image(image: np.ndarray, width: int, height: int, mode: str = "just_resize") -> np.ndarray:
    """Resize as users know it: stretch; cover then centre-crop; or fit then pad with black."""
    if mode not in RESIZE_MODES:
        raise InvalidRecipe("resize_mode", f"must be one of {', '.join(RESIZE_MODES)}, got {mode!r}")
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    interpolation = cv2.INTER_AREA if w * h > width * height else cv2.INTER_CUBIC
    if mode == "just_resize":
        return cv2.resize(image, (width, height), interpolation=interpolation)
    scale = max(width / w, height / h) if mode == "crop_and_resize" else min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if mode == "crop_and_resize":
        x0, y0 = (new_w - width) // 2, (new_h - height) // 2
        return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
    canvas = np.zeros((height, width) + image.shape[2:], image.dtype)
    x0, y0 = (width - new_w) // 2, (height - new_h) // 2
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return canvas


def fit_mask(mask: np.ndarray, photo_shape: tuple, width: int, height: int, resize_mode: str) -> np.ndarray:
    """A mask at the output size. One the size of its photo was drawn over it, so it moves with
    the photo (same resize mode); any other size is stretched to the output."""
    mode = resize_mode if mask.shape[:2] == tuple(photo_shape[:2]) else "just_resize"
    return fit_image(mask, width, height, mode)


def feed_for_kind(kind: str, image: np.ndarray) -> np.ndarray:
    """The lineart model is fed 1 - img/255: users give dark lines on white."""
    return 255 - image if kind == "lineart" and image.dtype == np.uint8 else image


class PreprocessCache:
    """Results by (image, preprocessor, parameters): moving a weight never re-runs a preprocessor."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.runs = 0

    def peek(self, key: tuple) -> np.ndarray | None:
        with self._lock:
            return self._items.get(key)

    def get_or_run(self, key: tuple, run) -> np.ndarray:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        result = run()
        with self._lock:
            self.runs += 1
            self._items[key] = result
            while len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)
        return result


PREPROCESS_CACHE = PreprocessCache()
NETWORKS = NetworkCache()


def preprocess(name: str, image: np.ndarray, params: dict[str, Any] | None = None, *, mask: np.ndarray | None = None,
               networks: NetworkCache | None = None, cache: PreprocessCache | None = None,
               where: str = "params", cached_only: bool = False) -> np.ndarray | None:
    """Run (or reuse) a preprocessor. With `cached_only`, a network preprocessor that has not run
    yet returns None instead of running: the UI thread never waits on a network."""
    spec = get_preprocessor(name)
    checked = spec.checked_params(params, where)
    if name == "inpaint" and mask is None:
        raise InvalidRecipe(f"{where}.mask", "the inpaint preprocessor needs a mask image")
    nets = networks or NETWORKS

    def run() -> np.ndarray:
        if spec.network:
            return spec.run(image, nets, **checked)
        if name == "inpaint":
            return spec.run(image, fit_image(mask, image.shape[1], image.shape[0]))
        return spec.run(image, **checked)

    digest = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
    mask_digest = hashlib.sha1(mask.tobytes()).hexdigest() if mask is not None else ""
    key = (digest, image.shape, name, tuple(sorted(checked.items())), mask_digest)
    store = cache or PREPROCESS_CACHE
    if cached_only and spec.network:
        return store.peek(key)
    return store.get_or_run(key, run)


def control_from_photo(pixels: np.ndarray, kind: str, width: int, height: int, *, preprocessor: str | None = None,
                       params: dict[str, Any] | None = None, resize_mode: str = "just_resize",
                       pixel_perfect: bool = True, mask: np.ndarray | None = None, where: str = "params",
                       cached_only: bool = False) -> np.ndarray | None:
    """The control image for a photo-based condition, at the output size where resizing applies
    (None only when `cached_only` and a network preprocessor has not run yet)."""
    if preprocessor in (None, "none"):
        image = pixels if resize_mode == "just_resize" else fit_image(pixels, width, height, resize_mode)
        return feed_for_kind(kind, image)
    source = fit_image(pixels, width, height, resize_mode) if pixel_perfect else pixels
    if mask is not None and source is not pixels:
        mask = fit_mask(mask, pixels.shape, width, height, resize_mode)
    image = preprocess(preprocessor, source, params, mask=mask, where=where, cached_only=cached_only)
    if image is None:
        return None
    if image.shape[:2] != (height, width):
        image = fit_image(image, width, height, "just_resize")
    return feed_for_kind(kind, image)
