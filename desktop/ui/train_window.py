"""The Train window: train a ControlNet on the user's own folder (fill50k layout) or on the
shapes, with a progress bar, the loss plot and the sample grid updating as it trains."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QSpinBox, QVBoxLayout, QWidget,
)

from desktop.workers.training import TrainingController


class LossPlot(QWidget):
    """Loss per step, smoothed, drawn as a line (log scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []
        self.setMinimumSize(320, 140)

    def add(self, value: float) -> None:
        self.values.append(max(value, 1e-8))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        import math

        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if len(self.values) < 2:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "loss appears here")
            return
        window = max(1, len(self.values) // 50)
        smooth = [sum(self.values[max(0, i - window):i + 1]) / len(self.values[max(0, i - window):i + 1])
                  for i in range(len(self.values))]
        logs = [math.log10(v) for v in smooth]
        low, high = min(logs), max(logs)
        span = (high - low) or 1.0
        width, height = self.width() - 8, self.height() - 8
        points = [QPointF(4 + width * i / (len(logs) - 1), 4 + height * (1 - (v - low) / span)) for i, v in enumerate(logs)]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(94, 129, 244), 1.5))
        painter.drawPolyline(points)
        painter.setPen(self.palette().text().color())
        painter.drawText(6, 14, f"loss {smooth[-1]:.4f}")


class TrainWindow(QDialog):
    def __init__(self, parent: QWidget | None = None, base_model: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a ControlNet")
        self.controller = TrainingController(self)
        self.eval_samples, self.eval_steps = 4, 20  # held-out fidelity at each sample grid
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.base_edit = QLineEdit(base_model)
        self.data_edit = QLineEdit("shapes")
        self.data_edit.setToolTip("'shapes', or a folder with prompt.json lines {source, target, prompt} (fill50k layout)")
        self.out_edit = QLineEdit(str(Path.home() / "controlnet-training"))
        self.steps_spin = QSpinBox(minimum=1, maximum=1_000_000, value=2000)
        self.batch_spin = QSpinBox(minimum=1, maximum=512, value=16)
        self.lr_spin = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=1e-2, singleStep=1e-5, value=1e-4)
        self.resolution_spin = QSpinBox(minimum=32, maximum=1024, singleStep=8, value=64)
        self.init_combo = QComboBox()
        for init, label in (("zero", "Zero convolutions (the paper)"), ("gaussian", "Gaussian init (ablation)"),
                            ("lite", "ControlNet-lite (ablation)")):
            self.init_combo.addItem(label, init)
        for label, widget in (("Base model folder", self.base_edit), ("Data", self.data_edit), ("Output folder", self.out_edit),
                              ("Steps", self.steps_spin), ("Batch", self.batch_spin), ("Learning rate", self.lr_spin),
                              ("Resolution", self.resolution_spin), ("Init", self.init_combo)):
            form.addRow(label, widget)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setFormat("not started")
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        self.plot = LossPlot()
        self.grid = QLabel("sample grid appears here")
        self.grid.setMinimumSize(320, 140)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.plot, 1)
        row.addWidget(self.grid, 1)
        layout.addLayout(row)
        self.status = QLabel("")
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start / resume")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        worker = self.controller.worker
        worker.step.connect(self._on_step)
        worker.message.connect(self.status.setText)
        worker.samples.connect(self._on_samples)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)

    def settings(self):
        from desktop.domain.training_settings import ControlNetSettings

        return ControlNetSettings(
            base=self.base_edit.text().strip(), data=self.data_edit.text().strip() or "shapes",
            out=self.out_edit.text().strip(), steps=self.steps_spin.value(), batch=self.batch_spin.value(),
            lr=self.lr_spin.value(), resolution=self.resolution_spin.value(), init=self.init_combo.currentData(),
            sample_every=max(1, min(250, self.steps_spin.value() // 4)),
            checkpoint_every=max(1, min(250, self.steps_spin.value() // 4)), eval_samples=self.eval_samples,
            eval_steps=self.eval_steps,
        )

    def start(self) -> None:
        settings = self.settings()
        if not Path(settings.base).is_dir():
            self.status.setText("Choose a base model folder (a diffusers folder, such as the demo model).")
            return
        if settings.data != "shapes" and not (Path(settings.data) / "prompt.json").exists():
            self.status.setText("The data folder needs a prompt.json (fill50k layout), or use 'shapes'.")
            return
        self.plot.values.clear()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setFormat("starting…")
        self.controller.start(settings)

    def stop(self) -> None:
        self.controller.cancel()
        self.stop_button.setEnabled(False)
        self.progress.setFormat("stopping after this step…")

    def _on_step(self, step: int, total: int, loss: float) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        self.progress.setFormat(f"step {step}/{total}")
        self.plot.add(loss)

    def _on_samples(self, path: str) -> None:
        pixmap = QPixmap(path)
        if not pixmap.isNull():
            self.grid.setPixmap(pixmap.scaled(self.grid.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation))

    def _on_finished(self, final: str) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setFormat("done" if final else "stopped: Start resumes from the last checkpoint")
        if final:
            self.status.setText(f"ControlNet saved in {final}; pick it in a layer's ControlNet field.")

    def _on_failed(self, message: str) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setFormat("failed")
        self.status.setText(message)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.controller.shutdown()
        super().closeEvent(event)
