"""What the model sees for each layer: the exact control image fed to the sampler."""

from __future__ import annotations

import numpy as np

from desktop.domain.layers import ImageLayer, Layer, PoseLayer, ScribbleLayer

from .image_io import encode_png, read_image
from .pose_render import render_openpose
from .prepare import control_from_photo, fit_image
from .scribble import mask_to_control, rasterize


def control_image(layer: Layer, width: int, height: int, *, cached_only: bool = False) -> np.ndarray:
    """(height, width, 3) RGB control image for `layer` at the output size.

    With `cached_only` (the UI thread), an image layer whose network preprocessor has not run
    yet shows its photo instead; the worker computes the real one."""
    if isinstance(layer, ScribbleLayer):
        return mask_to_control(rasterize(layer.operations, width, height))
    if isinstance(layer, PoseLayer):
        return render_openpose(list(layer.people), width, height)
    if isinstance(layer, ImageLayer):
        photo = read_image(layer.png)
        image = control_from_photo(photo, layer.condition_kind, width, height, preprocessor=layer.preprocessor,
                                   params=layer.params, resize_mode=layer.resize_mode, cached_only=cached_only)
        return fit_image(photo, width, height, layer.resize_mode) if image is None else image
    raise TypeError(f"no control image for {type(layer).__name__}")


def control_images_png(layers: list[Layer], width: int, height: int) -> dict[str, bytes]:
    """What each enabled, non-empty layer puts in a recipe, keyed by layer id: the rendered
    control image for drawn layers; the photo itself for image layers (the recipe names their
    preprocessor, which runs in the engine, cached)."""
    from desktop.domain.document import is_layer_empty

    return {
        layer.id: layer.png if isinstance(layer, ImageLayer) else encode_png(control_image(layer, width, height))
        for layer in layers
        if layer.enabled and not is_layer_empty(layer)
    }
