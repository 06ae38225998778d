"""What the model sees for each layer: the exact control image fed to the sampler."""

from __future__ import annotations

import cv2
import numpy as np

from desktop.domain.layers import ImageLayer, Layer, PoseLayer, ScribbleLayer

from .image_io import encode_png, read_image
from .pose_render import render_openpose
from .scribble import mask_to_control, rasterize


def control_image(layer: Layer, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB control image for `layer` at the output size."""
    if isinstance(layer, ScribbleLayer):
        return mask_to_control(rasterize(layer.operations, width, height))
    if isinstance(layer, PoseLayer):
        return render_openpose(list(layer.people), width, height)
    if isinstance(layer, ImageLayer):
        pixels = read_image(layer.png)
        if pixels.shape[:2] != (height, width):
            pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
        return pixels
    raise TypeError(f"no control image for {type(layer).__name__}")


def control_images_png(layers: list[Layer], width: int, height: int) -> dict[str, bytes]:
    """Control PNGs of the enabled, non-empty layers, keyed by layer id (a snapshot for a run)."""
    from desktop.domain.document import is_layer_empty

    return {
        layer.id: encode_png(control_image(layer, width, height))
        for layer in layers
        if layer.enabled and not is_layer_empty(layer)
    }
