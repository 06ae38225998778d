"""The main window: canvas in the centre, layers on the left, preview and prompt on the right.

It builds the panes and the menus and wires them to the parts that do the work, each in its own
module: project files and recovery (`project_files`), layer commands (`layer_commands`), runs and
what comes back from them (`run_commands`, `error_actions`, `result_history`), speed settings
(`speed_settings`) and the status bar (`status_line`). It holds no document state of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QVBoxLayout, QWidget

from desktop.domain.app_settings import AppSettings, save_settings
from desktop.domain.defaults import DEMO_MODEL, demo_model_installed
from desktop.domain.document import Document
from desktop.domain.project import PROJECT_SUFFIX
from desktop.workers.generation import GenerationController

from .canvas import CanvasView
from .dialogs import Dialogs
from .error_actions import ErrorActions
from .layer_commands import LayerCommands
from .layer_panel import LayerPanel
from .panes import SettingsScroll, WorkSplitter
from .paths import recovery_dir, settings_file
from .preview_pane import PreviewPane
from .project_files import ProjectFiles
from .prompt_panel import PromptPanel
from .recovery import RecoveryFile
from .result_history import ResultHistory
from .run_commands import PREPARE_TIP, RunCommands
from .speed_settings import SpeedSettings
from .status_line import StatusLine

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, device: str = "auto", precision: str | None = None,
                 compile_models: bool | None = None) -> None:
        """`precision` and `compile_models` override the settings for this session only (command line)."""
        super().__init__()
        self.app_settings = settings or AppSettings()
        self.dialogs = Dialogs(self)
        self.document = Document()
        self._closing = False
        self._keep_recovery = True
        self.train_window = None
        precision = precision or self.app_settings.precision
        compile_models = self.app_settings.compile if compile_models is None else compile_models
        self.controller = GenerationController(device, self, precision, compile_models)
        self.controller.worker.preview_every = self.app_settings.preview_every
        self.controller.worker.sharp_every = self.app_settings.sharp_preview_every

        self.canvas = CanvasView(self.document)
        self.layer_panel = LayerPanel(self.document)
        self.prompt_panel = PromptPanel(self.document, self.app_settings, lambda: self.dialogs)
        self.preview_pane = PreviewPane()
        self._lay_out()

        self.status_line = StatusLine(self.statusBar(), device, precision)
        self.speed = SpeedSettings(self, self.app_settings, device, precision, compile_models, self.status_line,
                                   lambda: self.controller.running)
        self.speed.configure_worker.connect(self.controller.worker.configure)
        self.files = ProjectFiles(self, self.document, self.app_settings, lambda: self.dialogs, self.status_line,
                                  RecoveryFile.for_new_session(recovery_dir()), self._on_taken)
        self.layer_commands = LayerCommands(self, self.document, lambda: self.dialogs, self.status_line, self.controller)
        self.results = ResultHistory(self.document, self.preview_pane, lambda: self.dialogs, self.layer_commands)
        self.errors = ErrorActions(self.document, self.preview_pane, lambda: self.dialogs, self.status_line,
                                   self.layer_commands, self.layer_panel, self.prompt_panel.model_picker)
        self.runs = RunCommands(self, self.document, self.controller, self.app_settings, self.preview_pane,
                                self.prompt_panel, lambda: self.dialogs, self.status_line, self.results, self.errors,
                                lambda: self.speed.compile_models)
        self._build_menus()
        self._connect()
        self.setAcceptDrops(True)
        self.files.new_document(ask=False)

    def _lay_out(self) -> None:
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.preview_pane, 1)
        self.settings_scroll = SettingsScroll(self.prompt_panel)  # a short window scrolls the settings
        right_layout.addWidget(self.settings_scroll)
        splitter = WorkSplitter()
        splitter.addWidget(self.layer_panel)
        splitter.addWidget(self.canvas)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)  # a pane never shrinks below what its controls need
        splitter.setSizes([290, 560, 410])
        self.setCentralWidget(splitter)
        self.resize(1280, 800)
        self.setMinimumSize(1000, 600)

    # -- wiring -------------------------------------------------------------------------------
    def _action(self, text: str, slot: Callable, shortcut=None, menu: QMenu | None = None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar, files, layers, canvas, runs = self.menuBar(), self.files, self.layer_commands, self.canvas, self.runs
        file_menu = bar.addMenu("&File")
        self._action("&New", lambda: files.new_document(), QKeySequence.StandardKey.New, file_menu)
        self._action("&Open…", files.open_dialog, QKeySequence.StandardKey.Open, file_menu)
        files.recent_menu = file_menu.addMenu("Open &Recent")
        self._action("&Save", files.save, QKeySequence.StandardKey.Save, file_menu)
        self._action("Save &As…", files.save_as, QKeySequence.StandardKey.SaveAs, file_menu)
        file_menu.addSeparator()
        self._action("&Export Image…", self.results.export_last, "Ctrl+E", file_menu)
        file_menu.addSeparator()
        self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)
        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self._action("&Undo", self.document.undo, QKeySequence.StandardKey.Undo, edit_menu)
        self.redo_action = self._action("&Redo", self.document.redo, [QKeySequence("Ctrl+Shift+Z"),
                                                                      QKeySequence("Ctrl+Y")], edit_menu)
        self._action("Paste Image as Layer", layers.paste_image, QKeySequence.StandardKey.Paste, edit_menu)
        layer_menu = bar.addMenu("&Layer")
        self._action("New &Scribble Layer", lambda: layers.add_layer("scribble"), "Ctrl+Shift+N", layer_menu)
        self._action("New &Pose Layer", lambda: layers.add_layer("pose"), None, layer_menu)
        self._action("New &Image Layer…", lambda: layers.add_layer("image"), None, layer_menu)
        layer_menu.addSeparator()
        for tool, label, key in (("brush", "&Brush", "B"), ("eraser", "&Eraser", "E"), ("fill", "F&ill", "G")):
            self._action(label, lambda _=False, t=tool: layers.select_tool(t), key, layer_menu)
        self._action("Smaller Brush", lambda: canvas.set_brush_size(canvas.brush_size / 1.25), "[", layer_menu)
        self._action("Larger Brush", lambda: canvas.set_brush_size(canvas.brush_size * 1.25), "]", layer_menu)
        view_menu = bar.addMenu("&View")
        self._action("&Fit", canvas.fit_to_window, "Ctrl+0", view_menu)
        self._action("&100 %", canvas.actual_size, "Ctrl+1", view_menu)
        tools_menu = bar.addMenu("&Tools")
        self._action("&Train a ControlNet…", self.open_train_window, None, tools_menu)
        self._action("&LoRA Folder…", runs.choose_lora_folder, None, tools_menu)
        tools_menu.addSeparator()
        self.speed.add_compile(tools_menu, self._action)
        self.prepare_action = self._action("Prepare for This &Size", runs.prepare_for_size, None, tools_menu)
        self.prepare_action.setToolTip(PREPARE_TIP)
        self.prepare_action.setStatusTip(PREPARE_TIP)
        self.speed.add_precision(tools_menu, self._action)
        generate_menu = bar.addMenu("&Generate")
        self.generate_action = self._action(
            "&Generate", runs.generate, [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")], generate_menu)
        self.cancel_action = self._action("&Cancel", runs.cancel, "Esc", generate_menu)
        files.refresh_recent()

    def _connect(self) -> None:
        self.document.changed.connect(self._after_document_change)
        panel, layers = self.layer_panel, self.layer_commands
        panel.current_layer_changed.connect(self.canvas.set_current_layer)
        panel.add_requested.connect(layers.add_layer)
        panel.model_view_toggled.connect(self.canvas.set_model_view)
        panel.pose_action.connect(layers.pose_action)
        panel.clear_requested.connect(layers.clear_layer)
        panel.clear_region_requested.connect(layers.clear_region)
        panel.browse_controlnet.connect(layers.browse_controlnet)
        panel.detect_pose_requested.connect(layers.detect_pose)
        panel.preprocessor_combo.activated.connect(self.runs.retry_preprocess)  # picked again: try again
        self.controller.worker.people_found.connect(self._on_people_found)  # a method: runs on this thread
        self.runs.layer_image_changed.connect(self.canvas.invalidate)
        self.runs.layer_image_changed.connect(panel.invalidate)
        self.prompt_panel.notice.connect(lambda text: self.status_line.show(text, 6000))
        self.prompt_panel.model_picker.described.connect(self.status_line.show_model)
        self.prompt_panel.model_picker.answered.connect(  # the networks a layer is offered follow the base's family
            lambda _reference, info, _by_pick: panel.properties.set_family(info.family if info is not None else None))

    def _after_document_change(self, reason: str, _layer_id=None) -> None:
        stack = self.document.undo_stack
        self.files.update_title()
        self.undo_action.setEnabled(stack.can_undo)
        self.redo_action.setEnabled(stack.can_redo)
        self.undo_action.setText(f"&Undo {stack.undo_label}".rstrip())
        self.redo_action.setText(f"&Redo {stack.redo_label}".rstrip())
        if reason == "history":
            self.results.refresh()
        self.runs.document_changed(reason)

    def _on_taken(self, thumbnails: list) -> None:
        """A new, opened or recovered document: every pane shows it from its start."""
        self.runs.document_taken()
        self.results.take(thumbnails)
        self.layer_panel.refresh()
        self.canvas.set_current_layer(self.layer_panel.current_layer_id())
        self.canvas.set_brush_size(max(2.0, self.document.settings.width / 32))

    def _on_people_found(self, people: list, source: str) -> None:
        self.runs.hide_download()  # a pose network that downloaded for it is done
        self.layer_commands.add_found_people(people, source)

    def open_train_window(self) -> None:
        from .train_window import TrainWindow

        if self.train_window is None:
            base = self.document.settings.base_model or (str(DEMO_MODEL) if demo_model_installed() else "")
            self.train_window = TrainWindow(self, base)
        self.train_window.show()
        self.train_window.raise_()

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Dropped images become reference layers; a dropped project opens."""
        mime = event.mimeData()
        for url in mime.urls():
            path = url.toLocalFile()
            if path.endswith(PROJECT_SUFFIX):
                self.files.open_project(path)
            elif path:
                self.layer_commands.add_image_layer(path)
        if not mime.urls() and mime.hasImage():
            self.layer_commands.add_qimage_layer(mime.imageData(), "Dropped image")
        event.acceptProposedAction()

    # -- closing ------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Cancel the run, keep the work (ask; or, closing unasked, write the recovery file),
        and join the worker thread so nothing is left running."""
        if not self._closing and self.document.dirty:
            answer = self.dialogs.ask_save_changes(self.files.name)
            if answer == "cancel" or (answer == "save" and not self.files.save()):
                event.ignore()
                return
            if answer == "discard":
                self.document.dirty = False
        self.controller.cancel()
        self.runs.live_timer.stop()
        self.status_line.stop()
        self.files.close(keep_recovery=self._keep_recovery)
        self.app_settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        try:
            save_settings(self.app_settings, settings_file())
        except OSError as err:
            log.warning("could not save settings: %s", err)
        self.controller.shutdown()
        self.prompt_panel.shutdown()
        if self.train_window is not None:
            self.train_window.close()
        event.accept()

    def close_without_asking(self, keep_recovery: bool = True) -> None:
        """Close with no question: unsaved work goes to the recovery file, unless `keep_recovery`
        is false (a scripted run: it made no edits by hand, and its exit is no crash)."""
        self._closing = True
        self._keep_recovery = keep_recovery
        self.close()

    def restore_geometry(self) -> None:
        if self.app_settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.app_settings.window_geometry.encode("ascii")))
