"""How far a run's last live preview is from its final image: does the preview show the result's colours?

The last x0 preview of a run is the map's picture of (nearly) the latents the VAE then decodes, so its
difference to the final image is the map's error. Measured as the mean absolute difference in levels of 255,
over all pixels and channels, after resizing the latent-sized preview to the image's size (bilinear).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from .components import BaseModel
from .sampler import SamplerRequest, StepUpdate, sample


@dataclass(frozen=True)
class PreviewFidelity:
    difference: float  # mean absolute difference, levels of 255
    preview: np.ndarray  # the last preview, (h, w, 3) uint8 at latent size
    image: np.ndarray  # the final image, (H, W, 3) uint8


def colour_difference(preview: np.ndarray, image: np.ndarray) -> float:
    """Mean |preview - image| in levels of 255, the preview resized (bilinear) to the image's size."""
    height, width = image.shape[:2]
    if preview.shape[:2] != (height, width):
        preview = cv2.resize(preview, (width, height), interpolation=cv2.INTER_LINEAR)
    return float(np.abs(preview.astype(np.float64) - image.astype(np.float64)).mean())


def last_preview_fidelity(base: BaseModel, request: SamplerRequest) -> PreviewFidelity:
    """Run `request` with a map preview at its last step only; compare that preview with the result."""
    request = dataclasses.replace(request, preview_every=request.steps, sharp_preview_every=0)
    previews: list[np.ndarray] = []

    def on_step(update: StepUpdate) -> None:
        if update.preview is not None and not update.sharp:
            previews.append(update.preview)

    image = sample(base, request, on_step=on_step).image
    if not previews:
        raise RuntimeError("the run delivered no preview")
    return PreviewFidelity(colour_difference(previews[-1], image), previews[-1], image)
