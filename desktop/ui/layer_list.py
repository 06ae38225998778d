"""The layer stack as rows (eye, thumbnail, name; the top layer first) and the actions on it.

Rows follow the document's insert/remove/move/field events one row at a time, so an edit never
rebuilds the list (renaming in place keeps its row and the selection). The current row follows
the model's selection (`document.editor`), and picking a row selects in the model."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QToolButton, QVBoxLayout, QWidget,
)

from desktop.conditions.layer_images import control_image, displayable
from desktop.domain.document import Document, condition_kind, is_layer_empty
from desktop.domain.layers import MAX_LAYERS, ImageLayer, Layer
from desktop.workers.qimage_arrays import to_qimage

THUMB = 40
PIXEL_FIELDS = frozenset({"operations", "people", "png", "preprocessor", "params", "resize_mode", "condition_kind",
                          "mask_operations"})  # what a thumbnail shows; a weight or a name changes no pixel


class LayerList(QWidget):
    add_requested = Signal(str)  # "scribble", "pose", "image": the window asks for a photo first
    current_layer_changed = Signal(object)  # layer id or None, once the rows show the new selection

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._updating = False  # rows being written from the model: their signals are no edits
        self._thumbs: dict[str, tuple[Layer, QIcon]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

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
        self.duplicate_button.clicked.connect(lambda: self._with_selected(self.document.duplicate_layer))
        self.remove_button.clicked.connect(lambda: self._with_selected(self.document.remove_layer))
        self.up_button.clicked.connect(lambda: self._with_selected(lambda i: self.document.move_layer(i, +1)))
        self.down_button.clicked.connect(lambda: self._with_selected(lambda i: self.document.move_layer(i, -1)))

        document.layers_inserted.connect(self._on_inserted)
        document.layers_removed.connect(self._on_removed)
        document.layers_moved.connect(self._on_moved)
        document.layers_reset.connect(self.refresh)
        document.layer_changed.connect(self._update_row)
        document.settings_changed.connect(self._on_settings_changed)
        document.editor.selection_changed.connect(self._on_selection_changed)
        self.refresh()

    def refresh(self) -> None:
        """Every row made again from the document: for a document replaced as a whole."""
        self._updating = True
        try:
            self.list.clear()
            for layer in reversed(self.document.layers):  # the top layer first
                self.list.addItem(self._make_item(layer))
        finally:
            self._updating = False
        self._sync_row()
        self._update_buttons()

    def invalidate(self, layer_id: str) -> None:
        """A layer's control image changed outside the document (a preprocessor finished)."""
        self._thumbs.pop(layer_id, None)
        self._update_row(layer_id, ("png",))

    def row_of(self, layer_id: str) -> int:
        """The row showing `layer_id` (-1 when none does): rows run top layer first."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == layer_id:
                return row
        return -1

    # -- model -> rows ----------------------------------------------------------------------------
    def _make_item(self, layer: Layer) -> QListWidgetItem:
        item = QListWidgetItem(self._thumbnail(layer), layer.name)
        item.setData(Qt.ItemDataRole.UserRole, layer.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if layer.enabled else Qt.CheckState.Unchecked)
        item.setToolTip(_row_tooltip(layer))
        return item

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
        row = self.row_of(layer_id)
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

    def _on_selection_changed(self, layer_id: str | None) -> None:
        self._sync_row()
        self.current_layer_changed.emit(layer_id)

    def _sync_row(self) -> None:
        """The list's current row follows the model's selection."""
        selected = self.document.editor.selected_layer_id
        row = self.row_of(selected) if selected else -1
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

    # -- rows -> model ----------------------------------------------------------------------------
    def _with_selected(self, action: Callable[[str], object]) -> None:
        layer_id = self.document.editor.selected_layer_id
        if layer_id is not None:
            action(layer_id)

    def _on_row_changed(self, row: int) -> None:
        if self._updating:
            return
        item = self.list.item(row) if row >= 0 else None
        self.document.editor.select(item.data(Qt.ItemDataRole.UserRole) if item else None)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        """The eye ticked or the name edited in place: one undoable edit each."""
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
