"""Only regular files are read, and never more than the cap."""

from __future__ import annotations

import os
import threading

import pytest

from desktop.domain.errors import UnreadableFile
from desktop.domain.safe_files import read_regular_file, read_text_file


def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    assert read_regular_file(path, limit=5) == b"hello"


def test_over_the_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 11)
    with pytest.raises(UnreadableFile, match="over the limit"):
        read_regular_file(path, limit=10, what="image")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_at_once():
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_regular_file("/dev/zero", limit=10**9, what="image")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome = []

    def read() -> None:
        try:
            read_regular_file(fifo, limit=100)
        except UnreadableFile as err:
            outcome.append(str(err))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert outcome and "not a regular file" in outcome[0]


def test_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(UnreadableFile, match="pose nope.json: it does not exist"):
        read_regular_file(tmp_path / "nope.json", limit=10, what="pose")


def test_text_accepts_a_byte_order_mark_and_refuses_binary(tmp_path):
    good, bad = tmp_path / "bom.json", tmp_path / "bin.json"
    good.write_bytes(b"\xef\xbb\xbf{}")
    bad.write_bytes(b"\xff\xfe\x00")
    assert read_text_file(good, limit=100) == "{}"
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read_text_file(bad, limit=100)
