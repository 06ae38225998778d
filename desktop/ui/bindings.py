"""Bind one widget to one model field (Krita AI Diffusion's `bind()`, napari's widget per field).

`get()` reads the field in the widget's terms (None: nothing to show, the widget is left as it
is); `set(value)` pushes an edit to the model through the document's undoable commands; `events`
are the model's observable signals for that field. The widget is built once and never replaced:

- an edit in the widget calls `set`; if the model refused or adjusted the value, the widget is
  put back to what the model holds;
- a model event writes the value into the widget only if it differs, with the widget's signals
  blocked, so nothing echoes back and a box being typed in keeps its focus and cursor.

The model holds `Binding.refresh` weakly; the widget holds its bindings, so a binding lives as
long as its widget and a deleted widget is never written to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QDoubleSpinBox, QLineEdit, QSlider, QWidget

from desktop.domain.observable import Signal


class Binding:
    def __init__(self, widget: QWidget, get: Callable[[], Any], set: Callable[[Any], None] | None,
                 events: Signal | Iterable[Signal], read: Callable[[], Any], write: Callable[[Any], None],
                 edited: Iterable[Any] = (), same: Callable[[Any, Any], bool] | None = None) -> None:
        self.widget, self.get, self.set, self.read, self.write = widget, get, set, read, write
        self.same = same or (lambda a, b: a == b)
        self.events = [events] if isinstance(events, Signal) else list(events)
        self._pushing = False
        for event in self.events:
            event.connect(self.refresh)
        for signal in edited:
            signal.connect(self._on_edited)
        held = getattr(widget, "_bindings", None)
        if held is None:
            held = []
            widget._bindings = held  # the widget keeps its bindings alive, and only it
        held.append(self)

    def refresh(self, *_args: Any) -> None:
        """Model -> widget: write the model's value if it differs, without re-emitting."""
        if not shiboken6.isValid(self.widget):
            self.unbind()
            return
        value = self.get()
        if value is None or self.same(value, self.read()):
            return
        blocker = QSignalBlocker(self.widget)
        try:
            self.write(value)
        finally:
            blocker.unblock()

    def _on_edited(self, *_args: Any) -> None:
        """Widget -> model; then show what the model kept (it may refuse an edit)."""
        if self._pushing or self.set is None or not shiboken6.isValid(self.widget):
            return
        self._pushing = True
        try:
            self.set(self.read())
        finally:
            self._pushing = False
        self.refresh()

    def unbind(self) -> None:
        for event in self.events:
            event.disconnect(self.refresh)
        self.events = []


def _float_same(decimals: int) -> Callable[[Any, Any], bool]:
    return lambda a, b: abs(float(a) - float(b)) < 0.5 * 10.0 ** -decimals


def bind_spin(spin: QAbstractSpinBox, get, set, events) -> Binding:
    """A QSpinBox / QDoubleSpinBox: every accepted keystroke is an edit (one undo step per
    field while typing, by the document's merge key)."""
    same = _float_same(spin.decimals()) if isinstance(spin, QDoubleSpinBox) else None
    return Binding(spin, get, set, events, spin.value, spin.setValue, (spin.valueChanged,), same)


def bind_slider(slider: QSlider, get, set, events, released: Callable[[], None] | None = None) -> Binding:
    """`released` ends the drag's gesture, so one drag is one undo step."""
    if released is not None:
        slider.sliderReleased.connect(released)
    return Binding(slider, get, set, events, slider.value, slider.setValue, (slider.valueChanged,))


def bind_check(check: QAbstractButton, get, set, events) -> Binding:
    return Binding(check, get, set, events, check.isChecked, check.setChecked, (check.toggled,))


def bind_combo(combo: QComboBox, get, set, events) -> Binding:
    """A combo of fixed items whose data are the field's values."""
    return Binding(combo, get, set, events, combo.currentData,
                   lambda value: combo.setCurrentIndex(max(0, combo.findData(value))), (combo.currentIndexChanged,))


def bind_line(line: QLineEdit, get, set, events) -> Binding:
    """Text pushed when editing finishes (Enter or focus out), not per keystroke."""
    return Binding(line, get, set, events, line.text, line.setText, (line.editingFinished,))


def bind_show(widget: QWidget, get, events, read: Callable[[], Any], write: Callable[[Any], None]) -> Binding:
    """One way, model -> widget: a label's text, a group box's title."""
    return Binding(widget, get, None, events, read, write)
