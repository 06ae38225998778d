"""The tools for the selected layer: brush, eraser and fill (and Clear) for a layer the brush paints
(a scribble's ink, an inpaint photo's mask, any layer's region while the user paints regions), the
pose actions for a pose layer, nothing otherwise.

The current tool lives in the model (`document.editor.tool`): a button sets it, and the buttons
follow it when the canvas or a shortcut changes it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from desktop.domain.document import Document
from desktop.domain.layers import PoseLayer, painted_operations

NO_TOOLS, PAINT_TOOLS, POSE_TOOLS = range(3)  # the pages, in the order they are added


class ToolPalette(QStackedWidget):
    clear_requested = Signal()
    pose_action = Signal(str)  # "add", "mirror", "import", "export"

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.tool_buttons: dict[str, QToolButton] = {}
        self.addWidget(QWidget())
        self.addWidget(self._paint_tools())
        self.addWidget(self._pose_tools())
        document.editor.tool_changed.connect(self._on_tool_changed)
        document.editor.painting_region_changed.connect(self._show_layer)
        document.selected_layer_events.preprocessor.connect(self._show_layer)  # fires too when another is selected
        self.refresh()

    def refresh(self) -> None:
        """Show the tools for the selected layer and the current tool again."""
        self._on_tool_changed(self.document.editor.tool)
        self._show_layer()

    def _paint_tools(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        for tool, label in (("brush", "Brush"), ("eraser", "Eraser"), ("fill", "Fill")):
            button = QToolButton(text=label, checkable=True, autoExclusive=True)
            button.clicked.connect(lambda _=False, t=tool: self.document.editor.set_tool(t))
            self.tool_buttons[tool] = button
            row.addWidget(button)
        clear = QToolButton(text="Clear")
        clear.clicked.connect(self.clear_requested)
        row.addWidget(clear)
        column.addLayout(row)
        self.mask_hint = QLabel("Paint the area to repaint on the canvas; Eraser takes it back.")
        self.mask_hint.setWordWrap(True)
        column.addWidget(self.mask_hint)
        return page

    def _pose_tools(self) -> QWidget:
        page = QWidget()
        grid = QGridLayout(page)  # two by two: one row of four set the panel's width, and so the canvas's
        grid.setContentsMargins(0, 0, 0, 0)
        for index, (action, label) in enumerate((("add", "Add person"), ("mirror", "Mirror"),
                                                 ("import", "Import JSON"), ("export", "Export JSON"))):
            button = QToolButton(text=label)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, a=action: self.pose_action.emit(a))
            grid.addWidget(button, index // 2, index % 2)
        return page

    def _on_tool_changed(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)

    def _show_layer(self, *_args: Any) -> None:
        """The page for the selected layer; the mask hint when the brush paints an inpaint mask."""
        layer = self.document.selected_layer()
        painted = painted_operations(layer, self.document.editor.painting_region)
        self.setCurrentIndex(PAINT_TOOLS if painted else POSE_TOOLS if isinstance(layer, PoseLayer) else NO_TOOLS)
        self.mask_hint.setVisible(painted == "mask_operations")
