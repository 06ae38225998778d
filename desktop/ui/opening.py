"""What a project (or restored work) is checked for as it opens, before anything paints, loads
or downloads: image layers and results that really decode, and the models it asks for, named to
the user."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from desktop.conditions.image_io import read_image
from desktop.domain.document import Document
from desktop.domain.errors import InvalidImage
from desktop.domain.layers import ImageLayer
from desktop.domain.project import LoadedProject
from desktop.domain.recipe import SIZE_MAX
from desktop.domain.defaults import DEMO_MODEL
from desktop.workers.qimage_arrays import to_qimage

from .preview_pane import thumbnail

RESULT_MAX_PIXELS = SIZE_MAX * SIZE_MAX  # the largest image a recipe can make
MAX_RESULTS = 200  # the newest kept as a project opens: each one is decoded then, so this bounds the wait
PREPROCESSOR_MODEL_PARAMS = ("model", "detector", "pose_model")  # image layer params that name a network


def leave_out_unreadable_images(loaded: LoadedProject) -> None:
    """Decode every image layer now, through the one reader with the raster allow-list and size
    cap: a damaged, over-cap or non-raster layer is left out with a warning naming it, instead
    of failing later in a paint event or on the worker thread."""
    kept = []
    for layer in loaded.document.layers:
        if isinstance(layer, ImageLayer):
            try:
                read_image(layer.png)
            except InvalidImage as err:
                loaded.warnings.append(f"layer {layer.name} could not be read ({err}) and was left out")
                continue
        kept.append(layer)
    loaded.document.layers = kept


def leave_out_unreadable_results(loaded: LoadedProject) -> list[QImage]:
    """Keep the newest MAX_RESULTS results whose image decodes through the one reader, no larger
    than a recipe can make (a stranger's 8000 x 8000 results would take gigabytes); warn with how
    many were left out. Returns the kept results' thumbnails: each image is decoded once, here."""
    history = loaded.document.history
    older = max(0, len(history) - MAX_RESULTS)
    kept, thumbnails = [], []
    for item in history[older:]:
        try:
            thumbnails.append(thumbnail(result_image(item.image_png)))
        except InvalidImage:
            continue
        kept.append(item)
    unreadable = len(history) - older - len(kept)
    if older:
        oldest = "the oldest result was" if older == 1 else f"the {older} oldest results were"
        loaded.warnings.append(f"{oldest} left out: a project keeps its newest {MAX_RESULTS}")
    if unreadable:
        noun, verb = ("result image", "was") if unreadable == 1 else ("result images", "were")
        loaded.warnings.append(f"{unreadable} {noun} could not be read and {verb} left out")
    loaded.document.history = kept
    return thumbnails


def result_image(png: bytes) -> QImage:
    """A result's image at full size, decoded through the one reader under the result cap."""
    return to_qimage(read_image(png, max_pixels=RESULT_MAX_PIXELS, label="the result image"))


def models_sentence(document: Document) -> str:
    """'This project uses base model X and ControlNet Y.' naming every model other than the
    built-in demo that the project asks for (preprocessor networks and LoRAs included); empty when it asks for none."""
    base = document.settings.base_model
    nets = [net for net in dict.fromkeys(layer.controlnet for layer in document.layers if layer.controlnet)
            if not _is_demo(net)]
    networks = list(dict.fromkeys(
        value for layer in document.layers if isinstance(layer, ImageLayer)
        for key, value in layer.params.items() if key in PREPROCESSOR_MODEL_PARAMS and isinstance(value, str) and value))
    parts = []
    if base and not _is_demo(base):
        parts.append(f"base model {_short(base)}")
    loras = [path for path, _ in document.settings.loras]
    for label, names in (("ControlNet", nets), ("preprocessor model", networks), ("LoRA", loras)):
        if names:
            parts.append(f"{label}{'s' if len(names) > 1 else ''} {', '.join(_short(name) for name in names)}")
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"This project uses {listed}."


def _short(reference: str) -> str:
    """A local model by its file or folder name (the status bar has room for little more; the full
    path shows in the model fields); a hub id as written, since its owner is part of the name."""
    looks_local = reference.startswith(("/", "~", ".")) or Path(reference).is_absolute()
    return Path(reference).name if looks_local else reference


def _is_demo(reference: str) -> bool:
    """Whether a model name is the built-in demo; a name no path can be made of (a NUL, an unknown
    user's ~) is not."""
    demo = DEMO_MODEL.resolve()
    try:
        path = Path(reference).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return path == demo or demo in path.parents
