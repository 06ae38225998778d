"""The base-model picker: the built-in demo model, the recent models and two Browse entries in an
editable combo (a hub id can be typed), with the model's family and native size beside it, or,
in the error colour below it, the sentence saying why it cannot run.

Why the family shows at once: a user who picks an SDXL refiner or a damaged file should learn it
now, not after pressing Generate and waiting for gigabytes to load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.domain.app_settings import MAX_RECENT_MODELS, AppSettings
from desktop.domain.catalog import SD15_BASE
from desktop.domain.family import V_PREDICTION, ModelInfo
from desktop.domain.recipe import model_name_problem
from desktop.workers.model_info import ModelInfoProbe

from .dialogs import Dialogs

DEMO_MODEL_LABEL = "Built-in demo model"
ERROR_COLOUR = "#ef6b62"  # a soft red that stays readable on the dark theme's panels
_BROWSE_FILE, _BROWSE_FOLDER = "browse:file", "browse:folder"  # item data of the two Browse entries
_UNSET = object()  # no model shown yet


class ModelPicker(QWidget):
    picked = Signal(object)  # the user chose a model: its reference, or None for the demo model
    answered = Signal(object, object, bool)  # reference, ModelInfo (None: unknown or refused), whether the user just picked it
    described = Signal(str)  # "name · SDXL (1024 px)", for the status bar

    def __init__(self, settings: AppSettings, dialogs: Callable[[], Dialogs], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._dialogs = dialogs
        self._reference: object = _UNSET  # the model shown, whose family was asked for
        self._awaiting_pick: object = _UNSET  # a model the user picked whose answer has not come yet
        self._refused = False
        self._known = False  # the family of the model shown is known
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setToolTip("A model folder, a .safetensors file or a Hugging Face hub id (owner/name)")
        self.combo.view().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.combo.setMinimumWidth(120)
        self.family_label = QLabel()  # "SDXL · 1024 px" beside the combo
        self.refusal_label = QLabel()  # why the model cannot run, below it; hidden otherwise
        self.refusal_label.setWordWrap(True)
        self.refusal_label.setStyleSheet(f"color: {ERROR_COLOUR}")
        self.refusal_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusal_label.hide()
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.family_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.refusal_label)
        self.probe = ModelInfoProbe(self)
        self.probe.answered.connect(self._on_answer)
        self.combo.activated.connect(self._on_activated)
        self.combo.lineEdit().editingFinished.connect(self._on_typed)
        self._fill()

    # -- showing ----------------------------------------------------------------------------------
    def show_reference(self, reference: str | None) -> None:
        """Show the document's model; a model not shown before is peeked at off the UI thread."""
        changed = reference != self._reference
        self._reference = reference
        self.combo.setEditText(self._shown())  # the full path: the field shows its end (the file name)
        if not changed:
            return
        self._set_info("reading…", "Reading the model's configs")
        self.described.emit(model_name(reference))
        self.probe.ask(reference)

    def _shown(self) -> str:
        return DEMO_MODEL_LABEL if self._reference in (None, _UNSET) else str(self._reference)

    def shutdown(self) -> None:
        self.probe.shutdown()

    def _on_answer(self, reference: str | None, info: ModelInfo | None, refusal: str) -> None:
        by_pick = reference == self._awaiting_pick
        self._awaiting_pick = _UNSET
        self._refused = bool(refusal)
        self._known = info is not None
        if refusal:
            self._set_info("cannot run", refusal, refusal=refusal)
            self.described.emit(f"{model_name(reference)} · cannot run")
        elif info is None:
            self._set_info("family unknown", "A hub model's family is known once it has downloaded and loaded")
            self.described.emit(model_name(reference))
        else:
            self._set_info(family_tag(info), info.label, muted=False)
            self.described.emit(f"{model_name(reference)} · {info.label}")
        if by_pick and info is not None and reference is not None:  # a typo'd hub id is not remembered
            self._remember(reference)
        self.answered.emit(reference, info, by_pick)

    def learn(self, reference: str | None, info: ModelInfo) -> None:
        """A generation loaded `reference` and found `info`: a hub model's family is known from then on."""
        if reference == self._reference and not self._known:
            self._on_answer(reference, info, "")
            if reference is not None:
                self._remember(reference)

    def _set_info(self, tag: str, tooltip: str, *, muted: bool = True, refusal: str = "") -> None:
        colour = ERROR_COLOUR if refusal else self.palette().placeholderText().color().name() if muted else ""
        self.family_label.setStyleSheet(f"color: {colour}" if colour else "")
        self.family_label.setText(tag)
        self.family_label.setToolTip(tooltip)
        self.refusal_label.setText(refusal)
        self.refusal_label.setVisible(bool(refusal))

    # -- picking ------------------------------------------------------------------------------------
    def pick(self, reference: str | None) -> None:
        """The user chose `reference`: the document takes it, and the answer about it says `by_pick`."""
        if reference == self._reference:
            self.combo.setEditText(self._shown())
            if self._refused or not self._known:  # a drive mounted since, a download since: ask again
                self._awaiting_pick = reference
                self._set_info("reading…", "Reading the model's configs")
                self.probe.ask(reference)
            elif reference is not None:
                self._remember(reference)
            return
        self._awaiting_pick = reference
        self.picked.emit(reference)

    def _on_activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        self.combo.setEditText(self._shown())
        if data in (_BROWSE_FILE, _BROWSE_FOLDER):
            data = self._browse(data)
            if not data:
                return
        self.pick(data)

    def _browse(self, what: str) -> str:
        if what == _BROWSE_FILE:
            return self._dialogs().open_file("Choose a base model", "Safetensors (*.safetensors)")
        return self._dialogs().open_folder("Choose a diffusers model folder (the one holding model_index.json)")

    def _on_typed(self) -> None:
        text = typed_reference(self.combo.currentText())
        reference = None if text in ("", DEMO_MODEL_LABEL) else text
        if reference != self._reference:
            self.pick(reference)

    def _remember(self, reference: str) -> None:
        self._settings.add_recent_model(reference)
        self._fill()

    def _fill(self) -> None:
        """Demo first, then the recent models newest first, the SD 1.5 hub model, and the Browse entries."""
        recent = [r for r in self._settings.recent_models if model_name_problem(r) is None][:MAX_RECENT_MODELS]
        self.combo.blockSignals(True)
        text = self.combo.currentText()
        self.combo.clear()
        self.combo.addItem(DEMO_MODEL_LABEL, None)
        for reference in [*recent, *([SD15_BASE] if SD15_BASE not in recent else [])]:
            self.combo.addItem(model_name(reference), reference)
            self.combo.setItemData(self.combo.count() - 1, reference, Qt.ItemDataRole.ToolTipRole)
        self.combo.insertSeparator(self.combo.count())
        self.combo.addItem("Browse for a .safetensors file…", _BROWSE_FILE)
        self.combo.addItem("Browse for a model folder…", _BROWSE_FOLDER)
        self.combo.setEditText(text)
        self.combo.blockSignals(False)


def family_tag(info: ModelInfo) -> str:
    """'SDXL · 1024 px', 'SD 2.x · v-pred · 768 px': short enough to sit beside the combo."""
    extras = (["v-pred"] if info.prediction == V_PREDICTION else []) + (["inpainting"] if info.inpainting else [])
    return " · ".join([info.family.label, *extras, f"{info.native_size} px"])


def model_name(reference: str | None) -> str:
    """A local model by its file or folder name, a hub id as written (its owner is part of the name)."""
    if reference is None:
        return "demo"
    path = Path(reference)
    return path.name if path.is_absolute() or reference.startswith(("~", ".")) else reference


def typed_reference(text: str) -> str:
    """What a user typed or pasted, as a reference: without the quotes of Windows' "Copy as path" and
    without a trailing separator, so one folder is one recent model however it was written."""
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    stripped = text.rstrip("/\\")
    return stripped if stripped else text
