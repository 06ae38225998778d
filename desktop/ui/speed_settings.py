"""Tools > Optimise Models and Tools > Precision: how the worker loads its models.

Both are kept in the app's settings (a command-line override holds for the session only). The worker
drops its models between jobs, so a change takes effect on the next run and a running one finishes
as it started.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from desktop.domain.app_settings import PRECISION_CHOICES, AppSettings
from desktop.workers.device_status import device_label, precision_refusal

from .status_line import StatusLine

PRECISION_NAMES = {"auto": "Automatic", "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}
PRECISION_TIPS = {
    "auto": "float16 on a GPU; on a CPU bfloat16 where the processor computes it natively, else float32",
    "float32": "Full precision: runs everywhere, with the most memory",
    "bfloat16": "Half the memory; on a CPU fast only on processors with native bfloat16 (AVX-512 BF16 or AMX), "
                "elsewhere slower than float32",
    "float16": "Half precision for GPUs; not supported on the CPU",
}
COMPILE_TIP = ("Compile large models for speed: the first run at a new size takes longer (minutes on a CPU), then "
               "every step is faster; small models are never compiled")


class SpeedSettings(QObject):
    configure_worker = Signal(str, bool)  # queued to the worker's thread: precision, compile

    def __init__(self, parent: QObject, app_settings: AppSettings, device: str, precision: str,
                 compile_models: bool, status: StatusLine, running: Callable[[], bool]) -> None:
        super().__init__(parent)
        self.app_settings = app_settings
        self.device = device
        self.precision = precision
        self.compile_models = compile_models
        self.status = status
        self._running = running
        self.compile_action: QAction | None = None
        self.precision_actions: dict[str, QAction] = {}

    def add_compile(self, menu: QMenu, add_action: Callable[..., QAction]) -> None:
        """The compile switch, in `menu` (`add_action` also makes its shortcut live in the window)."""
        menu.setToolTipsVisible(True)
        self.compile_action = add_action("&Optimise Models (Compile)", self.set_compile, None, menu)
        self.compile_action.setCheckable(True)
        self.compile_action.setChecked(self.compile_models)
        self.compile_action.setToolTip(COMPILE_TIP)
        self.compile_action.setStatusTip(COMPILE_TIP)

    def add_precision(self, menu: QMenu, add_action: Callable[..., QAction]) -> None:
        """The precision submenu, one checkable choice each."""
        precision_menu = menu.addMenu("&Precision")
        precision_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        for choice in PRECISION_CHOICES:
            action = add_action(PRECISION_NAMES[choice], lambda _=False, c=choice: self.set_precision(c), None,
                                precision_menu)
            action.setCheckable(True)
            action.setActionGroup(group)
            action.setToolTip(PRECISION_TIPS[choice])
            action.setStatusTip(PRECISION_TIPS[choice])
            self.precision_actions[choice] = action
        self.precision_actions[self.precision].setChecked(True)

    def set_compile(self, on: bool) -> None:
        self.compile_models = self.app_settings.compile = on
        self._changed(f"Optimising models is {'on' if on else 'off'}: they load again on the next run"
                      + (", and the first run at each size takes longer" if on else ""))

    def set_precision(self, precision: str) -> None:
        """A precision the device cannot run (float16 on a CPU) is refused and the menu keeps the old one."""
        refusal = precision_refusal(self.device, precision)
        if refusal is not None:
            self.precision_actions[self.precision].setChecked(True)
            self.status.show(f"Precision stays {PRECISION_NAMES[self.precision]}: {refusal}", 10000)
            return
        self.precision = self.app_settings.precision = precision
        self.status.show_device(device_label(self.device, precision))
        self._changed(f"Precision {PRECISION_NAMES[precision]}: the models load again in it on the next run")

    def _changed(self, message: str) -> None:
        self.configure_worker.emit(self.precision, self.compile_models)
        if self._running():
            message += " (the run in progress finishes as it started)"
        self.status.show(message, 8000)
