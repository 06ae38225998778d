"""Keeping the unmasked area of an inpainted photo exactly as it was.

The inpaint ControlNet repaints the whole image and only steers the unmasked area towards the
photo; users expect those pixels untouched. As diffusers' `apply_overlay` does for its inpaint
pipelines, the photo is laid back over the result outside the mask, here across a feathered
edge so the seam does not show.
"""

from __future__ import annotations

import cv2
import numpy as np

from .prepare import fit_image, fit_mask


def feather_px(width: int, height: int) -> int:
    """Edge softness: wide enough to hide a seam, a small share of the image."""
    return max(2, round(min(width, height) / 64))


def keep_unmasked(generated: np.ndarray, photo: np.ndarray, mask: np.ndarray, resize_mode: str) -> np.ndarray:
    """`generated` inside the mask, `photo` (fitted as its control image was) outside it.

    The mask is grown by the feather width before it is softened, so every masked pixel is
    fully the generated image and the blend happens on the unmasked side of the edge."""
    height, width = generated.shape[:2]
    fitted = fit_image(photo, width, height, resize_mode)
    binary = (fit_mask(mask, photo.shape, width, height, resize_mode) > 127).astype(np.uint8)
    radius = feather_px(width, height)
    grown = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    alpha = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), radius / 2)
    alpha = np.maximum(alpha, binary.astype(np.float32))[:, :, None]
    blended = generated.astype(np.float32) * alpha + fitted.astype(np.float32) * (1.0 - alpha)
    return np.clip(blended.round(), 0, 255).astype(np.uint8)
