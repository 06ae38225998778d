"""PySide6 / shiboken6 6.12.0 on CPython 3.11 dropped a reference to None on every call of a method that
returns void (QPainter.translate, QTimer.setInterval, QSlider.setSliderPosition, ...). None is not immortal
before Python 3.12, so a session of a few minutes ended in 'Fatal Python error: none_dealloc' (found by the
weight-drag bench). requirements.txt pins a release without the leak; this guards the pin."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QTimer


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_a_void_qt_call_keeps_none_alive(qapp):
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(200):
        timer.setInterval(5)
    assert sys.getrefcount(None) - before > -20  # the leaking release loses exactly 200
