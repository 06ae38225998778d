"""The recovery file's JSON, written in pieces by a background thread, is the text json.dumps writes, and
no piece is a long hold of the GIL."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain import json_pieces as pieces_module
from desktop.domain.json_pieces import PIECE_CHARS, json_pieces

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=80) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=80),
    max_leaves=400,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_the_pieces_join_to_what_json_dumps_writes(value):
    assert "".join(json_pieces(value)) == json.dumps(value, ensure_ascii=False)


def test_small_pieces_at_the_limits_still_join_exactly(monkeypatch):
    """With tiny limits every container and string is split: the joins at every level are exercised."""
    monkeypatch.setattr(pieces_module, "PIECE_COST", 2)
    monkeypatch.setattr(pieces_module, "PIECE_CHARS", 3)
    value = {"a\n\"b": [1, 2.5, None, True, "déjà vu \\ \x00 ✓" * 3, {"k": (1, [2, [3]])}], 7: {}, None: []}
    pieces = list(json_pieces(value))
    assert len(pieces) > 20
    assert "".join(pieces) == json.dumps(value, ensure_ascii=False)


def test_a_large_document_comes_in_many_short_pieces():
    strokes = [{"type": "stroke", "points": [[float(i), i * 0.5, 0.9] for i in range(400)], "size": 3.0}
               for _ in range(300)]
    document = {"layers": [{"operations": strokes}], "history": [{"image": "A" * (3 * PIECE_CHARS + 5)}]}
    pieces = list(json_pieces(document))
    text = json.dumps(document, ensure_ascii=False)
    assert "".join(pieces) == text
    assert len(pieces) > 300
    assert max(len(piece) for piece in pieces) <= PIECE_CHARS + 2  # 36k points and a long image, all cut short
