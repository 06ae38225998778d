"""The layer panel: the stack (eye, thumbnail, name), layer actions, and the selected layer's
controls (weight, start/end, control mode, ControlNet, opacity, and per-kind tools).

The selection and the tool live in the model (`document.editor`). Rows follow the document's
insert/remove/move/field events one row at a time; each property widget is built once and bound
to one field of the selected layer (`bindings.py`); the preprocessor's form is built again only
when the preprocessor changes."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QMenu, QPushButton, QSlider, QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from desktop.conditions.layer_images import control_image, displayable
from desktop.conditions.preprocessors import PREPROCESSORS
from desktop.domain.document import Document, condition_kind, is_layer_empty
from desktop.domain.layers import MAX_LAYERS, ImageLayer, Layer, PoseLayer, painted_operations
from desktop.domain.recipe import CONDITION_KINDS
from desktop.domain.settings_schema import END, KEEP_UNMASKED, KIND, MODE, OPACITY, RESIZE_MODE, START, WEIGHT, Setting
from desktop.workers.qimage_arrays import to_qimage

from .bindings import Binding, bind_check, bind_combo, bind_line, bind_show, bind_slider, bind_spin

MODE_LABELS = tuple((choice.value, choice.label) for choice in MODE.menu)  # the schema's, as the combo lists them
SLIDER_SCALE = 100  # a weight or opacity slider's ticks per unit (the bindings below scale by it)
RANGE_GAP = 0.01  # start stays below end: the boxes' two decimals keep one hundredth between them
DEFAULT_CONTROLNET = "(default for this kind)"
THUMB = 40
PIXEL_FIELDS = frozenset({"operations", "people", "png", "preprocessor", "params", "resize_mode", "condition_kind",
                          "mask_operations"})  # what a thumbnail shows; a weight or a name changes no pixel


class LayerPanel(QWidget):
    current_layer_changed = Signal(object)  # layer id or None
    add_requested = Signal(str)  # "scribble", "pose", "image"
    model_view_toggled = Signal(bool)
    pose_action = Signal(str)  # "add", "mirror", "import", "export"
    browse_controlnet = Signal()
    clear_requested = Signal()
    detect_pose_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._updating = False
        self._thumbs: dict[str, tuple[Layer, QIcon]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setObjectName("layerList")
        self.list.currentRowChanged.connect(self._on_row_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        layout.addWidget(QLabel("<b>Layers</b>"))
        layout.addWidget(self.list, 1)

        buttons = QHBoxLayout()
        self.add_button = QToolButton(text="Add")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for kind, label in (("scribble", "Scribble layer"), ("pose", "Pose layer"), ("image", "Reference image…")):
            menu.addAction(label, lambda k=kind: self.add_requested.emit(k))
        self.add_button.setMenu(menu)
        self.duplicate_button = QToolButton(text="Duplicate")
        self.remove_button = QToolButton(text="Remove")
        self.up_button = QToolButton(text="▲")
        self.down_button = QToolButton(text="▼")
        self.up_button.setToolTip("Move layer up")
        self.down_button.setToolTip("Move layer down")
        for button in (self.add_button, self.duplicate_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.duplicate_button.clicked.connect(lambda: self._with_current(self.document.duplicate_layer))
        self.remove_button.clicked.connect(lambda: self._with_current(self.document.remove_layer))
        self.up_button.clicked.connect(lambda: self._with_current(lambda i: self.document.move_layer(i, +1)))
        self.down_button.clicked.connect(lambda: self._with_current(lambda i: self.document.move_layer(i, -1)))

        self.properties = QGroupBox("Layer")
        form = QFormLayout(self.properties)
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
        range_row = QHBoxLayout()
        range_row.addWidget(self.start_spin)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.end_spin)
        form.addRow("Active steps", range_row)
        self.mode_combo = QComboBox()
        for key, label in MODE_LABELS:
            self.mode_combo.addItem(label, key)
        form.addRow(MODE.label, self.mode_combo)
        self.kind_combo = QComboBox()
        for choice in KIND.choices:
            self.kind_combo.addItem(choice.label, choice.value)
        self.kind_label = QLabel(KIND.label)
        form.addRow(self.kind_label, self.kind_combo)
        self.preprocessor_combo = QComboBox()
        for spec in PREPROCESSORS.values():
            self.preprocessor_combo.addItem(spec.label, spec.name)
        self.preprocessor_combo.setToolTip("Turns the photo into the control image its ControlNet was trained on")
        self.preprocessor_label = QLabel("Preprocessor")
        form.addRow(self.preprocessor_label, self.preprocessor_combo)
        self.resize_combo = QComboBox()
        for choice in RESIZE_MODE.menu:
            self.resize_combo.addItem(choice.label, choice.value)
        self.resize_label = QLabel(RESIZE_MODE.label)
        form.addRow(self.resize_label, self.resize_combo)
        self.params_box = QWidget()
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.params_box)
        self.detect_pose_button = QPushButton("Detect pose → new pose layer")
        self.detect_pose_button.clicked.connect(self.detect_pose_requested)
        form.addRow(self.detect_pose_button)
        self.controlnet_combo = QComboBox()
        self.controlnet_combo.setEditable(True)
        self.controlnet_combo.addItem(DEFAULT_CONTROLNET)
        self.controlnet_browse = QToolButton(text="…")
        self.controlnet_browse.setToolTip("Choose a ControlNet folder or .safetensors file")
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
        self.tools = QStackedWidget()
        self.tools.addWidget(QWidget())
        self.tools.addWidget(self._scribble_tools())
        self.tools.addWidget(self._pose_tools())
        form.addRow(self.tools)
        self.mask_hint = QLabel("Paint the area to repaint on the canvas; Eraser takes it back.")
        self.mask_hint.setWordWrap(True)
        form.addRow(self.mask_hint)
        self.keep_unmasked_check = QCheckBox(KEEP_UNMASKED.label)
        self.keep_unmasked_check.setToolTip("Lay the photo back over the result outside the mask, with a soft edge")
        form.addRow(self.keep_unmasked_check)
        layout.addWidget(self.properties)

        self._param_bindings: list[Binding] = []
        self._params_for: str | None = None  # the preprocessor whose form is shown
        self._bind_properties()
        editor = document.editor
        document.layers_inserted.connect(self._on_inserted)
        document.layers_removed.connect(self._on_removed)
        document.layers_moved.connect(self._on_moved)
        document.layers_reset.connect(self._rebuild_rows)
        document.layer_changed.connect(self._update_row)
        document.settings_changed.connect(self._on_settings_changed)
        document.selected_layer_events.preprocessor.connect(self._show_layer)
        editor.selection_changed.connect(self._on_selection_changed)
        editor.tool_changed.connect(self._on_tool_changed)
        self.refresh()

    def _scribble_tools(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.tool_buttons = {}
        for tool, label in (("brush", "Brush"), ("eraser", "Eraser"), ("fill", "Fill")):
            button = QToolButton(text=label, checkable=True, autoExclusive=True)
            button.clicked.connect(lambda _=False, t=tool: self._choose_tool(t))
            self.tool_buttons[tool] = button
            row.addWidget(button)
        self.tool_buttons[self.document.editor.tool].setChecked(True)
        clear = QToolButton(text="Clear")
        clear.clicked.connect(self.clear_requested)
        row.addWidget(clear)
        return box

    def _pose_tools(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        for action, label in (("add", "Add person"), ("mirror", "Mirror"), ("import", "Import JSON"), ("export", "Export JSON")):
            button = QToolButton(text=label)
            button.clicked.connect(lambda _=False, a=action: self.pose_action.emit(a))
            row.addWidget(button)
        return box

    def _bind_properties(self) -> None:
        """Each property widget bound once to one field of the selected layer."""
        events = self.document.selected_layer_events
        end_gesture = self.document.end_gesture
        self._bindings = [
            bind_show(self.properties, lambda: _field(self._current(), "name", "Layer: {}"), events.name,
                      self.properties.title, self.properties.setTitle),
            bind_slider(self.weight_slider, lambda: _field(self._current(), "weight", scale=SLIDER_SCALE),
                        lambda v: self._update("weight", weight=v / SLIDER_SCALE), events.weight, end_gesture),
            bind_show(self.weight_label, lambda: _field(self._current(), "weight", "{:.2f}"), events.weight,
                      self.weight_label.text, self.weight_label.setText),
            bind_spin(self.start_spin, lambda: _field(self._current(), "start"),
                      lambda v: self._set_range(start=v), events.start),
            bind_spin(self.end_spin, lambda: _field(self._current(), "end"), lambda v: self._set_range(end=v), events.end),
            bind_combo(self.mode_combo, lambda: _field(self._current(), "mode"),
                       lambda v: self._update(None, mode=v), events.mode),
            bind_combo(self.kind_combo, lambda: _field(self._image(), "condition_kind"),
                       lambda v: self._update(None, condition_kind=v) if self._image() else None,
                       events.condition_kind),
            bind_combo(self.preprocessor_combo, lambda: _field(self._image(), "preprocessor"),
                       self._set_preprocessor, events.preprocessor),
            bind_combo(self.resize_combo, lambda: _field(self._image(), "resize_mode"),
                       lambda v: self._update(None, resize_mode=v) if self._image() else None, events.resize_mode),
            Binding(self.controlnet_combo, self._controlnet_text, self._set_controlnet, events.controlnet,
                    lambda: self.controlnet_combo.currentText().strip(), self.controlnet_combo.setEditText,
                    (self.controlnet_combo.lineEdit().editingFinished, self.controlnet_combo.activated)),
            bind_slider(self.opacity_slider, lambda: _field(self._current(), "opacity", scale=SLIDER_SCALE),
                        lambda v: self._update("opacity", opacity=v / SLIDER_SCALE), events.opacity, end_gesture),
            bind_check(self.keep_unmasked_check, lambda: _field(self._image(), "keep_unmasked"),
                       lambda on: self._update(None, keep_unmasked=on) if self._image() else None,
                       events.keep_unmasked),
        ]

    # -- model -> widgets ---------------------------------------------------------------------
    def current_layer_id(self) -> str | None:
        return self.document.editor.selected_layer_id

    def select_layer(self, layer_id: str | None) -> None:
        if layer_id is not None and any(layer.id == layer_id for layer in self.document.layers):
            self.document.editor.select(layer_id)

    def refresh(self, select: str | None = None) -> None:
        """Show the whole document again (rows, selection, every field): for a document whose
        content was swapped without events. Edits never need it: each field has its event."""
        self._rebuild_rows()
        if select is not None:
            self.select_layer(select)
        self._sync_row()
        self._params_for = None
        self._show_layer()
        for binding in self._bindings + self._param_bindings:
            binding.refresh()

    def invalidate(self, layer_id: str) -> None:
        """A layer's control image changed outside the document (a preprocessor finished)."""
        self._thumbs.pop(layer_id, None)
        self._update_row(layer_id, ("png",))

    # -- rows --------------------------------------------------------------------------------------
    def _make_item(self, layer: Layer) -> QListWidgetItem:
        item = QListWidgetItem(self._thumbnail(layer), layer.name)
        item.setData(Qt.ItemDataRole.UserRole, layer.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if layer.enabled else Qt.CheckState.Unchecked)
        item.setToolTip(_row_tooltip(layer))
        return item

    def _row_of(self, layer_id: str) -> int:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == layer_id:
                return row
        return -1

    def _rebuild_rows(self) -> None:
        self._updating = True
        try:
            self.list.clear()
            for layer in reversed(self.document.layers):  # the top layer first
                self.list.addItem(self._make_item(layer))
        finally:
            self._updating = False
        self._sync_row()
        self._update_buttons()

    def _on_inserted(self, index: int, layer_id: str) -> None:
        self._updating = True
        try:
            self.list.insertItem(self.list.count() - index, self._make_item(self.document.layer(layer_id)))
        finally:
            self._updating = False
        self._sync_row()
        self._update_buttons()

    def _on_removed(self, index: int, layer_id: str) -> None:
        self._thumbs.pop(layer_id, None)
        self._updating = True
        try:
            self.list.takeItem(self.list.count() - 1 - index)
        finally:
            self._updating = False
        self._sync_row()
        self._update_buttons()

    def _on_moved(self, old: int, new: int, layer_id: str) -> None:
        last = self.list.count() - 1
        self._updating = True
        try:
            self.list.insertItem(last - new, self.list.takeItem(last - old))
        finally:
            self._updating = False
        self._sync_row()

    def _update_row(self, layer_id: str, names: tuple[str, ...]) -> None:
        """Only what a row shows of the fields that changed: name, eye, tooltip, thumbnail."""
        row = self._row_of(layer_id)
        if row < 0:
            return
        item, layer = self.list.item(row), self.document.layer(layer_id)
        self._updating = True
        try:
            if "name" in names and item.text() != layer.name:
                item.setText(layer.name)
            if "enabled" in names:
                item.setCheckState(Qt.CheckState.Checked if layer.enabled else Qt.CheckState.Unchecked)
            if "condition_kind" in names:
                item.setToolTip(_row_tooltip(layer))
            if PIXEL_FIELDS.intersection(names):
                item.setIcon(self._thumbnail(layer))
        finally:
            self._updating = False

    def _on_settings_changed(self, names: tuple[str, ...]) -> None:
        if "width" in names or "height" in names:  # every thumbnail has the canvas's shape
            self._thumbs.clear()
            for layer in self.document.layers:
                self._update_row(layer.id, ("png",))

    def _sync_row(self) -> None:
        """The list's current row follows the model's selection."""
        row = self._row_of(self.current_layer_id()) if self.current_layer_id() else -1
        if row != self.list.currentRow():
            self._updating = True
            try:
                self.list.setCurrentRow(row)
            finally:
                self._updating = False

    def _update_buttons(self) -> None:
        full = self.document.is_full
        for button in (self.add_button, self.duplicate_button):
            button.setEnabled(not full)
            button.setToolTip(f"A project holds at most {MAX_LAYERS} layers: remove one first" if full else "")

    def _on_selection_changed(self, layer_id: str | None) -> None:
        self._sync_row()
        self._show_layer()
        self.current_layer_changed.emit(layer_id)

    def _on_tool_changed(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)

    def _thumbnail(self, layer: Layer) -> QIcon:
        cached = self._thumbs.get(layer.id)
        if cached and _same_thumbnail(cached[0], layer):
            return cached[1]
        width, height = self.document.settings.width, self.document.settings.height
        scale = THUMB / max(width, height)
        small_w, small_h = max(8, int(width * scale)), max(8, int(height * scale))
        if is_layer_empty(layer):
            pixmap = QPixmap(small_w, small_h)
            pixmap.fill(Qt.GlobalColor.black)
        else:
            image = to_qimage(displayable(control_image(layer, width, height, cached_only=True)))
            pixmap = QPixmap.fromImage(image.scaled(small_w, small_h, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))
        icon = QIcon(pixmap)
        self._thumbs[layer.id] = (layer, icon)
        return icon

    # -- the selected layer's properties --------------------------------------------------------------
    def _show_layer(self, *_args) -> None:
        """Which properties the selected layer has: per kind, and per preprocessor (its form and,
        for inpaint, the mask tools). The values themselves come through the bindings."""
        layer = self._current()
        self.properties.setEnabled(layer is not None)
        if layer is None:
            self.properties.setTitle("Layer")
            self.tools.setCurrentIndex(0)
            self.mask_hint.setVisible(False)
            self.keep_unmasked_check.setVisible(False)
            return
        is_image = isinstance(layer, ImageLayer)
        for widget in (self.kind_combo, self.kind_label, self.preprocessor_combo, self.preprocessor_label,
                       self.resize_combo, self.resize_label, self.params_box, self.detect_pose_button):
            widget.setVisible(is_image)
        self._build_params(layer.preprocessor if is_image else None)
        self.tools.setCurrentIndex(1 if painted_operations(layer) else 2 if isinstance(layer, PoseLayer) else 0)
        paints_mask = painted_operations(layer) == "mask_operations"
        self.mask_hint.setVisible(paints_mask)
        self.keep_unmasked_check.setVisible(paints_mask)

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
            get = (lambda p=param: _param(self._image(), p))
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

    # -- widgets -> model -----------------------------------------------------------------------
    def _current(self) -> Layer | None:
        return self.document.selected_layer()

    def _image(self) -> ImageLayer | None:
        layer = self._current()
        return layer if isinstance(layer, ImageLayer) else None

    def _with_current(self, action) -> None:
        layer_id = self.current_layer_id()
        if layer_id is not None:
            action(layer_id)

    def _choose_tool(self, tool: str) -> None:
        self.document.editor.set_tool(tool)

    def _update(self, merge: str | None, **changes) -> None:
        """An edit of the selected layer; `merge` names a gesture whose steps are one undo step."""
        layer = self._current()
        if layer is None:
            return
        key = f"{layer.id}:{merge}" if merge else None
        self.document.update_layer(layer.id, merge_key=key, **changes)

    def _on_row_changed(self, row: int) -> None:
        if self._updating:
            return
        item = self.list.item(row) if row >= 0 else None
        self.document.editor.select(item.data(Qt.ItemDataRole.UserRole) if item else None)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        layer_id = item.data(Qt.ItemDataRole.UserRole)
        layer = self.document.layer(layer_id)
        enabled = item.checkState() == Qt.CheckState.Checked
        name = item.text().strip() or layer.name
        if enabled != layer.enabled:
            self.document.update_layer(layer_id, "Show layer" if enabled else "Hide layer", enabled=enabled)
        elif name != layer.name:
            self.document.update_layer(layer_id, "Rename layer", name=name)
        elif item.text() != layer.name:  # an empty name: the old one stays
            self._update_row(layer_id, ("name",))

    def _set_range(self, start: float | None = None, end: float | None = None) -> None:
        """Start stays below end: an edit that would cross them is refused (the box shows the model again)."""
        layer = self._current()
        if layer is None:
            return
        start = layer.start if start is None else start
        end = layer.end if end is None else end
        if start < end:
            self._update("range", start=start, end=end)

    def _set_preprocessor(self, name: str) -> None:
        layer = self._image()
        spec = PREPROCESSORS.get(name)
        if layer is None or spec is None or name == layer.preprocessor:
            return
        kind = spec.feeds if spec.feeds in CONDITION_KINDS and name != "none" else layer.condition_kind
        self.document.update_layer(layer.id, f"Preprocessor: {spec.label}", preprocessor=name, params={},
                                   condition_kind=kind)

    def _set_param(self, name: str, value) -> None:
        layer = self._image()
        if layer is None or layer.params.get(name) == value:
            return
        self.document.update_layer(layer.id, f"Change {name}", merge_key=f"{layer.id}:param:{name}",
                                   params={**layer.params, name: value})

    def _controlnet_text(self) -> str | None:
        layer = self._current()
        return None if layer is None else layer.controlnet or DEFAULT_CONTROLNET

    def _set_controlnet(self, text: str) -> None:
        self._update(None, controlnet=None if text in ("", DEFAULT_CONTROLNET) else text)


