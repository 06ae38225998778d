"""A photo layer's way to its control image: the ControlNet kind it feeds, its preprocessor, how
the photo fits the canvas, the preprocessor's parameters, and Detect pose. Shown for photo layers only.

The parameter fields are built again only when the preprocessor changes: a value never rebuilds
them, so a box being typed in keeps its focus and cursor."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QPushButton, QSpinBox, QWidget

from desktop.conditions.preprocessors import PREPROCESSORS, Param
from desktop.domain.document import Document
from desktop.domain.layers import ImageLayer
from desktop.domain.recipe import CONDITION_KINDS
from desktop.domain.settings_schema import KIND, RESIZE_MODE

from .bindings import Binding, bind_combo, bind_line, bind_spin
from .layer_properties import selected_image, shown_field, update_selected
from .panes import narrow_combo


class PreprocessorForm(QWidget):
    detect_pose_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.kind_combo = QComboBox()
        for choice in KIND.choices:
            self.kind_combo.addItem(choice.label, choice.value)
        form.addRow(KIND.label, self.kind_combo)
        self.preprocessor_combo = QComboBox()
        for spec in PREPROCESSORS.values():
            self.preprocessor_combo.addItem(spec.label, spec.name)
        self.preprocessor_combo.setToolTip("Turns the photo into the control image its ControlNet was trained on")
        form.addRow("Preprocessor", self.preprocessor_combo)
        for combo in (self.kind_combo, self.preprocessor_combo):
            narrow_combo(combo)
        self.resize_combo = QComboBox()
        for choice in RESIZE_MODE.menu:
            self.resize_combo.addItem(choice.label, choice.value)
        form.addRow(RESIZE_MODE.label, self.resize_combo)
        self.params_box = QWidget()
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.params_box)
        self.detect_pose_button = QPushButton("Detect pose → pose layer")
        self.detect_pose_button.clicked.connect(self.detect_pose_requested)
        form.addRow(self.detect_pose_button)

        self._field_bindings = self._bind()
        self._param_bindings: list[Binding] = []
        self._params_for: str | None = None  # the preprocessor whose fields are shown
        document.selected_layer_events.preprocessor.connect(self._show_layer)  # fires too when another is selected
        self.refresh()

    def refresh(self) -> None:
        """Show the selected layer again, the parameter fields built anew (each shows its value as
        it is made): for a document swapped without events."""
        self._params_for = None
        self._show_layer()
        for binding in self._field_bindings:
            binding.refresh()

    def _bind(self) -> list[Binding]:
        """Each combo bound once to one field of the selected photo."""
        doc, events = self.document, self.document.selected_layer_events
        return [
            bind_combo(self.kind_combo, lambda: shown_field(selected_image(doc), "condition_kind"),
                       lambda v: update_selected(doc, None, condition_kind=v) if selected_image(doc) else None,
                       events.condition_kind),
            bind_combo(self.preprocessor_combo, lambda: shown_field(selected_image(doc), "preprocessor"),
                       self._set_preprocessor, events.preprocessor),
            bind_combo(self.resize_combo, lambda: shown_field(selected_image(doc), "resize_mode"),
                       lambda v: update_selected(doc, None, resize_mode=v) if selected_image(doc) else None,
                       events.resize_mode),
        ]

    def _show_layer(self, *_args: Any) -> None:
        """Shown for a photo only, with its preprocessor's fields (the values come through the bindings)."""
        layer = selected_image(self.document)
        self.setVisible(layer is not None)
        self._build_params(layer.preprocessor if layer else None)

    def _build_params(self, preprocessor: str | None) -> None:
        """One field per parameter of the preprocessor, each bound to its key in the selected
        layer's params. Built again only when the preprocessor changes: a value never rebuilds it."""
        if preprocessor == self._params_for:
            return
        self._params_for = preprocessor
        for binding in self._param_bindings:
            binding.unbind()
        self._param_bindings = []
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        spec = PREPROCESSORS.get(preprocessor) if preprocessor else None
        if spec is None:
            return
        events = self.document.selected_layer_events.params
        for param in spec.params:
            get = (lambda p=param: _param(selected_image(self.document), p))
            set_ = (lambda value, p=param.name: self._set_param(p, value))
            if isinstance(param.default, str):
                field = QLineEdit()
                binding = bind_line(field, get, set_, events)
            elif isinstance(param.default, int):
                field = QSpinBox(minimum=int(param.minimum), maximum=int(min(param.maximum, 2**31 - 1)))
                binding = bind_spin(field, get, set_, events)
            else:
                field = QDoubleSpinBox(decimals=2, minimum=param.minimum, maximum=param.maximum, singleStep=0.1)
                binding = bind_spin(field, get, set_, events)
            binding.refresh()
            field.setObjectName(f"param_{param.name}")
            self.params_form.addRow(param.name.replace("_", " "), field)
            self._param_bindings.append(binding)

    def _set_preprocessor(self, name: str) -> None:
        """A new preprocessor starts from its default parameters and feeds its own kind of ControlNet."""
        layer = selected_image(self.document)
        spec = PREPROCESSORS.get(name)
        if layer is None or spec is None or name == layer.preprocessor:
            return
        kind = spec.feeds if spec.feeds in CONDITION_KINDS and name != "none" else layer.condition_kind
        self.document.update_layer(layer.id, f"Preprocessor: {spec.label}", preprocessor=name, params={},
                                   condition_kind=kind)

    def _set_param(self, name: str, value: Any) -> None:
        """One parameter's edit; the steps of one field's typing merge into one undo step."""
        layer = selected_image(self.document)
        if layer is None or layer.params.get(name) == value:
            return
        self.document.update_layer(layer.id, f"Change {name}", merge_key=f"{layer.id}:param:{name}",
                                   params={**layer.params, name: value})


def _param(layer: ImageLayer | None, param: Param) -> Any:
    """A parameter's value as its field shows it: the layer's, else the preprocessor's default."""
    if layer is None:
        return None
    value = layer.params.get(param.name, param.default)
    if isinstance(param.default, str):
        return str(value)
    return int(value) if isinstance(param.default, int) else float(value)
