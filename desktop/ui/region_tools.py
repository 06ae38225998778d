"""Where the selected layer steers: "Paint region" turns the canvas's brush, eraser and fill onto the
layer's region (any kind of layer), "Clear region" lets the layer steer the whole image again.

The mode lives in the model (`document.editor.painting_region`): the button sets it and follows it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from desktop.domain.document import Document


class RegionTools(QWidget):
    clear_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.paint_button = QToolButton(text="Paint region", checkable=True)
        self.paint_button.setToolTip("Paint where this layer steers with the brush, eraser and fill")
        self.paint_button.toggled.connect(document.editor.set_painting_region)
        self.clear_button = QToolButton(text="Clear region")
        self.clear_button.setToolTip("Let this layer steer the whole image again")
        self.clear_button.clicked.connect(self.clear_requested)
        row.addWidget(self.paint_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        column.addLayout(row)
        self.hint = QLabel("Paint where this layer steers; it leaves the shaded part to the others. "
                           "No region: it steers everywhere.")
        self.hint.setWordWrap(True)
        column.addWidget(self.hint)
        document.editor.painting_region_changed.connect(self.refresh)
        document.selected_layer_events.region_operations.connect(self.refresh)  # fires too when another is selected
        self.refresh()

    def refresh(self, *_args: Any) -> None:
        """The mode and whether the selected layer has a region to clear, as the model holds them."""
        painting = self.document.editor.painting_region
        layer = self.document.selected_layer()
        self.paint_button.setChecked(painting)
        self.clear_button.setEnabled(layer is not None and bool(layer.region_operations))
        self.hint.setVisible(painting)
