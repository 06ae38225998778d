"""Keeping the unmasked area of an inpainted photo exactly as it was.

The inpaint ControlNet repaints the whole image and only steers the unmasked area towards the
photo; users expect those pixels untouched. As diffusers' `apply_overlay` does for its inpaint
pipelines, the photo is laid back over the result outside the mask, here across a feathered
edge so the seam does not show. Live previews get the same overlay at their own size, so the
last preview and the result agree.
"""

from __future__ import annotations

import cv2
import numpy as np

from .prepare import fit_image, fit_mask


def feather_px(width: int, height: int) -> int:
    """Edge softness: wide enough to hide a seam, a small share of the image."""
    return max(2, round(min(width, height) / 64))


class UnmaskedOverlay:
    """Photos and soft masks at the output size, fitted once, laid over images of any size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._layers: list[tuple[np.ndarray, np.ndarray]] = []  # (photo float32 HxWx3, alpha float32 HxWx1)
        self._scaled: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, photo: np.ndarray, mask: np.ndarray, resize_mode: str) -> None:
        """The mask is grown by the feather width before it is softened, so every masked pixel is
        fully the generated image and the blend happens on the unmasked side of the edge."""
        fitted = fit_image(photo, self.width, self.height, resize_mode).astype(np.float32)
        binary = (fit_mask(mask, photo.shape, self.width, self.height, resize_mode) > 127).astype(np.uint8)
        radius = feather_px(self.width, self.height)
        grown = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
        alpha = np.maximum(cv2.GaussianBlur(grown.astype(np.float32), (0, 0), radius / 2), binary)
        self._layers.append((fitted, alpha[:, :, None]))
        self._scaled.clear()

    def __bool__(self) -> bool:
        return bool(self._layers)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """`image` inside each mask, its photo outside; a preview is matched at its own size."""
        height, width = image.shape[:2]
        blended = image.astype(np.float32)
        for photo, alpha in self._at_size(width, height):
            blended = blended * alpha + photo * (1.0 - alpha)
        return np.clip(blended.round(), 0, 255).astype(np.uint8)

    def _at_size(self, width: int, height: int) -> list[tuple[np.ndarray, np.ndarray]]:
        if (width, height) == (self.width, self.height):
            return self._layers
        if (width, height) not in self._scaled:
            self._scaled[(width, height)] = [
                (cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA),
                 cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)[:, :, None])
                for photo, alpha in self._layers
            ]
        return self._scaled[(width, height)]

