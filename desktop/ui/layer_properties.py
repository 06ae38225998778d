"""The selected layer's properties: weight, active steps, control mode, ControlNet, opacity, the
model's view, where the layer steers (its region), and for an inpaint photo whether the unmasked
photo is kept.

Each widget is built once and bound to one field of the selected layer (`bindings.py`): an edit
touches its own field, and an event of that field writes only its own widget. The group box also
holds the photo section, the region tools and the tool palette where the panel hands them in, so
that disabling it (no layer selected) disables everything about a layer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget,
)

from desktop.domain.catalog import adapter_ids
from desktop.domain.document import Document, condition_kind
from desktop.domain.family import Family
from desktop.domain.layers import ImageLayer, Layer, painted_operations
from desktop.domain.settings_schema import END, KEEP_UNMASKED, MODE, OPACITY, START, WEIGHT, Setting

from .bindings import Binding, bind_check, bind_combo, bind_show, bind_slider, bind_spin
from .panes import narrow_combo

SLIDER_SCALE = 100  # a weight or opacity slider's ticks per unit (the bindings below scale by it)
RANGE_GAP = 0.01  # start stays below end: the boxes' two decimals keep one hundredth between them
DEFAULT_CONTROLNET = "(default)"  # short: the narrow combo shows it whole


class LayerProperties(QGroupBox):
    browse_controlnet = Signal()
    model_view_toggled = Signal(bool)

    def __init__(self, document: Document, photo_section: QWidget, region_tools: QWidget, tool_palette: QWidget,
                 parent: QWidget | None = None) -> None:
        """`photo_section` takes its row after the control mode, `region_tools` and `tool_palette` theirs
        after the model's view: where a photo's, any layer's region and a painted layer's controls belong."""
        super().__init__("Layer", parent)
        self.document = document
        self._family: Family | None = None  # the base model's, once known: which adapters to offer
        form = QFormLayout(self)
        self.weight_slider = QSlider(Qt.Orientation.Horizontal)
        self.weight_slider.setRange(*_slider_range(WEIGHT))
        self.weight_label = QLabel("1.00")
        weight_row = QHBoxLayout()
        weight_row.addWidget(self.weight_slider, 1)
        weight_row.addWidget(self.weight_label)
        form.addRow(WEIGHT.label, weight_row)
        self.start_spin = QDoubleSpinBox(decimals=2, minimum=START.minimum, maximum=END.maximum - RANGE_GAP,
                                         singleStep=0.05)
        self.end_spin = QDoubleSpinBox(decimals=2, minimum=START.minimum + RANGE_GAP, maximum=END.maximum,
                                       singleStep=0.05)
        for spin in (self.start_spin, self.end_spin):  # a typed value counts once typed: "0.35" never passes
            spin.setKeyboardTracking(False)  # through 0 on its way, which would push the other bound
        range_row = QHBoxLayout()
        range_row.addWidget(self.start_spin)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.end_spin)
        form.addRow("Active steps", range_row)
        self.mode_combo = QComboBox()
        for choice in MODE.menu:
            self.mode_combo.addItem(choice.label, choice.value)
        form.addRow(MODE.label, self.mode_combo)
        form.addRow(photo_section)
        self.controlnet_combo = QComboBox()
        self.controlnet_combo.setEditable(True)
        for combo in (self.mode_combo, self.controlnet_combo):
            narrow_combo(combo)
        self.controlnet_combo.addItem(DEFAULT_CONTROLNET)
        self.controlnet_combo.setToolTip("(default): the model's own ControlNet for this kind of layer; or type a "
                                         "ControlNet or T2I-Adapter: a folder, a .safetensors file or a hub id "
                                         "(owner/name)")
        self.controlnet_browse = QToolButton(text="…")
        self.controlnet_browse.setToolTip("Choose a ControlNet or T2I-Adapter folder, or a ControlNet .safetensors file")
        self.controlnet_browse.clicked.connect(self.browse_controlnet)
        net_row = QHBoxLayout()
        net_row.addWidget(self.controlnet_combo, 1)
        net_row.addWidget(self.controlnet_browse)
        form.addRow("ControlNet", net_row)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(*_slider_range(OPACITY))
        form.addRow(OPACITY.label, self.opacity_slider)
        self.model_view_check = QCheckBox("Show what the model sees")
        self.model_view_check.toggled.connect(self.model_view_toggled)
        form.addRow(self.model_view_check)
        form.addRow("Region", region_tools)
        form.addRow(tool_palette)
        self.keep_unmasked_check = QCheckBox(KEEP_UNMASKED.label)
        self.keep_unmasked_check.setToolTip("Lay the photo back over the result outside the mask, with a soft edge")
        form.addRow(self.keep_unmasked_check)

        self._field_bindings = self._bind()
        document.selected_layer_events.preprocessor.connect(self._show_layer)  # fires too when another is selected
        document.selected_layer_events.condition_kind.connect(self._offer_networks)  # fires too when another is selected
        self.refresh()

    def refresh(self) -> None:
        """Show the selected layer again, every field: for a document swapped without events."""
        self._show_layer()
        self._offer_networks()
        for binding in self._field_bindings:
            binding.refresh()

    def _bind(self) -> list[Binding]:
        """Each widget bound once to one field of the selected layer."""
        doc, events = self.document, self.document.selected_layer_events
        selected = doc.selected_layer
        return [
            bind_show(self, lambda: shown_field(selected(), "name", "Layer: {}"), events.name, self.title,
                      self.setTitle),
            bind_slider(self.weight_slider, lambda: shown_field(selected(), "weight", scale=SLIDER_SCALE),
                        lambda v: update_selected(doc, "weight", weight=v / SLIDER_SCALE), events.weight,
                        doc.end_gesture),
            bind_show(self.weight_label, lambda: shown_field(selected(), "weight", "{:.2f}"), events.weight,
                      self.weight_label.text, self.weight_label.setText),
            bind_spin(self.start_spin, lambda: shown_field(selected(), "start"), lambda v: self._set_range(start=v),
                      events.start),
            bind_spin(self.end_spin, lambda: shown_field(selected(), "end"), lambda v: self._set_range(end=v),
                      events.end),
            bind_combo(self.mode_combo, lambda: shown_field(selected(), "mode"),
                       lambda v: update_selected(doc, None, mode=v), events.mode),
            Binding(self.controlnet_combo, self._controlnet_text, self._set_controlnet, events.controlnet,
                    lambda: self.controlnet_combo.currentText().strip(), self.controlnet_combo.setEditText,
                    (self.controlnet_combo.lineEdit().editingFinished, self.controlnet_combo.activated)),
            bind_slider(self.opacity_slider, lambda: shown_field(selected(), "opacity", scale=SLIDER_SCALE),
                        lambda v: update_selected(doc, "opacity", opacity=v / SLIDER_SCALE), events.opacity,
                        doc.end_gesture),
            bind_check(self.keep_unmasked_check, lambda: shown_field(selected_image(doc), "keep_unmasked"),
                       lambda on: update_selected(doc, None, keep_unmasked=on) if selected_image(doc) else None,
                       events.keep_unmasked),
        ]

    def _show_layer(self, *_args: Any) -> None:
        """Which of these the selected layer has (the values come through the bindings)."""
        layer = self.document.selected_layer()
        self.setEnabled(layer is not None)
        if layer is None:
            self.setTitle("Layer")
        self.keep_unmasked_check.setVisible(painted_operations(layer) == "mask_operations")

    def _set_range(self, start: float | None = None, end: float | None = None) -> None:
        """The box just set wins: the other moves so start stays below end. (Refusing a crossing value
        made a typed End near Start jump back, and arrows could not pass the other bound.)"""
        layer = self.document.selected_layer()
        if layer is None:
            return
        if start is not None:
            end = max(layer.end, min(END.maximum, start + RANGE_GAP))
        else:
            start = min(layer.start, max(START.minimum, end - RANGE_GAP))
        if start < end:
            update_selected(self.document, "range", start=start, end=end)

    def set_family(self, family: Family | None) -> None:
        """The base model's family is known (or no longer): the networks offered follow it."""
        self._family = family
        self._offer_networks()

    def _offer_networks(self, *_args: Any) -> None:
        """The network list offers the default and the family's T2I-Adapters for the layer's kind; the text
        stays the layer's own (any folder, file or hub id can still be typed)."""
        layer = self.document.selected_layer()
        offered = adapter_ids(self._family, condition_kind(layer)) if layer is not None and self._family else ()
        combo = self.controlnet_combo
        if [combo.itemText(i) for i in range(combo.count())] == [DEFAULT_CONTROLNET, *offered]:
            return
        combo.blockSignals(True)
        try:
            combo.clear()
            combo.addItem(DEFAULT_CONTROLNET)
            combo.setItemData(0, "The model's own ControlNet for this kind of layer", Qt.ItemDataRole.ToolTipRole)
            for adapter in offered:
                combo.addItem(adapter)
                combo.setItemData(combo.count() - 1, "T2I-Adapter: lighter than a ControlNet, it reads the image "
                                  "once per generation instead of every step", Qt.ItemDataRole.ToolTipRole)
            combo.setEditText(self._controlnet_text() or DEFAULT_CONTROLNET)
        finally:
            combo.blockSignals(False)

    def _controlnet_text(self) -> str | None:
        layer = self.document.selected_layer()
        return None if layer is None else layer.controlnet or DEFAULT_CONTROLNET

    def _set_controlnet(self, text: str) -> None:
        update_selected(self.document, None, controlnet=None if text in ("", DEFAULT_CONTROLNET) else text)


def selected_image(document: Document) -> ImageLayer | None:
    """The selected layer when it is a photo: only a photo has the photo's fields."""
    layer = document.selected_layer()
    return layer if isinstance(layer, ImageLayer) else None


def update_selected(document: Document, merge: str | None, **changes: Any) -> None:
    """An edit of the selected layer; `merge` names a gesture whose steps are one undo step."""
    layer = document.selected_layer()
    if layer is None:
        return
    key = f"{layer.id}:{merge}" if merge else None
    document.update_layer(layer.id, merge_key=key, **changes)


def shown_field(layer: Layer | None, name: str, text: str | None = None, scale: int | None = None) -> Any:
    """A field of `layer` as a widget shows it (None when there is no such layer: the widget stays)."""
    if layer is None:
        return None
    value = getattr(layer, name)
    if scale is not None:
        return round(value * scale)
    return text.format(value) if text else value


def _slider_range(setting: Setting) -> tuple[int, int]:
    """A slider's ends for a number setting: the schema's bounds in slider ticks."""
    return round(setting.minimum * SLIDER_SCALE), round(setting.maximum * SLIDER_SCALE)
