"""Prompt and generation settings: prompt, negative prompt, guidance, steps, seed, size,
scheduler and base model, each bound to one field of the document's settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QSlider,
    QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from desktop.domain.document import Document
from desktop.domain.recipe import SCHEDULERS, SEED_MAX, SIZE_MAX, SIZE_MIN
from desktop.engine.schedulers import DISPLAY_NAMES

SIZE_PRESETS = ((512, 512), (512, 768), (768, 512), (640, 640), (768, 768), (256, 256))
DEMO_MODEL_LABEL = "Built-in demo model"


class PromptPanel(QWidget):
    notice = Signal(str)
    browse_model = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._updating = False
        self.last_seed: int | None = None
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
        for w, h in SIZE_PRESETS:
            self.size_combo.addItem(f"{w} × {h}", (w, h))
        self.size_combo.addItem("Custom", None)
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
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.addItem(DEMO_MODEL_LABEL)
        self.model_combo.addItem("stable-diffusion-v1-5/stable-diffusion-v1-5")
        browse = QToolButton(text="…")
        browse.setToolTip("Choose a model folder or .safetensors file")
        browse.clicked.connect(self.browse_model)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(browse)
        form.addRow("Base model", row)
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
        self.model_combo.lineEdit().editingFinished.connect(self._on_model)
        self.model_combo.activated.connect(lambda _: self._on_model())
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
        presets = [tuple(size) for size in SIZE_PRESETS]
        preset = presets.index((s.width, s.height)) if (s.width, s.height) in presets else self.size_combo.count() - 1
        self.size_combo.setCurrentIndex(preset)
        self.scheduler_combo.setCurrentIndex(SCHEDULERS.index(s.scheduler))
        self.model_combo.setEditText(s.base_model or DEMO_MODEL_LABEL)
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

    def _on_model(self) -> None:
        text = self.model_combo.currentText().strip()
        self._set("base_model", None if text in ("", DEMO_MODEL_LABEL) else text)

    def reuse_last_seed(self) -> None:
        if self.last_seed is not None:
            self.document.set_settings(seed=self.last_seed, random_seed=False)

    def remember_seed(self, seed: int) -> None:
        self.last_seed = seed
        self.reuse_button.setEnabled(True)
