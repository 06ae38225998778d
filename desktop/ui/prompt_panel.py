"""Prompt and generation settings: prompt, negative prompt, guidance, steps, seed, size,
scheduler, base model and LoRAs, each bound to one field of the document's settings.

The size presets are the base model's family's; picking a model of another family sets its
native size in the same undo step as the pick (A1111 and InvokeAI users expect this: SDXL at
512 px gives poor images). A model with a card (the demo's) brings the card's size, guidance, steps
and sampler instead, and the guidance slider names the range the card says the model works in: a
value beyond it is shown in a warning colour, never clamped (a user may want to try).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QSlider,
    QSpinBox, QStyle, QStyleOptionSlider, QToolButton, QVBoxLayout, QWidget,
)

from desktop.domain.app_settings import AppSettings
from desktop.domain.document import Document
from desktop.domain.family import Family, ModelInfo
from desktop.domain.model_card import ModelCard
from desktop.domain.settings_schema import (
    GUIDANCE_SCALE, HEIGHT, NEGATIVE_PROMPT, PROMPT, RANDOM_SEED, SCHEDULER, SEED, STEPS, WIDTH,
)

from .bindings import Binding, bind_check, bind_combo, bind_slider, bind_spin
from .dialogs import Dialogs
from .lora_list import LoraList
from .model_picker import ModelPicker, model_name

WARNING_COLOUR = "#e8a84a"  # an amber that reads on the dark theme's panels, apart from the error red
GUIDANCE_TICKS = round(1 / GUIDANCE_SCALE.step)  # slider ticks per unit of guidance: its finest step


class PromptPanel(QWidget):
    notice = Signal(str)

    def __init__(self, document: Document, settings: AppSettings, dialogs: Callable[[], Dialogs],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.last_seed: int | None = None
        self._info: ModelInfo | None = None  # the last model whose family is known; its presets fill the size list
        self._card: ModelCard | None = None  # the shown model's card: the guidance range the slider names
        self._picks = 0
        self._pick_key = ""  # the undo merge key of the last pick: its size change joins that step
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText("Describe the image (may be empty: the conditions alone steer it)")
        self.prompt_edit.setMaximumHeight(70)
        self.negative_edit = QPlainTextEdit()
        self.negative_edit.setMaximumHeight(46)
        self.negative_edit.setPlaceholderText(NEGATIVE_PROMPT.label)
        layout.addWidget(QLabel(f"<b>{PROMPT.label}</b>"))
        layout.addWidget(self.prompt_edit)
        layout.addWidget(self.negative_edit)

        form = QFormLayout()
        self.guidance_slider = BandSlider()
        self.guidance_slider.setRange(round(GUIDANCE_SCALE.minimum * GUIDANCE_TICKS),
                                      round(GUIDANCE_SCALE.maximum * GUIDANCE_TICKS))
        self.guidance_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.guidance_slider, 1)
        row.addWidget(self.guidance_label)
        form.addRow(GUIDANCE_SCALE.label, row)
        self.steps_spin = QSpinBox(minimum=int(STEPS.minimum), maximum=int(STEPS.maximum))
        form.addRow(STEPS.label, self.steps_spin)
        self.seed_spin = QDoubleSpinBox(decimals=0, minimum=SEED.minimum, maximum=SEED.maximum, singleStep=1)
        self.random_check = QCheckBox(RANDOM_SEED.label)
        self.reuse_button = QToolButton(text="Last")
        self.reuse_button.setToolTip("Reuse the seed of the last generation")
        row = QHBoxLayout()
        row.addWidget(self.seed_spin, 1)
        row.addWidget(self.random_check)
        row.addWidget(self.reuse_button)
        form.addRow(SEED.label, row)
        self.size_combo = QComboBox()
        self._fill_presets(Family.SD1.size_presets)
        self.width_spin = QSpinBox(minimum=int(WIDTH.minimum), maximum=int(WIDTH.maximum), singleStep=WIDTH.multiple_of)
        self.height_spin = QSpinBox(minimum=int(HEIGHT.minimum), maximum=int(HEIGHT.maximum),
                                    singleStep=HEIGHT.multiple_of)
        row = QHBoxLayout()
        row.addWidget(self.size_combo, 1)
        row.addWidget(self.width_spin)
        row.addWidget(QLabel("×"))
        row.addWidget(self.height_spin)
        form.addRow("Size", row)
        self.scheduler_combo = QComboBox()
        for choice in SCHEDULER.menu:
            self.scheduler_combo.addItem(choice.label, choice.value)
        form.addRow(SCHEDULER.label, self.scheduler_combo)
        self.model_picker = ModelPicker(settings, dialogs)
        form.addRow("Base model", self.model_picker)
        self.lora_list = LoraList(document, dialogs)
        form.addRow("LoRAs", self.lora_list)
        layout.addLayout(form)

        self.reuse_button.clicked.connect(self.reuse_last_seed)
        self.size_combo.activated.connect(self._on_preset)
        self.width_spin.editingFinished.connect(self._on_size)
        self.height_spin.editingFinished.connect(self._on_size)
        self.model_picker.picked.connect(self._on_pick)
        self.model_picker.answered.connect(self._on_model_answer)
        self.lora_list.notice.connect(self.notice)
        for binding in self._bind():  # each widget keeps its binding
            binding.refresh()
        self.reuse_button.setEnabled(False)  # until a run has used a seed
        self._show_guidance_now()
        self._show_seed_enabled()
        self._show_size()
        self._show_model()

    def _bind(self) -> list[Binding]:
        """One widget, one settings field: an edit elsewhere (undo, a restored result, a model's card)
        writes only the widgets of the fields it changed, so a box being typed in keeps its focus."""
        events = self.document.settings_events

        def field(name: str) -> Callable[[], Any]:
            return lambda: getattr(self.document.settings, name)

        def text(edit: QPlainTextEdit, name: str) -> Binding:
            return Binding(edit, field(name), lambda value: self._set(name, value), getattr(events, name),
                           edit.toPlainText, edit.setPlainText, (edit.textChanged,))

        ticks = lambda: round(self.document.settings.guidance_scale * GUIDANCE_TICKS)  # noqa: E731
        events.guidance_scale.connect(self._show_guidance_now)
        events.random_seed.connect(self._show_seed_enabled)
        events.width.connect(self._show_size)
        events.height.connect(self._show_size)
        events.base_model.connect(self._show_model)
        return [
            text(self.prompt_edit, "prompt"), text(self.negative_edit, "negative_prompt"),
            bind_slider(self.guidance_slider, ticks, lambda value: self._set("guidance_scale", value / GUIDANCE_TICKS),
                        events.guidance_scale, self.document.end_gesture),
            bind_spin(self.steps_spin, field("steps"), lambda value: self._set("steps", value), events.steps),
            bind_spin(self.seed_spin, field("seed"), lambda value: self._set("seed", int(value)), events.seed),
            bind_check(self.random_check, field("random_seed"), lambda value: self._set("random_seed", value),
                       events.random_seed),
            bind_combo(self.scheduler_combo, field("scheduler"), lambda value: self._set("scheduler", value),
                       events.scheduler),
        ]

    def _set(self, name: str, value: Any) -> None:
        if getattr(self.document.settings, name) != value:
            self.document.set_settings(**{name: value})

    def _show_guidance_now(self, *_args: Any) -> None:
        self._show_guidance(self.document.settings.guidance_scale)

    def _show_seed_enabled(self, *_args: Any) -> None:
        self.seed_spin.setEnabled(not self.document.settings.random_seed)

    def _show_model(self, *_args: Any) -> None:
        self.model_picker.show_reference(self.document.settings.base_model)

    def _show_size(self, *_args: Any) -> None:
        """The two boxes and the preset that matches them ("Custom" when none does)."""
        s = self.document.settings
        self.width_spin.setValue(s.width)
        self.height_spin.setValue(s.height)
        presets = [self.size_combo.itemData(i) for i in range(self.size_combo.count())]
        self.size_combo.setCurrentIndex(presets.index((s.width, s.height)) if (s.width, s.height) in presets
                                        else len(presets) - 1)

    def _show_guidance(self, value: float) -> None:
        """The number; with a model card also the range the model works in, and a warning beyond it."""
        text, tip, colour = f"{value:.1f}", "", ""
        if self._card is not None:
            low, high = self._card.guidance_range
            span = f"{low:g}–{high:g}"
            text += f" (works {span})"
            if low <= value <= high:
                tip = f"This model works with guidance {span} (its model card)"
            else:
                tip, colour = f"beyond the range this model was made for ({span}); results may break up", WARNING_COLOUR
        self.guidance_label.setText(text)
        self.guidance_label.setStyleSheet(f"color: {colour}" if colour else "")
        self.guidance_label.setToolTip(tip)
        self.guidance_slider.setToolTip(tip)

    def _on_preset(self, index: int) -> None:
        size = self.size_combo.itemData(index)
        if size is not None:
            self.document.set_settings(width=size[0], height=size[1])

    def _on_size(self) -> None:
        width, height = self.width_spin.value(), self.height_spin.value()
        rounded = tuple(max(int(setting.minimum), int(value / setting.multiple_of + 0.5) * setting.multiple_of)
                        for setting, value in ((WIDTH, width), (HEIGHT, height)))
        if rounded != (width, height):
            self.notice.emit(f"Size rounded to {rounded[0]} × {rounded[1]}: sizes must be multiples of "
                             f"{WIDTH.multiple_of}")
        s = self.document.settings
        if rounded != (s.width, s.height):
            self.document.set_settings(width=rounded[0], height=rounded[1])
        else:
            self._show_size()  # the boxes show what the document holds

    def _fill_presets(self, presets: tuple[tuple[int, int], ...]) -> None:
        self.size_combo.clear()
        for w, h in presets:
            self.size_combo.addItem(f"{w} × {h}", (w, h))
        self.size_combo.addItem("Custom", None)

    def _on_pick(self, reference: str | None) -> None:
        self._picks += 1
        self._pick_key = f"model-pick:{self._picks}"
        self.document.set_settings(merge_key=self._pick_key, base_model=reference)

    def _on_model_answer(self, reference: str | None, info: ModelInfo | None, by_pick: bool) -> None:
        """A model of another family brings its presets, a model card its guidance range; when the user just
        picked the model, the document takes its card's defaults or its native size."""
        self._card = info.card if info is not None else None
        span = self._card.guidance_range if self._card is not None else None
        self.guidance_slider.set_band(None if span is None else tuple(round(v * GUIDANCE_TICKS) for v in span))
        self._show_guidance(self.document.settings.guidance_scale)
        if info is None:
            return
        previous, self._info = self._info, info
        kind_changed = previous is None or (info.family, info.native_size) != (previous.family, previous.native_size)
        if kind_changed:
            native = (info.native_size, info.native_size)  # the demo's 64 px is no family's preset
            presets = info.family.size_presets
            self._fill_presets(presets if native in presets else (native, *presets))
            self._show_size()
        if by_pick:
            self._take_model_defaults(reference, info, kind_changed)

    def _take_model_defaults(self, reference: str | None, info: ModelInfo, kind_changed: bool) -> None:
        """The card's values the document does not match yet, and a new kind of model's native size unless
        the card names a size, in the pick's undo step (one undo puts the old model and values back)."""
        wanted = dict(info.card.defaults) if info.card is not None else {}
        if kind_changed and not wanted.keys() & {"width", "height"}:
            wanted.update(width=info.native_size, height=info.native_size)
        changes = {key: value for key, value in wanted.items() if getattr(self.document.settings, key) != value}
        if not changes:
            return
        self.document.set_settings(merge_key=self._pick_key, **changes)
        s = self.document.settings
        if info.card is None:
            self.notice.emit(f"{info.family.label} model: size set to its native {s.width} × {s.height}")
            return
        said = [f"{s.width} × {s.height}"] if changes.keys() & {"width", "height"} else []
        said += [f"guidance {s.guidance_scale:g}"] if "guidance_scale" in changes else []
        said += [f"{s.steps} steps"] if "steps" in changes else []
        said += [SCHEDULER.labels[s.scheduler]] if "scheduler" in changes else []
        owner = "Demo model" if reference is None else model_name(reference)
        self.notice.emit(f"{owner}: {', '.join(said)} (its model card)")

    def shutdown(self) -> None:
        """Wait for a model peek still running, so nothing answers a closed window."""
        self.model_picker.shutdown()

    def reuse_last_seed(self) -> None:
        if self.last_seed is not None:
            self.document.set_settings(seed=self.last_seed, random_seed=False)

    def remember_seed(self, seed: int) -> None:
        self.last_seed = seed
        self.reuse_button.setEnabled(True)


class BandSlider(QSlider):
    """A horizontal slider with a tinted band under its groove: where the model's card says it works, so a
    value beyond it shows at a glance. The band marks, it never limits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.band: tuple[int, int] | None = None  # slider values, low and high

    def set_band(self, band: tuple[int, int] | None) -> None:
        if band != self.band:
            self.band = band
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.band is not None:  # first, so the handle is drawn over it
            option = QStyleOptionSlider()
            self.initStyleOption(option)
            style = self.style()
            groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self)
            handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self)
            span = groove.width() - handle.width()
            low, high = (groove.x() + handle.width() // 2
                         + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), v, span) for v in self.band)
            colour = self.palette().highlight().color()
            colour.setAlpha(150)
            painter = QPainter(self)
            painter.fillRect(QRect(low, groove.bottom() + 2, max(2, high - low), 3), colour)
            painter.end()
        super().paintEvent(event)
