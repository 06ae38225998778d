"""A tiny Qt-free signal: the document announces changes, widgets subscribe (napari's way).

Listeners that are bound methods are held weakly (`weakref.WeakMethod`): subscribing never keeps
a panel alive, and once its object is collected the listener is dropped and never called. Plain
functions and lambdas are held strongly (a lambda made on the spot would otherwise die at once):
whoever connects one disconnects it, or binds through an object's method instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import MethodType
from typing import Any


class Signal:
    def __init__(self) -> None:
        self._slots: list[Callable[[], Callable[..., Any] | None]] = []

    @staticmethod
    def _ref(slot: Callable[..., Any]) -> Callable[[], Callable[..., Any] | None]:
        if isinstance(slot, MethodType):
            return weakref.WeakMethod(slot)
        return lambda: slot

    def _index(self, slot: Callable[..., Any]) -> int | None:
        for i, ref in enumerate(self._slots):
            if ref() == slot:
                return i
        return None

    def connect(self, slot: Callable[..., Any]) -> None:
        if self._index(slot) is None:
            self._slots.append(self._ref(slot))

    def disconnect(self, slot: Callable[..., Any]) -> None:
        index = self._index(slot)
        if index is not None:
            del self._slots[index]

    def listener_count(self) -> int:
        """Listeners still alive (a collected object's methods are not counted)."""
        return sum(1 for ref in self._slots if ref() is not None)

    def emit(self, *args: Any) -> None:
        dead = False
        for ref in list(self._slots):
            slot = ref()
            if slot is None:
                dead = True
                continue
            slot(*args)
        if dead:
            self._slots = [ref for ref in self._slots if ref() is not None]


class EventGroup:
    """One Signal per name, made on first use: `events.weight.connect(...)`, `events.emit("weight", ...)`.

    Emitting a name nobody listens to costs a dictionary look-up."""

    def __init__(self) -> None:
        self._signals: dict[str, Signal] = {}

    def __getattr__(self, name: str) -> Signal:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._signals.setdefault(name, Signal())

    def emit(self, name: str, *args: Any) -> None:
        signal = self._signals.get(name)
        if signal is not None:
            signal.emit(*args)
