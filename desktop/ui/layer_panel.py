"""The layer panel: the layer stack above the selected layer's controls, made of five parts with one
job each: the rows (`layer_list`), the layer's fields (`layer_properties`), a photo's preprocessing
(`preprocessor_form`), where the layer steers (`region_tools`, as `region`) and the tools
(`tool_palette`, as `tools`).

Each part follows the model by itself (the document's per-field events, `document.editor` for
the selection and the tool); this panel only puts them together and forwards their requests."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.domain.document import Document

from .layer_list import LayerList
from .layer_properties import LayerProperties
from .preprocessor_form import PreprocessorForm
from .region_tools import RegionTools
from .tool_palette import ToolPalette


class LayerPanel(QWidget):
    current_layer_changed = Signal(object)  # layer id or None
    add_requested = Signal(str)  # "scribble", "pose", "image"
    model_view_toggled = Signal(bool)
    pose_action = Signal(str)  # "add", "mirror", "import", "export"
    browse_controlnet = Signal()
    clear_requested = Signal()
    clear_region_requested = Signal()
    detect_pose_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.layer_list = LayerList(document, self)  # parented at once: a part shown while the panel is
        self.preprocessor_form = PreprocessorForm(document, self)  # built never opens a window of its own
        self.region = RegionTools(document, self)
        self.tools = ToolPalette(document, self)
        self.properties = LayerProperties(document, self.preprocessor_form, self.region, self.tools)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.layer_list, 1)
        layout.addWidget(self.properties)

        self.layer_list.current_layer_changed.connect(self.current_layer_changed)
        self.layer_list.add_requested.connect(self.add_requested)
        self.properties.model_view_toggled.connect(self.model_view_toggled)
        self.properties.browse_controlnet.connect(self.browse_controlnet)
        self.preprocessor_form.detect_pose_requested.connect(self.detect_pose_requested)
        self.tools.pose_action.connect(self.pose_action)
        self.tools.clear_requested.connect(self.clear_requested)
        self.region.clear_requested.connect(self.clear_region_requested)

        # The widgets the window, the bench and the tests reach by name, from the part that owns each.
        self.list = self.layer_list.list
        self.add_button = self.layer_list.add_button
        self.duplicate_button = self.layer_list.duplicate_button
        self.weight_slider = self.properties.weight_slider
        self.weight_label = self.properties.weight_label
        self.start_spin = self.properties.start_spin
        self.end_spin = self.properties.end_spin
        self.mode_combo = self.properties.mode_combo
        self.controlnet_combo = self.properties.controlnet_combo
        self.opacity_slider = self.properties.opacity_slider
        self.model_view_check = self.properties.model_view_check
        self.keep_unmasked_check = self.properties.keep_unmasked_check
        self.kind_combo = self.preprocessor_form.kind_combo
        self.preprocessor_combo = self.preprocessor_form.preprocessor_combo
        self.resize_combo = self.preprocessor_form.resize_combo
        self.params_box = self.preprocessor_form.params_box
        self.tool_buttons = self.tools.tool_buttons
        self.mask_hint = self.tools.mask_hint

    def current_layer_id(self) -> str | None:
        """The selected layer, as the model holds it (the panel keeps no selection of its own)."""
        return self.document.editor.selected_layer_id

    def select_layer(self, layer_id: str | None) -> None:
        """Select `layer_id` in the model if the document has it (a stale id selects nothing)."""
        if layer_id is not None and any(layer.id == layer_id for layer in self.document.layers):
            self.document.editor.select(layer_id)

    def refresh(self) -> None:
        """Show the whole document again (rows, selection, every field): for a document whose
        content was swapped without events. Edits never need it: each field has its event."""
        for part in (self.layer_list, self.properties, self.preprocessor_form, self.region, self.tools):
            part.refresh()

    def invalidate(self, layer_id: str) -> None:
        """A layer's control image changed outside the document (a preprocessor finished)."""
        self.layer_list.invalidate(layer_id)
