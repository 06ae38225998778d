"""Prompt and generation settings: prompt, negative prompt, guidance, steps, seed, size,
scheduler, base model and LoRAs, each bound to one field of the document's settings.

The size presets are the base model's family's; picking a model of another family sets its
native size in the same undo step as the pick (A1111 and InvokeAI users expect this: SDXL at
512 px gives poor images).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QSlider,
    QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from desktop.domain.app_settings import AppSettings
from desktop.domain.document import Document
from desktop.domain.family import Family, ModelInfo
from desktop.domain.recipe import SCHEDULERS, SEED_MAX, SIZE_MAX, SIZE_MIN
from desktop.engine.schedulers import DISPLAY_NAMES

from .dialogs import Dialogs
from .lora_list import LoraList
from .model_picker import ModelPicker


class PromptPanel(QWidget):
    notice = Signal(str)

    def __init__(self, document: Document, settings: AppSettings, dialogs: Callable[[], Dialogs],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._updating = False
        self.last_seed: int | None = None
        self._info: ModelInfo | None = None  # the last model whose family is known; its presets fill the size list
        self._picks = 0
        self._pick_key = ""  # the undo merge key of the last pick: its size change joins that step
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText("Describe the image (may be empty: the conditions alone steer it)")
        self.prompt_edit.setMaximumHeight(70)
        self.negative_edit = QPlainTextEdit()
        self.negative_edit.setPlaceholderText("Negative prompt")
        self.negative_edit.setMaximumHeight(46)
        layout.addWidget(QLabel("<b>Prompt</b>"))
        layout.addWidget(self.prompt_edit)
        layout.addWidget(self.negative_edit)

        form = QFormLayout()
        self.guidance_slider = QSlider(Qt.Orientation.Horizontal)
        self.guidance_slider.setRange(0, 60)
        self.guidance_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.guidance_slider, 1)
        row.addWidget(self.guidance_label)
        form.addRow("Guidance", row)
        self.steps_spin = QSpinBox(minimum=1, maximum=150)
        form.addRow("Steps", self.steps_spin)
        self.seed_spin = QDoubleSpinBox(decimals=0, minimum=0, maximum=SEED_MAX, singleStep=1)
        self.random_check = QCheckBox("Random")
        self.reuse_button = QToolButton(text="Last")
        self.reuse_button.setToolTip("Reuse the seed of the last generation")
        row = QHBoxLayout()
        row.addWidget(self.seed_spin, 1)
        row.addWidget(self.random_check)
        row.addWidget(self.reuse_button)
        form.addRow("Seed", row)
        self.size_combo = QComboBox()
        self._fill_presets(Family.SD1)
        self.width_spin = QSpinBox(minimum=SIZE_MIN, maximum=SIZE_MAX, singleStep=8)
        self.height_spin = QSpinBox(minimum=SIZE_MIN, maximum=SIZE_MAX, singleStep=8)
        row = QHBoxLayout()
        row.addWidget(self.size_combo, 1)
        row.addWidget(self.width_spin)
        row.addWidget(QLabel("×"))
        row.addWidget(self.height_spin)
        form.addRow("Size", row)
        self.scheduler_combo = QComboBox()
        for name in SCHEDULERS:
            self.scheduler_combo.addItem(DISPLAY_NAMES[name], name)
        form.addRow("Sampler", self.scheduler_combo)
        self.model_picker = ModelPicker(settings, dialogs)
        form.addRow("Base model", self.model_picker)
        self.lora_list = LoraList(document, dialogs)
        form.addRow("LoRAs", self.lora_list)
        layout.addLayout(form)

        self.prompt_edit.textChanged.connect(lambda: self._set("prompt", self.prompt_edit.toPlainText()))
        self.negative_edit.textChanged.connect(lambda: self._set("negative_prompt", self.negative_edit.toPlainText()))
        self.guidance_slider.valueChanged.connect(self._on_guidance)
        self.guidance_slider.sliderReleased.connect(self.document.end_gesture)
        self.steps_spin.valueChanged.connect(lambda v: self._set("steps", v))
        self.seed_spin.valueChanged.connect(lambda v: self._set("seed", int(v)))
        self.random_check.toggled.connect(lambda v: self._set("random_seed", v))
        self.reuse_button.clicked.connect(self.reuse_last_seed)
        self.size_combo.activated.connect(self._on_preset)
        self.width_spin.editingFinished.connect(self._on_size)
        self.height_spin.editingFinished.connect(self._on_size)
        self.scheduler_combo.currentIndexChanged.connect(lambda _: self._set("scheduler", self.scheduler_combo.currentData()))
        self.model_picker.picked.connect(self._on_pick)
        self.model_picker.answered.connect(self._on_model_answer)
        self.lora_list.notice.connect(self.notice)
        document.changed.connect(self._on_document_changed)
        self.refresh()

    def _on_document_changed(self, reason: str, _layer_id) -> None:
        if reason in ("settings", "restore"):
            self.refresh()

    def refresh(self) -> None:
        s = self.document.settings
        self._updating = True
        if self.prompt_edit.toPlainText() != s.prompt:
            self.prompt_edit.setPlainText(s.prompt)
        if self.negative_edit.toPlainText() != s.negative_prompt:
            self.negative_edit.setPlainText(s.negative_prompt)
        self.guidance_slider.setValue(round(s.guidance_scale * 2))
        self.guidance_label.setText(f"{s.guidance_scale:.1f}")
        self.steps_spin.setValue(s.steps)
        self.seed_spin.setValue(s.seed)
        self.seed_spin.setEnabled(not s.random_seed)
        self.random_check.setChecked(s.random_seed)
        self.reuse_button.setEnabled(self.last_seed is not None)
        self.width_spin.setValue(s.width)
        self.height_spin.setValue(s.height)
        presets = [self.size_combo.itemData(i) for i in range(self.size_combo.count())]
        self.size_combo.setCurrentIndex(presets.index((s.width, s.height)) if (s.width, s.height) in presets else len(presets) - 1)
        self.scheduler_combo.setCurrentIndex(SCHEDULERS.index(s.scheduler))
        self.model_picker.show_reference(s.base_model)
        self._updating = False

    def _set(self, field: str, value) -> None:
        if not self._updating and getattr(self.document.settings, field) != value:
            self.document.set_settings(**{field: value})

    def _on_guidance(self, value: int) -> None:
        self.guidance_label.setText(f"{value / 2:.1f}")
        self._set("guidance_scale", value / 2)

    def _on_preset(self, index: int) -> None:
        size = self.size_combo.itemData(index)
        if size is not None:
            self.document.set_settings(width=size[0], height=size[1])

    def _on_size(self) -> None:
        if self._updating:
            return
        width, height = self.width_spin.value(), self.height_spin.value()
        rounded = (max(SIZE_MIN, int(width / 8 + 0.5) * 8), max(SIZE_MIN, int(height / 8 + 0.5) * 8))
        if rounded != (width, height):
            self.notice.emit(f"Size rounded to {rounded[0]} × {rounded[1]}: sizes must be multiples of 8")
        s = self.document.settings
        if rounded != (s.width, s.height):
            self.document.set_settings(width=rounded[0], height=rounded[1])
        else:
            self.refresh()

    def _fill_presets(self, family: Family) -> None:
        self.size_combo.clear()
        for w, h in family.size_presets:
            self.size_combo.addItem(f"{w} × {h}", (w, h))
        self.size_combo.addItem("Custom", None)

    def _on_pick(self, reference: str | None) -> None:
        self._picks += 1
        self._pick_key = f"model-pick:{self._picks}"
        self.document.set_settings(merge_key=self._pick_key, base_model=reference)

    def _on_model_answer(self, _reference: str | None, info: ModelInfo | None, by_pick: bool) -> None:
        """A model of another family brings its presets and, when the user just picked it, its native size."""
        if info is None:
            return
        previous, self._info = self._info, info
        if previous is None or info.family is not previous.family:
            self._fill_presets(info.family)
            self.refresh()
        size = (info.native_size, info.native_size)
        s = self.document.settings
        kind_changed = previous is None or (info.family, info.native_size) != (previous.family, previous.native_size)
        if by_pick and kind_changed and (s.width, s.height) != size:
            self.document.set_settings(merge_key=self._pick_key, width=size[0], height=size[1])
            self.notice.emit(f"{info.family.label} model: size set to its native {size[0]} × {size[1]}")

    def shutdown(self) -> None:
        """Wait for a model peek still running, so nothing answers a closed window."""
        self.model_picker.shutdown()

    def reuse_last_seed(self) -> None:
        if self.last_seed is not None:
            self.document.set_settings(seed=self.last_seed, random_seed=False)

    def remember_seed(self, seed: int) -> None:
        self.last_seed = seed
        self.reuse_button.setEnabled(True)