def _slider_range(setting: Setting) -> tuple[int, int]:
    """A slider's ends for a number setting: the schema's bounds in slider ticks."""
    return round(setting.minimum * SLIDER_SCALE), round(setting.maximum * SLIDER_SCALE)


def _field(layer: Layer | None, name: str, text: str | None = None, scale: int | None = None):
    """A field of `layer` as a widget shows it (None when there is no such layer)."""
    if layer is None:
        return None
    value = getattr(layer, name)
    if scale is not None:
        return round(value * scale)
    return text.format(value) if text else value


def _param(layer: ImageLayer | None, param):
    if layer is None:
        return None
    value = layer.params.get(param.name, param.default)
    if isinstance(param.default, str):
        return str(value)
    return int(value) if isinstance(param.default, int) else float(value)


def _row_tooltip(layer: Layer) -> str:
    return f"{condition_kind(layer)} layer — tick to use it, double-click to rename"


def _same_thumbnail(cached: Layer, layer: Layer) -> bool:
    """Whether a cached thumbnail still shows `layer`: the same object, or for an image layer the
    same photo, preprocessing and mask (its other edits, like weight, change no pixel)."""
    if cached is layer:
        return True
    if not (isinstance(cached, ImageLayer) and isinstance(layer, ImageLayer)):
        return False
    return (cached.png is layer.png and cached.preprocessor == layer.preprocessor and cached.params == layer.params
            and cached.resize_mode == layer.resize_mode and cached.condition_kind == layer.condition_kind
            and cached.mask_operations == layer.mask_operations)
