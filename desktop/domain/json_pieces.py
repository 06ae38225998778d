"""JSON text in short pieces, so a background thread that encodes a large document lets the UI thread run.

`json.dumps` holds the GIL from start to end: a project with long strokes and a long history takes tens of
milliseconds, and the UI thread waits that long wherever the encoding runs. Joined, the pieces are exactly
`json.dumps(value, ensure_ascii=False)`; each comes from one `json.dumps` call of about a millisecond at
most, and the interpreter may hand the GIL over between them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

PIECE_COST = 4096  # about a millisecond of json.dumps: numbers and short strings count one each
CHARS_PER_COST = 256  # a long string counts one per this many characters
PIECE_CHARS = PIECE_COST * CHARS_PER_COST  # a longer string is escaped slice by slice (a large image's base64)


def json_pieces(value: Any) -> Iterator[str]:
    """The JSON text of `value` (as `json.dumps(value, ensure_ascii=False)` writes it) in pieces."""
    if _cost(value, PIECE_COST) <= PIECE_COST:
        yield json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str):
        yield '"'
        for start in range(0, len(value), PIECE_CHARS):
            yield json.dumps(value[start:start + PIECE_CHARS], ensure_ascii=False)[1:-1]
        yield '"'
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (", " if index else "") + json.dumps(_key(key), ensure_ascii=False) + ": "
            yield from json_pieces(item)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ", "
            yield from json_pieces(item)
        yield "]"
    else:  # a value json.dumps itself refuses or calls out for: let it say so
        yield json.dumps(value, ensure_ascii=False)


def _cost(value: Any, limit: int) -> int:
    """About how much encoding `value` costs, counted only until it passes `limit`."""
    if isinstance(value, str):
        return 1 + len(value) // CHARS_PER_COST
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return 1
    total = 1
    for item in items:
        total += _cost(item, limit - total)
        if total > limit:
            break
    return total


def _key(key: Any) -> str:
    """A key as json.dumps writes it: strings as they are; numbers, booleans and None as their JSON text."""
    if isinstance(key, str):
        return key
    return json.dumps(key)
