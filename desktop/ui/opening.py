"""What a project (or restored work) is checked for as it opens, before anything paints, loads
or downloads: image layers that really decode, and the models it asks for, named to the user."""

from __future__ import annotations

from pathlib import Path

from desktop.conditions.image_io import read_image
from desktop.domain.document import Document
from desktop.domain.errors import InvalidImage
from desktop.domain.layers import ImageLayer
from desktop.domain.project import LoadedProject
from desktop.engine.defaults import DEMO_MODEL


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


def models_sentence(document: Document) -> str:
    """'This project uses base model X and ControlNet Y.' naming every model other than the
    built-in demo that the project asks for; empty when it asks for none."""
    base = document.settings.base_model
    nets = list(dict.fromkeys(layer.controlnet for layer in document.layers if layer.controlnet))
    parts = []
    if base and not _is_demo(base):
        parts.append(f"base model {_short(base)}")
    nets = [net for net in nets if not _is_demo(net)]
    if nets:
        parts.append(f"ControlNet{'s' if len(nets) > 1 else ''} {', '.join(_short(net) for net in nets)}")
    return f"This project uses {' and '.join(parts)}." if parts else ""


def _short(reference: str) -> str:
    """A local model by its file or folder name (the status bar has room for little more; the full
    path shows in the model fields); a hub id as written, since its owner is part of the name."""
    looks_local = reference.startswith(("/", "~", ".")) or Path(reference).is_absolute()
    return Path(reference).name if looks_local else reference


def _is_demo(reference: str) -> bool:
    demo = DEMO_MODEL.resolve()
    path = Path(reference).expanduser()
    try:
        path = path.resolve()
    except (OSError, RuntimeError):
        return False
    return path == demo or demo in path.parents
