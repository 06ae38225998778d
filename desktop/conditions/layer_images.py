"""What the model sees for each layer: the exact control image fed to the sampler.

Painted layers read their raster from `scribble.layer_raster`, cached by content: the canvas, the
layer thumbnail and the recipe share one rasterisation of each stroke."""

from __future__ import annotations

import numpy as np

from desktop.domain.layers import Fill, ImageLayer, Layer, PoseLayer, ScribbleLayer

from .image_io import encode_png, read_image
from .pose_render import render_openpose
from .prepare import control_from_photo, fit_image
from .scribble import layer_raster, mask_to_control


def control_image(layer: Layer, width: int, height: int, *, cached_only: bool = False) -> np.ndarray:
    """(height, width, 3) RGB control image for `layer` at the output size.

    With `cached_only` (the UI thread), an image layer whose network preprocessor has not run
    yet shows its photo instead; the worker computes the real one."""
    if isinstance(layer, ScribbleLayer):
        return mask_to_control(layer_raster(layer.operations, width, height))
    if isinstance(layer, PoseLayer):
        return render_openpose(list(layer.people), width, height)
    if isinstance(layer, ImageLayer):
        photo = read_image(layer.png)
        mask = inpaint_mask(layer, width, height) if layer.paints_mask else None
        image = control_from_photo(photo, layer.condition_kind, width, height, preprocessor=layer.preprocessor,
                                   params=layer.params, resize_mode=layer.resize_mode, mask=mask,
                                   cached_only=cached_only)
        return fit_image(photo, width, height, layer.resize_mode) if image is None else image
    raise TypeError(f"no control image for {type(layer).__name__}")


def inpaint_mask(layer: ImageLayer, width: int, height: int) -> np.ndarray:
    """(height, width) uint8, read-only and shared: 255 where the user painted the area to repaint."""
    return layer_raster(layer.mask_operations, width, height)


def region_mask(layer: Layer, width: int, height: int) -> np.ndarray:
    """(height, width) uint8, read-only and shared: 255 where the user painted where the layer steers. No
    region steers everywhere, so a region whose first stroke erases starts from everywhere and takes away."""
    operations = tuple(layer.region_operations)
    if operations and operations[0].erase:
        operations = (Fill(0.0, 0.0),) + operations  # on an empty raster a fill covers it all
    return layer_raster(operations, width, height)


def displayable(control: np.ndarray) -> np.ndarray:
    """A control image as a person can look at it: the inpaint model's masked pixels (-1) show black."""
    if control.dtype == np.uint8:
        return control
    return (np.clip(control, 0.0, 1.0) * 255.0).round().astype(np.uint8)


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


def mask_images_png(layers: list[Layer], width: int, height: int) -> dict[str, bytes]:
    """The painted inpaint mask of each enabled inpaint layer that has one, keyed by layer id."""
    return {
        layer.id: encode_png(inpaint_mask(layer, width, height))
        for layer in layers
        if isinstance(layer, ImageLayer) and layer.enabled and layer.paints_mask and layer.mask_operations
    }
