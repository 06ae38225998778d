"""The status bar: passing messages, and what it always shows (device, model, memory in use)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from desktop.workers.device_status import device_label, memory_text

MEMORY_EVERY_MS = 2000


class StatusLine(QObject):
    def __init__(self, bar: QStatusBar, device: str, precision: str) -> None:
        super().__init__(bar)
        self.bar = bar
        self.device_label = QLabel()
        self.model_label = QLabel("model: demo")
        self.memory_label = QLabel("")
        for label in (self.device_label, self.model_label, self.memory_label):
            bar.addPermanentWidget(label)
        self.show_device(device_label(device, precision))
        self.memory_timer = QTimer(self, interval=MEMORY_EVERY_MS, timeout=self.update_memory)
        self.memory_timer.start()

    def show(self, text: str, milliseconds: int = 0) -> None:
        """A passing message (0: until the next one)."""
        self.bar.showMessage(text, milliseconds)

    def show_device(self, text: str) -> None:
        self.device_label.setText(f"device: {text}")

    def show_model(self, text: str) -> None:
        self.model_label.setText(f"model: {text}")

    def update_memory(self) -> None:
        self.memory_label.setText(memory_text())

    def stop(self) -> None:
        self.memory_timer.stop()
