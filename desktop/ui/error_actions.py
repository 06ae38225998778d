"""Failures shown where they happen, on the preview pane's error bar, and what its buttons do.

Never a modal dialog (in Live mode one would come back on every edit); a scripted run, with nobody to
read the bar, is told through `dialogs.run_failed` and ends there. Each fix that changes the document
is one undo step of its own; the bar goes once the document has changed, and stays for a look at a layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from desktop.domain.document import DocState, Document
from desktop.domain.errors import RunError
from desktop.domain.layers import Layer
from desktop.workers.generation import SideFailure

from . import run_errors
from .dialogs import Dialogs
from .layer_commands import LayerCommands
from .layer_panel import LayerPanel
from .model_picker import ModelPicker
from .preview_pane import PreviewPane
from .status_line import StatusLine

log = logging.getLogger(__name__)
RETRY_SIDE = "retry_side"  # Try again, after a layer's preprocessing failed


class ErrorActions(QObject):
    retry_requested = Signal()  # Try again: the selected layer's preprocessing, once more

    def __init__(self, document: Document, pane: PreviewPane, dialogs: Callable[[], Dialogs], status: StatusLine,
                 layers: LayerCommands, layer_panel: LayerPanel, model_picker: ModelPicker) -> None:
        super().__init__(pane)
        self.document = document
        self.bar = pane.error_bar
        self._dialogs = dialogs  # asked each time: a test or a scripted run replaces them
        self.status = status
        self.layers = layers
        self.layer_panel = layer_panel
        self.model_picker = model_picker
        self.bar.action_triggered.connect(self.perform)

    def show_run_failure(self, error: RunError, state: DocState) -> None:
        """A run's failure, its layers named as they were when it ran (`state`)."""
        s = state.settings
        shown = run_errors.explain(error, run_errors.condition_layers(state.layers), (s.width, s.height),
                                   s.base_model, [path for path, _ in s.loras])
        log.info("run failed (%s): %s", error.kind, shown.message)
        self.bar.show_error(shown)
        self._tell_script("Generation failed", shown.message)

    def show_side_failure(self, failure: SideFailure) -> None:
        """A layer's preprocessing or pose detection failed: shown once, naming the layer."""
        layer = self.layer_or_none(failure.layer.id)
        name = layer.name if layer is not None else failure.layer.name
        error = failure.error
        actions: tuple[run_errors.ErrorAction, ...] = ()
        if layer is not None:
            actions = (run_errors.ErrorAction(run_errors.SELECT_LAYER, "Select layer", layer.id),
                       run_errors.ErrorAction(run_errors.TURN_LAYER_OFF, "Turn layer off", layer.id))
            if failure.what == "preprocessing":  # pose detection has its own button to press again
                actions = (run_errors.ErrorAction(RETRY_SIDE, "Try again", layer.id), *actions)
        shown = run_errors.ShownError(error.kind, f"{failure.what} of '{name}' failed: {error.reason}", actions)
        log.info("%s failed (%s): %s", failure.what, error.kind, shown.message)
        self.bar.show_error(shown)
        self._tell_script(f"{failure.what.capitalize()} failed", error.message)

    def _tell_script(self, title: str, message: str) -> None:
        told = getattr(self._dialogs(), "run_failed", None)
        if told is not None:
            told(title, message)

    def perform(self, action: run_errors.ErrorAction) -> None:
        """A button on the error bar."""
        layer = self.layer_or_none(action.layer_id)
        self.document.end_gesture()
        key = f"error-action:{time.monotonic_ns()}"  # its own undo step, never merged with the user's edits
        if action.name == run_errors.USE_SIZE and action.size is not None:
            width, height = action.size
            self.document.set_settings(merge_key=key, width=width, height=height)
            self.status.show(f"Size {width} × {height}: half the pixels. Undo brings the old size back", 8000)
            self.bar.dismiss()
        elif action.name == run_errors.TURN_LAYER_OFF and layer is not None:
            self.document.update_layer(layer.id, f"Turn off {layer.name}", merge_key=key, enabled=False)
            self.bar.dismiss()
        elif action.name == RETRY_SIDE and layer is not None:
            self.document.editor.select(layer.id)
            self.retry_requested.emit()
        elif action.name in (run_errors.PICK_CONTROLNET, run_errors.SELECT_LAYER) and layer is not None:
            self.document.editor.select(layer.id)
            if action.name == run_errors.PICK_CONTROLNET:
                self.layer_panel.controlnet_combo.setFocus()
        elif action.name == run_errors.BROWSE_CONTROLNET and layer is not None:
            self.document.editor.select(layer.id)
            before = self.document.layer(layer.id).controlnet
            self.layers.browse_controlnet()
            if self.document.layer(layer.id).controlnet != before:
                self.bar.dismiss()
        elif action.name == run_errors.BROWSE_BASE:
            before = self.document.settings.base_model
            browse = "browse:file" if (action.reference or "").endswith(".safetensors") else "browse:folder"
            index = self.model_picker.combo.findData(browse)
            if index >= 0:
                self.model_picker.combo.activated.emit(index)  # as the user picks the picker's Browse entry
            if self.document.settings.base_model != before:
                self.bar.dismiss()
        self.document.end_gesture()

    def layer_or_none(self, layer_id: str | None) -> Layer | None:
        try:
            return self.document.layer(layer_id) if layer_id is not None else None
        except KeyError:  # removed since the run
            return None
