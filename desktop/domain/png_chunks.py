"""A PNG's chunks, walked and edited as bytes: text metadata is read, dropped or added without
decoding (or re-encoding) a single pixel. Pure Python, so the project file and the image reader share it."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each whole chunk after the signature, up to IEND or the end of the data."""
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            return
        yield kind, position, end
        if kind == b"IEND":
            return
        position = end


def text_keyword(data: bytes, start: int, end: int) -> bytes:
    """The keyword of the text chunk at data[start:end]."""
    return data[start + 8 : end - 4].partition(b"\0")[0]


def without_text(data: bytes, keyword: str | None = None) -> bytes:
    """The PNG with its text chunks dropped: all of them, or only those under `keyword`.
    Data that is not a PNG comes back as it is."""
    if not data.startswith(PNG_SIGNATURE):
        return data
    wanted = keyword.encode("latin-1") if keyword is not None else None
    spans = [(start, end) for kind, start, end in png_chunks(data)
             if kind in TEXT_CHUNKS and (wanted is None or text_keyword(data, start, end) == wanted)]
    if not spans:
        return data
    view, parts, position = memoryview(data), [], 0
    for start, end in spans:
        parts.append(view[position:start])
        position = end
    parts.append(view[position:])
    return b"".join(parts)


def with_text(data: bytes, keyword: str, text: str) -> bytes:
    """The PNG with `text` under `keyword`, replacing any text it held under that keyword: a compressed
    UTF-8 iTXt chunk before the image data, where Pillow writes it (so a recipe dropped and put back gives
    the same bytes). Data that is not a whole PNG comes back as it is."""
    data = without_text(data, keyword)
    if not data.startswith(PNG_SIGNATURE):
        return data
    places = [start for kind, start, _end in png_chunks(data) if kind in (b"IDAT", b"IEND")]
    if not places:
        return data
    body = keyword.encode("latin-1") + b"\0\x01\x00\0\0" + zlib.compress(text.encode("utf-8"))
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    return data[: places[0]] + chunk + data[places[0]:]
