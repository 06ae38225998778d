"""The LoRAs applied over the base model: one row each with its name, a weight slider and remove,
and an Add button. Every change is a document edit (undoable, saved in the project, passed into
the recipe), so the list only shows `document.settings.loras`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

from desktop.domain.document import Document, LoraPick
from desktop.domain.recipe import MAX_LORAS, WEIGHTS_SUFFIX

from .dialogs import Dialogs

SLIDER_STEP = 0.05
SLIDER_LIMIT = 2.0  # A1111's range; a project may hold up to the recipe's limit, which the value label shows


class ElidedLabel(QLabel):
    """A name that shortens with '…' in a narrow row instead of being cut off (the tooltip has it whole),
    and never widens the panel."""

    def __init__(self, text: str, tooltip: str) -> None:
        super().__init__(text)
        self.full_text = text
        self.setToolTip(tooltip)
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, self.width()))
        super().resizeEvent(event)


class LoraRow(QWidget):
    """One LoRA: its file name (the full path in the tooltip), its weight, and a remove button."""

    weight_changed = Signal(float)
    released = Signal()
    remove_requested = Signal()

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = ElidedLabel(Path(path).stem, path)
        steps = round(SLIDER_LIMIT / SLIDER_STEP)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-steps, steps)
        self.slider.setPageStep(4)
        self.slider.setMinimumWidth(80)
        self.slider.setToolTip(f"Weight, {-SLIDER_LIMIT:g} to {SLIDER_LIMIT:g}")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(self.value_label.fontMetrics().horizontalAdvance("-0.00") + 4)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.remove_button = QToolButton(text="✕")
        self.remove_button.setToolTip(f"Remove {Path(path).name}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name_label, 3)
        layout.addWidget(self.slider, 2)
        layout.addWidget(self.value_label)
        layout.addWidget(self.remove_button)
        self.slider.valueChanged.connect(lambda value: self.weight_changed.emit(round(value * SLIDER_STEP, 2)))
        self.slider.sliderReleased.connect(self.released)
        self.remove_button.clicked.connect(self.remove_requested)

    def show_weight(self, weight: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(weight / SLIDER_STEP))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{weight:.2f}")


class LoraList(QWidget):
    notice = Signal(str)

    def __init__(self, document: Document, dialogs: Callable[[], Dialogs], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._dialogs = dialogs
        self.rows: list[LoraRow] = []
        self._paths: tuple[str, ...] | None = None  # the files the rows show
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.add_button = QPushButton("Add LoRA…")
        self.add_button.setToolTip("Apply a LoRA (.safetensors) over the base model")
        self.add_button.clicked.connect(self.browse)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_button)
        add_row.addStretch(1)
        self._layout.addLayout(add_row)
        document.settings_events.loras.connect(self.refresh)  # only its own field: a prompt keystroke is no concern
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Rows are rebuilt only when the files change: a slider being dragged is kept."""
        loras = self.document.settings.loras
        paths = tuple(path for path, _ in loras)
        if paths != self._paths:
            self._paths = paths
            self._rebuild(paths)
        for row, (_, weight) in zip(self.rows, loras):
            row.show_weight(weight)

    def _rebuild(self, paths: tuple[str, ...]) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        for index, path in enumerate(paths):
            row = LoraRow(path)
            row.weight_changed.connect(lambda weight, i=index: self.set_weight(i, weight))
            row.released.connect(self.document.end_gesture)
            row.remove_requested.connect(lambda i=index: self.remove(i))
            self._layout.insertWidget(index, row)
            self.rows.append(row)

    def browse(self) -> None:
        path = self._dialogs().open_file("Add a LoRA", f"LoRA (*{WEIGHTS_SUFFIX})")
        if path:
            self.add(path)

    def add(self, path: str) -> None:
        """Add `path` at weight 1; a second copy of a file, or a file past the limit, is told instead."""
        loras = self.document.settings.loras
        if not path.lower().endswith(WEIGHTS_SUFFIX):
            self.notice.emit(f"{Path(path).name} is not a .safetensors file; only safetensors LoRAs are loaded")
        elif any(existing == path for existing, _ in loras):
            self.notice.emit(f"{Path(path).name} is already in the LoRA list")
        elif len(loras) >= MAX_LORAS:
            self.notice.emit(f"At most {MAX_LORAS} LoRAs apply at once: remove one first")
        else:
            self._edit(loras + ((path, 1.0),))

    def remove(self, index: int) -> None:
        loras = self.document.settings.loras
        self._edit(loras[:index] + loras[index + 1:])

    def set_weight(self, index: int, weight: float) -> None:
        """A drag is one undo step: its moves merge until the slider is released."""
        loras = list(self.document.settings.loras)
        loras[index] = (loras[index][0], weight)
        self.document.set_settings(merge_key=f"lora-weight:{loras[index][0]}", loras=tuple(loras))

    def _edit(self, loras: tuple[LoraPick, ...]) -> None:
        """Adding or removing is its own undo step, never merged with the edit before."""
        self.document.end_gesture()
        self.document.set_settings(loras=loras)
