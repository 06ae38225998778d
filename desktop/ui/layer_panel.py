"""The layer panel: the stack (eye, thumbnail, name), layer actions, and the current layer's
controls (weight, start/end, control mode, ControlNet, opacity, and per-kind tools)."""

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
from desktop.workers.images import to_qimage

MODE_LABELS = (
    ("balanced", "Balanced"),
    ("prompt", "Prompt is more important"),
    ("control", "ControlNet is more important"),
    ("cfg-rw", "CFG resolution weighting (paper)"),
)
DEFAULT_CONTROLNET = "(default for this kind)"
THUMB = 40


class LayerPanel(QWidget):
    current_layer_changed = Signal(object)  # layer id or None
    add_requested = Signal(str)  # "scribble", "pose", "image"
    tool_changed = Signal(str)
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
        self.weight_slider.setRange(0, 200)
        self.weight_label = QLabel("1.00")
        weight_row = QHBoxLayout()
        weight_row.addWidget(self.weight_slider, 1)
        weight_row.addWidget(self.weight_label)
        form.addRow("Weight", weight_row)
        self.start_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.99, singleStep=0.05)
        self.end_spin = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=1.0, singleStep=0.05)
        range_row = QHBoxLayout()
        range_row.addWidget(self.start_spin)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.end_spin)
        form.addRow("Active steps", range_row)
        self.mode_combo = QComboBox()
        for key, label in MODE_LABELS:
            self.mode_combo.addItem(label, key)
        form.addRow("Control mode", self.mode_combo)
        self.kind_combo = QComboBox()
        for kind in CONDITION_KINDS:
            self.kind_combo.addItem(kind, kind)
        self.kind_label = QLabel("Use as")
        form.addRow(self.kind_label, self.kind_combo)
        self.preprocessor_combo = QComboBox()
        for spec in PREPROCESSORS.values():
            self.preprocessor_combo.addItem(spec.label, spec.name)
        self.preprocessor_combo.setToolTip("Turns the photo into the control image its ControlNet was trained on")
        self.preprocessor_label = QLabel("Preprocessor")
        form.addRow(self.preprocessor_label, self.preprocessor_combo)
        self.resize_combo = QComboBox()
        for mode, label in (("crop_and_resize", "Crop and resize"), ("just_resize", "Just resize"),
                            ("resize_and_fill", "Resize and fill")):
            self.resize_combo.addItem(label, mode)
        self.resize_label = QLabel("Resize")
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
        self.opacity_slider.setRange(0, 100)
        form.addRow("Display opacity", self.opacity_slider)
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
        self.keep_unmasked_check = QCheckBox("Keep the rest of the photo exactly")
        self.keep_unmasked_check.setToolTip("Lay the photo back over the result outside the mask, with a soft edge")
        self.keep_unmasked_check.toggled.connect(
            lambda on: self._update(keep_unmasked=on) if isinstance(self._current(), ImageLayer) else None)
        form.addRow(self.keep_unmasked_check)
        layout.addWidget(self.properties)

        self.weight_slider.valueChanged.connect(self._on_weight)
        self.weight_slider.sliderReleased.connect(self.document.end_gesture)
        self.start_spin.valueChanged.connect(lambda v: self._set_range(start=v))
        self.end_spin.valueChanged.connect(lambda v: self._set_range(end=v))
        self.mode_combo.currentIndexChanged.connect(lambda _: self._update(mode=self.mode_combo.currentData()))
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.preprocessor_combo.currentIndexChanged.connect(self._on_preprocessor)
        self.resize_combo.currentIndexChanged.connect(lambda _: self._update(resize_mode=self.resize_combo.currentData()))
        self.controlnet_combo.lineEdit().editingFinished.connect(self._on_controlnet)
        self.controlnet_combo.activated.connect(lambda _: self._on_controlnet())
        self.opacity_slider.valueChanged.connect(lambda v: self._update(merge="opacity", opacity=v / 100))
        self.opacity_slider.sliderReleased.connect(self.document.end_gesture)
        document.changed.connect(self._on_document_changed)
        self.refresh()

    def _scribble_tools(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.tool_buttons = {}
        for tool, label in (("brush", "Brush"), ("eraser", "Eraser"), ("fill", "Fill")):
            button = QToolButton(text=label, checkable=True, autoExclusive=True)
            button.clicked.connect(lambda _=False, t=tool: self.tool_changed.emit(t))
            self.tool_buttons[tool] = button
            row.addWidget(button)
        self.tool_buttons["brush"].setChecked(True)
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

    # -- model -> widgets ---------------------------------------------------------------------
    def current_layer_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select_layer(self, layer_id: str | None) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == layer_id:
                self.list.setCurrentRow(row)
                return

    def _on_document_changed(self, reason: str, layer_id: str | None) -> None:
        if reason in ("layers", "restore", "layer", "settings"):
            self.refresh(select=layer_id if reason == "layers" else None)

    def refresh(self, select: str | None = None) -> None:
        self._updating = True
        keep = select or self.current_layer_id()
        ids = {layer.id for layer in self.document.layers}
        if select is not None and select not in ids:
            keep = None
        self.list.clear()
        for layer in reversed(self.document.layers):
            item = QListWidgetItem(self._thumbnail(layer), layer.name)
            item.setData(Qt.ItemDataRole.UserRole, layer.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(f"{condition_kind(layer)} layer — tick to use it, double-click to rename")
            self.list.addItem(item)
        self._updating = False
        if keep in ids:
            self.select_layer(keep)
        elif self.list.count():
            self.list.setCurrentRow(0)
        else:
            self._on_row_changed(-1)
        self._load_properties()

    def invalidate(self, layer_id: str) -> None:
        self._thumbs.pop(layer_id, None)
        self.refresh()

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

    def _load_properties(self) -> None:
        layer = self._current()
        self.properties.setEnabled(layer is not None)
        full = self.document.is_full
        for button in (self.add_button, self.duplicate_button):
            button.setEnabled(not full)
            button.setToolTip(f"A project holds at most {MAX_LAYERS} layers: remove one first" if full else "")
        if layer is None:
            self.tools.setCurrentIndex(0)
            self.mask_hint.setVisible(False)
            self.keep_unmasked_check.setVisible(False)
            return
        self._updating = True
        self.properties.setTitle(f"Layer: {layer.name}")
        self.weight_slider.setValue(round(layer.weight * 100))
        self.weight_label.setText(f"{layer.weight:.2f}")
        self.start_spin.setValue(layer.start)
        self.end_spin.setValue(layer.end)
        self.mode_combo.setCurrentIndex([k for k, _ in MODE_LABELS].index(layer.mode))
        is_image = isinstance(layer, ImageLayer)
        for widget in (self.kind_combo, self.kind_label, self.preprocessor_combo, self.preprocessor_label,
                       self.resize_combo, self.resize_label, self.params_box, self.detect_pose_button):
            widget.setVisible(is_image)
        if is_image:
            self.kind_combo.setCurrentIndex(CONDITION_KINDS.index(layer.condition_kind))
            self.preprocessor_combo.setCurrentIndex(max(0, self.preprocessor_combo.findData(layer.preprocessor)))
            self.resize_combo.setCurrentIndex(max(0, self.resize_combo.findData(layer.resize_mode)))
            self._build_params(layer)
        self.controlnet_combo.setEditText(layer.controlnet or DEFAULT_CONTROLNET)
        self.opacity_slider.setValue(round(layer.opacity * 100))
        self.tools.setCurrentIndex(1 if painted_operations(layer) else 2 if isinstance(layer, PoseLayer) else 0)
        paints_mask = painted_operations(layer) == "mask_operations"
        self.mask_hint.setVisible(paints_mask)
        self.keep_unmasked_check.setVisible(paints_mask)
        if paints_mask:
            self.keep_unmasked_check.setChecked(layer.keep_unmasked)
        self._updating = False

    # -- widgets -> model -----------------------------------------------------------------------
    def _current(self) -> Layer | None:
        layer_id = self.current_layer_id()
        if layer_id is None:
            return None
        try:
            return self.document.layer(layer_id)
        except KeyError:
            return None

    def _with_current(self, action) -> None:
        layer_id = self.current_layer_id()
        if layer_id is not None:
            action(layer_id)

    def _update(self, merge: str | None = None, **changes) -> None:
        layer = self._current()
        if self._updating or layer is None:
            return
        key = f"{layer.id}:{merge}" if merge else None
        self.document.update_layer(layer.id, merge_key=key, **changes)

    def _on_row_changed(self, row: int) -> None:
        if self._updating:
            return
        self._load_properties()
        self.current_layer_changed.emit(self.current_layer_id())

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

    def _on_weight(self, value: int) -> None:
        self.weight_label.setText(f"{value / 100:.2f}")
        self._update(merge="weight", weight=value / 100)

    def _set_range(self, start: float | None = None, end: float | None = None) -> None:
        layer = self._current()
        if self._updating or layer is None:
            return
        start = layer.start if start is None else start
        end = layer.end if end is None else end
        if start >= end:
            self._load_properties()
            return
        self._update(merge="range", start=start, end=end)

    def _on_kind(self, _index: int) -> None:
        layer = self._current()
        if isinstance(layer, ImageLayer):
            self._update(condition_kind=self.kind_combo.currentData())

    def _on_preprocessor(self, _index: int) -> None:
        layer = self._current()
        name = self.preprocessor_combo.currentData()
        if self._updating or not isinstance(layer, ImageLayer) or name == layer.preprocessor:
            return
        spec = PREPROCESSORS[name]
        kind = spec.feeds if spec.feeds in CONDITION_KINDS and name != "none" else layer.condition_kind
        self.document.update_layer(layer.id, f"Preprocessor: {spec.label}", preprocessor=name, params={},
                                   condition_kind=kind)

    def _build_params(self, layer: ImageLayer) -> None:
        """One field per parameter of the layer's preprocessor, bound to layer.params."""
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        spec = PREPROCESSORS.get(layer.preprocessor)
        if spec is None:
            return
        for param in spec.params:
            value = layer.params.get(param.name, param.default)
            if isinstance(param.default, str):
                field = QLineEdit(str(value))
                field.editingFinished.connect(lambda p=param.name, f=field: self._set_param(p, f.text()))
            elif isinstance(param.default, int):
                field = QSpinBox(minimum=int(param.minimum), maximum=int(min(param.maximum, 2**31 - 1)))
                field.setValue(int(value))
                field.valueChanged.connect(lambda v, p=param.name: self._set_param(p, int(v)))
            else:
                field = QDoubleSpinBox(decimals=2, minimum=param.minimum, maximum=param.maximum, singleStep=0.1)
                field.setValue(float(value))
                field.valueChanged.connect(lambda v, p=param.name: self._set_param(p, float(v)))
            field.setObjectName(f"param_{param.name}")
            self.params_form.addRow(param.name.replace("_", " "), field)

    def _set_param(self, name: str, value) -> None:
        layer = self._current()
        if self._updating or not isinstance(layer, ImageLayer) or layer.params.get(name) == value:
            return
        self.document.update_layer(layer.id, f"Change {name}", merge_key=f"{layer.id}:param:{name}",
                                   params={**layer.params, name: value})

    def _on_controlnet(self) -> None:
        text = self.controlnet_combo.currentText().strip()
        self._update(controlnet=None if text in ("", DEFAULT_CONTROLNET) else text)


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
