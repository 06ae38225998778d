"""Undo and redo by snapshots: every document edit stores the state before and after.

Snapshots share immutable parts (strokes, people, image bytes), so they are cheap. Edits
with the same merge key in a row (a slider being dragged, a joint being moved) merge into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_UNDO = 200


@dataclass
class _Entry:
    label: str
    before: Any
    after: Any
    merge_key: str | None


class UndoStack:
    def __init__(self) -> None:
        self._done: list[_Entry] = []
        self._undone: list[_Entry] = []
        self._merge_open = True

    def push(self, label: str, before: Any, after: Any, merge_key: str | None = None) -> None:
        top = self._done[-1] if self._done else None
        if merge_key and top is not None and top.merge_key == merge_key and self._merge_open:
            top.after = after
        else:
            self._done.append(_Entry(label, before, after, merge_key))
            del self._done[:-MAX_UNDO]
        self._merge_open = True
        self._undone.clear()

    def close_merge(self) -> None:
        """The next edit starts a new undo step even if its merge key matches."""
        self._merge_open = False

    def undo(self) -> Any | None:
        if not self._done:
            return None
        entry = self._done.pop()
        self._undone.append(entry)
        self._merge_open = False
        return entry.before

    def redo(self) -> Any | None:
        if not self._undone:
            return None
        entry = self._undone.pop()
        self._done.append(entry)
        self._merge_open = False
        return entry.after

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_label(self) -> str:
        return self._done[-1].label if self._done else ""

    @property
    def redo_label(self) -> str:
        return self._undone[-1].label if self._undone else ""

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
