"""When an image layer's network preprocessor (depth, pose, ...) runs on the worker: only when what its
control image is made of changes (the photo, the preprocessor, its parameters, the resize mode, pixel
perfect, or the document's size), never on an edit elsewhere (a keystroke in the prompt).

A request that failed or was cancelled is remembered by the layer and its content key and is not made
again until that key changes or the user asks again (`retry`: the preprocessor picked again, the error
bar's Try again, or a Generate, which preprocesses inside its run anyway)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from desktop.domain.document import Document
from desktop.domain.layers import ImageLayer, Layer

# The layer fields a control image is made of; the document's width and height are the rest.
CONTENT_FIELDS = frozenset({"png", "preprocessor", "params", "resize_mode", "pixel_perfect"})
SIZE_FIELDS = frozenset({"width", "height"})

ContentKey = tuple


def content_key(layer: Layer, width: int, height: int) -> ContentKey | None:
    """What the layer's network preprocessing depends on; None when no network makes its control image."""
    from desktop.conditions.preprocessors import PREPROCESSORS

    if not isinstance(layer, ImageLayer):
        return None
    spec = PREPROCESSORS.get(layer.preprocessor)
    if spec is None or not spec.network:
        return None
    params = json.dumps(layer.params, sort_keys=True, default=repr)
    return (hash(layer.png), len(layer.png), layer.preprocessor, params, layer.resize_mode,
            getattr(layer, "pixel_perfect", None), width, height)


class PreprocessRequests:
    """Follows the document's per-field events and asks `request(layer_copy, width, height)` for the image
    layers whose network preprocessing is due. The worker answers each request in order, with one
    `done(layer_id)` or one `failed(layer, width, height)`; a cancel answers none, so `cancelled()` says it."""

    def __init__(self, document: Document, request: Callable[[ImageLayer, int, int], None]) -> None:
        self.document = document
        self._request = request
        self._pending: dict[str, list[ContentKey]] = {}  # layer id -> keys asked for, oldest first
        self._stopped: dict[str, ContentKey] = {}  # layer id -> the key that failed or was cancelled
        document.layer_changed.connect(self._on_layer_changed)
        document.settings_changed.connect(self._on_settings_changed)
        document.layers_inserted.connect(self._on_inserted)
        document.layers_removed.connect(self._on_removed)
        document.layers_reset.connect(self._on_reset)

    # -- document events ------------------------------------------------------------------------------
    def _on_layer_changed(self, layer_id: str, names: Iterable[str]) -> None:
        if CONTENT_FIELDS.intersection(names):
            self.request(layer_id)

    def _on_settings_changed(self, names: Iterable[str]) -> None:
        if SIZE_FIELDS.intersection(names):
            self.request_all()

    def _on_inserted(self, _index: int, layer_id: str) -> None:
        self.request(layer_id)

    def _on_removed(self, _index: int, layer_id: str) -> None:
        self._stopped.pop(layer_id, None)

    def _on_reset(self) -> None:
        """Another document (new, open, recovery): its layers' failures are not this one's."""
        self._stopped.clear()
        self.request_all()

    # -- requests -------------------------------------------------------------------------------------------
    def request_all(self) -> None:
        for layer in list(self.document.layers):
            self.request(layer.id)

    def request(self, layer_id: str, *, retry: bool = False) -> bool:
        """Ask for the layer's preprocessing if it is due; True when a request went to the worker."""
        try:
            layer = self.document.layer(layer_id)
        except KeyError:
            return False
        s = self.document.settings
        key = content_key(layer, s.width, s.height)
        if key is None:
            return False
        if retry and self._stopped.get(layer_id) == key:
            del self._stopped[layer_id]
        if self._stopped.get(layer_id) == key or key in self._pending.get(layer_id, ()):
            return False
        self._pending.setdefault(layer_id, []).append(key)
        self._request(layer.copy(), s.width, s.height)
        return True

    def retry(self, layer_id: str) -> bool:
        """The user asks again for a layer whose preprocessing failed or was cancelled (nothing to do otherwise)."""
        try:
            layer = self.document.layer(layer_id)
        except KeyError:
            return False
        s = self.document.settings
        if self._stopped.get(layer_id) != content_key(layer, s.width, s.height):
            return False
        return self.request(layer_id, retry=True)

    def forget_failures(self) -> None:
        """A Generate preprocesses inside its run: what failed before may work now, and is asked for again."""
        self._stopped.clear()

    def is_stopped(self, layer_id: str) -> bool:
        return layer_id in self._stopped

    def is_network(self, layer: Layer) -> bool:
        """Whether a network makes the layer's control image (its preprocessing runs on the worker)."""
        return content_key(layer, 1, 1) is not None

    # -- the worker's answers -------------------------------------------------------------------------------
    def done(self, layer_id: str) -> None:
        self._answered(layer_id)
        self._stopped.pop(layer_id, None)

    def failed(self, layer: Layer, width: int, height: int) -> None:
        self._answered(layer.id)
        key = content_key(layer, width, height)
        if key is not None:
            self._stopped[layer.id] = key

    def cancelled(self) -> None:
        """Every request not answered yet was stopped: none is made again for the same content."""
        for layer_id, keys in self._pending.items():
            if keys:
                self._stopped[layer_id] = keys[-1]
        self._pending.clear()

    def _answered(self, layer_id: str) -> None:
        keys = self._pending.get(layer_id)
        if keys:
            keys.pop(0)
            if not keys:
                del self._pending[layer_id]
