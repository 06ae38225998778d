"""The main window: canvas in the centre, layers on the left, preview and prompt on the right.

It wires widgets to the document and to the generation controller; it holds no document
state of its own beyond the file name and the results' thumbnails (a full image is decoded
from the document when it is shown).
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from desktop.conditions.image_io import encode_png, read_image
from desktop.conditions.openpose_json import load_openpose_text, people_to_openpose
from desktop.domain.app_settings import PRECISION_CHOICES, AppSettings, save_settings
from desktop.domain.atomic import write_text_atomic
from desktop.domain.document import DocState, Document, HistoryItem
from desktop.domain.errors import InvalidImage, InvalidProject, InvalidRecipe, RunError, StudioError
from desktop.domain.family import ModelInfo
from desktop.domain.layers import MAX_LAYERS, ImageLayer, Layer, PoseLayer, ScribbleLayer, painted_operations
from desktop.domain.pose import place_new_person, t_pose
from desktop.domain.project import PROJECT_SUFFIX, LoadedProject, load_project, save_project
from desktop.domain.recipe import SEED_MAX, recipe_from_dict
from desktop.workers.generation import GenerationController, GenerationResult, SideFailure, SnapshotRecipe

from .canvas import CanvasView
from .dialogs import Dialogs, DownloadDialog
from .example import example_document
from .layer_panel import LayerPanel
from .opening import leave_out_unreadable_images, leave_out_unreadable_results, models_sentence, result_image
from .panes import SettingsScroll, WorkSplitter
from .paths import recovery_dir, settings_file
from .preprocess_requests import PreprocessRequests
from .preview_pane import PreviewPane, thumbnail
from .prompt_panel import PromptPanel
from .recovery import RecoveredWork, RecoveryFile
from . import run_errors

log = logging.getLogger(__name__)
AUTOSAVE_MS = 20_000
LIVE_DEBOUNCE_MS = 600
PROJECT_FILTER = f"ControlNet Studio project (*{PROJECT_SUFFIX})"
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
RETRY_SIDE = "retry_side"  # the error bar's Try again after a layer's preprocessing failed
PREPARE_TIP = ("Compile the model for the document's size and layers now, so the next Generate starts at once; "
               "does nothing for small models")


class MainWindow(QMainWindow):
    _configure_worker = Signal(str, bool)  # queued to the worker's thread: it drops its models between runs

    def __init__(self, settings: AppSettings | None = None, device: str = "auto", precision: str | None = None,
                 compile_models: bool | None = None) -> None:
        """`precision` and `compile_models` override the settings for this session only (command line)."""
        super().__init__()
        self.app_settings = settings or AppSettings()
        self.device = device
        self.precision = precision or self.app_settings.precision
        self.compile_models = self.app_settings.compile if compile_models is None else compile_models
        self.dialogs = Dialogs(self)
        self.document = Document()
        self.project_path: Path | None = None
        self.result_thumbnails: list[QImage] = []  # one per history item, in order
        self.controller = GenerationController(device, self, self.precision, self.compile_models)
        self._configure_worker.connect(self.controller.worker.configure)
        self.controller.worker.preview_every = self.app_settings.preview_every
        self.controller.worker.sharp_every = self.app_settings.sharp_preview_every
        self._closing = False
        self._keep_recovery = True
        self.recovery = RecoveryFile.for_new_session(recovery_dir())
        self.train_window = None
        self._warm_job = 0  # the controller's job id of the last warm-up started (0: none yet)
        self._warm_auto = False  # that warm-up started by itself (a model picked), not asked for
        self._warm_size = (0, 0)
        self._warm_base: str | None = None  # the base model that warm-up prepares
        self._run_state: DocState | None = None  # the snapshot the latest job ran from: its errors name its layers

        self.canvas = CanvasView(self.document)
        self.layer_panel = LayerPanel(self.document)
        self.prompt_panel = PromptPanel(self.document, self.app_settings, lambda: self.dialogs)
        self.preview_pane = PreviewPane()
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

        self.device_label = QLabel(f"device: {_device_label(device, self.precision)}")
        self.model_label = QLabel("model: demo")
        self.memory_label = QLabel("")
        for label in (self.device_label, self.model_label, self.memory_label):
            self.statusBar().addPermanentWidget(label)

        self.download_dialog: DownloadDialog | None = None  # made when a download starts: never shown idle
        self.preprocess_requests = PreprocessRequests(
            self.document, lambda layer, width, height: self.controller.request_preprocess(layer, width, height))
        self._build_actions()
        self._connect()
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_MS, timeout=self.autosave)
        self.autosave_timer.start()
        self.live_timer = QTimer(self, singleShot=True, interval=LIVE_DEBOUNCE_MS, timeout=self.generate)
        self.memory_timer = QTimer(self, interval=2000, timeout=self._update_memory)
        self.memory_timer.start()
        self.setAcceptDrops(True)
        self.new_document(ask=False)

    # -- wiring -------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, menu=None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action("&New", lambda: self.new_document(), QKeySequence.StandardKey.New, file_menu)
        self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open, file_menu)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._action("&Save", self.save, QKeySequence.StandardKey.Save, file_menu)
        self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs, file_menu)
        file_menu.addSeparator()
        self._action("&Export Image…", lambda: self.history_action("save", len(self.document.history) - 1), "Ctrl+E", file_menu)
        file_menu.addSeparator()
        self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)
        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self._action("&Undo", self.undo, QKeySequence.StandardKey.Undo, edit_menu)
        self.redo_action = self._action("&Redo", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")], edit_menu)
        self._action("Paste Image as Layer", self.paste_image, QKeySequence.StandardKey.Paste, edit_menu)
        layer_menu = bar.addMenu("&Layer")
        self._action("New &Scribble Layer", lambda: self.add_layer("scribble"), "Ctrl+Shift+N", layer_menu)
        self._action("New &Pose Layer", lambda: self.add_layer("pose"), None, layer_menu)
        self._action("New &Image Layer…", lambda: self.add_layer("image"), None, layer_menu)
        layer_menu.addSeparator()
        for tool, label, key in (("brush", "&Brush", "B"), ("eraser", "&Eraser", "E"), ("fill", "F&ill", "G")):
            self._action(label, lambda _=False, t=tool: self.select_tool(t), key, layer_menu)
        self._action("Smaller Brush", lambda: self.canvas.set_brush_size(self.canvas.brush_size / 1.25), "[", layer_menu)
        self._action("Larger Brush", lambda: self.canvas.set_brush_size(self.canvas.brush_size * 1.25), "]", layer_menu)
        view_menu = bar.addMenu("&View")
        self._action("&Fit", self.canvas.fit_to_window, "Ctrl+0", view_menu)
        self._action("&100 %", self.canvas.actual_size, "Ctrl+1", view_menu)
        tools_menu = bar.addMenu("&Tools")
        self._action("&Train a ControlNet…", self.open_train_window, None, tools_menu)
        self._action("&LoRA Folder…", self.choose_lora_folder, None, tools_menu)
        tools_menu.addSeparator()
        tools_menu.setToolTipsVisible(True)
        self.compile_action = self._action("&Optimise Models (Compile)", self.set_compile, None, tools_menu)
        self.compile_action.setCheckable(True)
        self.compile_action.setChecked(self.compile_models)
        self.compile_action.setToolTip(COMPILE_TIP)
        self.compile_action.setStatusTip(COMPILE_TIP)
        self.prepare_action = self._action("Prepare for This &Size", self.prepare_for_size, None, tools_menu)
        self.prepare_action.setToolTip(PREPARE_TIP)
        self.prepare_action.setStatusTip(PREPARE_TIP)
        precision_menu = tools_menu.addMenu("&Precision")
        precision_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.precision_actions: dict[str, QAction] = {}
        for choice in PRECISION_CHOICES:
            action = self._action(PRECISION_NAMES[choice], lambda _=False, c=choice: self.set_precision(c), None,
                                  precision_menu)
            action.setCheckable(True)
            action.setActionGroup(group)
            action.setToolTip(PRECISION_TIPS[choice])
            action.setStatusTip(PRECISION_TIPS[choice])
            self.precision_actions[choice] = action
        self.precision_actions[self.precision].setChecked(True)
        generate_menu = bar.addMenu("&Generate")
        self.generate_action = self._action(
            "&Generate", self.generate, [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")], generate_menu)
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc", generate_menu)
        self._refresh_recent()

    def _connect(self) -> None:
        doc = self.document
        doc.changed.connect(self._after_document_change)
        self.layer_panel.current_layer_changed.connect(self.canvas.set_current_layer)
        self.layer_panel.add_requested.connect(self.add_layer)
        self.layer_panel.model_view_toggled.connect(self.canvas.set_model_view)
        self.layer_panel.pose_action.connect(self.pose_action)
        self.layer_panel.clear_requested.connect(self.clear_layer)
        self.layer_panel.browse_controlnet.connect(self._browse_controlnet)
        self.layer_panel.detect_pose_requested.connect(self.detect_pose)
        self.layer_panel.preprocessor_combo.activated.connect(self._retry_preprocess)  # picked again: try again
        self.prompt_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.prompt_panel.model_picker.described.connect(lambda text: self.model_label.setText(f"model: {text}"))
        self.prompt_panel.model_picker.answered.connect(self._on_model_answer)  # after the panel's: the size is set
        pane = self.preview_pane
        pane.generate_requested.connect(self.generate)
        pane.cancel_requested.connect(self.cancel)
        pane.live_toggled.connect(self._set_live)
        pane.history_activated.connect(self.restore_from_history)
        pane.history_action.connect(self.history_action)
        ctl = self.controller
        ctl.preview_ready.connect(pane.show_preview)
        ctl.progress_changed.connect(pane.show_progress)
        ctl.status_changed.connect(pane.show_status)
        ctl.result_ready.connect(self._on_result)
        ctl.warm_done.connect(self._on_warmed)
        ctl.run_failed.connect(self._on_run_failed)
        pane.error_bar.action_triggered.connect(self._on_error_action)
        ctl.run_cancelled.connect(lambda: pane.show_stopped("cancelled"))
        ctl.busy_changed.connect(pane.set_busy)
        ctl.busy_changed.connect(lambda busy: busy or self._hide_download())
        ctl.download_progress.connect(self._show_download)
        ctl.device_ready.connect(lambda text: self.device_label.setText(f"device: {text}"))
        ctl.worker.preprocessed.connect(self._on_preprocessed)
        ctl.worker.people_found.connect(self._on_people_found)
        ctl.worker.side_failed.connect(self._on_side_failed)  # a method, so it runs on this (the UI) thread

    # -- document ---------------------------------------------------------------------------------
    # A network preprocessor runs on the worker thread, asked for by `preprocess_requests` only when what the
    # layer's control image is made of changes; the canvas shows the photo meanwhile.
    def _on_preprocessed(self, layer_id: str) -> None:
        self._hide_download()  # a preprocessor network that downloaded for it is done
        self.preprocess_requests.done(layer_id)
        self.canvas.invalidate(layer_id)
        self.layer_panel.invalidate(layer_id)

    def _retry_preprocess(self, _index: int = 0) -> None:
        """The selected layer's preprocessor picked again (or Try again): a failed or cancelled request
        is made once more; a layer whose preprocessing is fine or under way is left alone."""
        layer_id = self.document.editor.selected_layer_id
        if layer_id is not None and self.preprocess_requests.retry(layer_id):
            self.preview_pane.error_bar.dismiss()

    def _on_side_failed(self, failure: SideFailure) -> None:
        """Shown once, on the error bar, naming the layer; never a modal dialog (it would come back on each
        edit). The request is not made again for the same photo and settings until the user asks."""
        self._hide_download()
        if failure.what == "preprocessing":
            self.preprocess_requests.failed(failure.layer, failure.width, failure.height)
        layer = self._layer_or_none(failure.layer.id)
        name = layer.name if layer is not None else failure.layer.name
        error = failure.error
        actions: tuple[run_errors.ErrorAction, ...] = ()
        if layer is not None:
            actions = (run_errors.ErrorAction(run_errors.SELECT_LAYER, "Select layer", layer.id),
                       run_errors.ErrorAction(run_errors.TURN_LAYER_OFF, "Turn layer off", layer.id))
            if failure.what == "preprocessing":  # pose detection has its own button to press again
                actions = (run_errors.ErrorAction(RETRY_SIDE, "Try again", layer.id), *actions)
        shown = run_errors.ShownError(error.kind, f"{failure.what} of '{name}' failed: {error.reason}", actions)
        log.info("%s failed (%s): %s", failure.what, error.kind, shown.message)
        self.preview_pane.error_bar.show_error(shown)
        told = getattr(self.dialogs, "run_failed", None)  # a scripted run has nobody to read the bar: it ends here
        if told is not None:
            told(f"{failure.what.capitalize()} failed", error.message)

    def _show_download(self, done: int, total: int, speed: float) -> None:
        if self.download_dialog is None:
            self.download_dialog = DownloadDialog(self)
            self.download_dialog.canceled.connect(self.cancel)
        self.download_dialog.show_progress(done, total, speed)

    def _hide_download(self) -> None:
        if self.download_dialog is not None:
            self.download_dialog.hide()

    def detect_pose(self) -> None:
        layer = self.canvas.current_layer()
        if isinstance(layer, ImageLayer):
            s = self.document.settings
            self.statusBar().showMessage(f"Detecting people in {layer.name}…")
            self.controller.request_pose_detection(layer.copy(), s.width, s.height)

    def _on_people_found(self, people, source: str) -> None:
        self._hide_download()
        if not people:
            self.statusBar().showMessage(f"No people found in {source}", 6000)
            return
        layer = PoseLayer(name=f"Pose from {source}", people=tuple(people))
        if not self._place(layer):
            return
        self.statusBar().showMessage(f"{len(people)} people found in {source}: drag their joints to edit", 6000)

    def _after_document_change(self, reason: str, _layer_id=None) -> None:
        self._update_title()
        self.undo_action.setEnabled(self.document.undo_stack.can_undo)
        self.redo_action.setEnabled(self.document.undo_stack.can_redo)
        self.undo_action.setText(f"&Undo {self.document.undo_stack.undo_label}".rstrip())
        self.redo_action.setText(f"&Redo {self.document.undo_stack.redo_label}".rstrip())
        if reason == "history":
            self._refresh_history()
        elif self.preview_pane.live_check.isChecked():
            self.live_timer.start()

    def _update_title(self) -> None:
        name = self.project_path.name if self.project_path else "Untitled"
        self.setWindowTitle(f"{name}{' •' if self.document.dirty else ''} — ControlNet Studio")

    def _take(self, other: Document, path: Path | None, thumbnails: list[QImage] | None = None) -> None:
        """Show `other`; `thumbnails` are its results' (an opened project's check made them; a new one has none)."""
        self.document.replace_all(other)
        self.project_path = path
        self.result_thumbnails = list(thumbnails or [])
        self._refresh_history()
        self._show_last_result()
        self.layer_panel.refresh()
        self._update_title()
        self.canvas.set_current_layer(self.layer_panel.current_layer_id())
        self.canvas.set_brush_size(max(2.0, self.document.settings.width / 32))

    def _show_last_result(self) -> None:
        """A document just taken shows its newest result (a reopened project's last image), or nothing."""
        self._run_state = None
        self.preview_pane.show_nothing()
        if self.document.history:
            index = len(self.document.history) - 1
            try:
                self.history_action("show", index)
            except InvalidImage as err:  # checked as it opened; a damaged one is only not shown
                log.warning("the last result cannot be shown: %s", err)
                return
            self.preview_pane.history.setCurrentRow(index)

    def new_document(self, ask: bool = True, example: bool = True) -> None:
        if ask and not self._may_discard():
            return
        self._take(example_document() if example else Document(), None)

    def open_dialog(self) -> None:
        path = self.dialogs.open_file("Open project", PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        if ask and not self._may_discard():
            return False
        try:
            loaded = load_project(path)
        except InvalidProject as err:
            self.dialogs.error("Cannot open project", str(err))
            return False
        self._show_loaded(loaded, Path(path))
        self.app_settings.add_recent(str(Path(path).resolve()))
        self._refresh_recent()
        return True

    def restore_recovered(self, work: RecoveredWork, file: RecoveryFile) -> None:
        """Restored work stays unsaved and keeps the project file it came from (the title shows
        it, Save writes there); its recovery file becomes this session's own."""
        self.recovery.remove()
        self.recovery = file
        self._show_loaded(work.loaded, work.project_path)
        self.document.dirty = True
        self._update_title()

    def _show_loaded(self, loaded: LoadedProject, path: Path | None) -> None:
        """Bad image layers are left out before anything paints; the models it asks for are
        named before anything loads; problems are told in one message."""
        leave_out_unreadable_images(loaded)
        thumbnails = leave_out_unreadable_results(loaded)
        models = models_sentence(loaded.document)
        if models:
            self.statusBar().showMessage(models, 30000)
        self._take(loaded.document, path, thumbnails)
        if loaded.warnings:
            self.dialogs.info("Project opened with problems", "\n".join(loaded.warnings))

    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self._save_to(self.project_path)

    def save_as(self) -> bool:
        path = self.dialogs.save_file("Save project", PROJECT_FILTER, "untitled" + PROJECT_SUFFIX)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            save_project(self.document, path)
        except OSError as err:
            self.dialogs.error("Cannot save", f"Could not write {path}: {err.strerror or err}")
            return False
        self.project_path = path
        self.document.dirty = False
        self.app_settings.add_recent(str(path.resolve()))
        self._refresh_recent()
        self._update_title()
        self.recovery.remove()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def autosave(self) -> None:
        """Keep this session's recovery file in step: written while there are unsaved changes
        (atomic, never the project), removed once there are none."""
        if not self.document.dirty:
            self.recovery.remove()
            return
        try:
            self.recovery.write(self.document, self.project_path)
        except OSError as err:
            log.warning("autosave failed: %s", err)

    def _may_discard(self) -> bool:
        if not self.document.dirty:
            return True
        answer = self.dialogs.ask_save_changes(self.project_path.name if self.project_path else "Untitled")
        if answer == "save":
            return self.save()
        return answer == "discard"

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.app_settings.recent_files:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(self.app_settings.recent_files))

    def undo(self) -> None:
        self.document.undo()

    def redo(self) -> None:
        self.document.redo()

    # -- layers -------------------------------------------------------------------------------------
    def add_layer(self, kind: str) -> None:
        count = sum(1 for layer in self.document.layers if layer.kind == kind) + 1
        s = self.document.settings
        if kind == "scribble":
            layer = ScribbleLayer(name=f"Scribble {count}")
        elif kind == "pose":
            layer = PoseLayer(name=f"Pose {count}", people=(t_pose(s.width, s.height),))
        else:
            path = self.dialogs.open_file("Open reference image", "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)")
            if not path:
                return
            self.add_image_layer(path)
            return
        self._place(layer)

    def _place(self, layer) -> bool:
        """Add `layer` and select it; a full project (MAX_LAYERS) says so instead."""
        if self.document.is_full:
            self.statusBar().showMessage(f"A project holds at most {MAX_LAYERS} layers: remove one first", 8000)
            return False
        self.document.add_layer(layer)
        self.layer_panel.select_layer(layer.id)
        return True

    def add_image_layer(self, source: str | bytes, name: str = "") -> None:
        try:
            pixels = read_image(source)
        except StudioError as err:
            self.dialogs.error("Cannot open image", str(err))
            return
        label = name or (Path(source).stem if isinstance(source, str) else "Reference")
        layer = ImageLayer(name=label, png=encode_png(pixels), condition_kind="scribble")
        self._place(layer)

    def paste_image(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.statusBar().showMessage("The clipboard holds no image", 4000)
            return
        from desktop.workers.qimage_arrays import from_qimage

        self.add_image_layer(encode_png(from_qimage(image)), "Pasted image")

    def clear_layer(self) -> None:
        layer = self.canvas.current_layer()
        target = painted_operations(layer)
        if target and getattr(layer, target):
            label = "Clear mask" if target == "mask_operations" else "Clear layer"
            self.document.update_layer(layer.id, label, merge_key="", **{target: ()})

    def select_tool(self, tool: str) -> None:
        """A tool chosen by its key: the canvas and the panel's tool buttons both follow."""
        self.document.editor.set_tool(tool)

    def pose_action(self, action: str) -> None:
        layer = self.canvas.current_layer()
        if not isinstance(layer, PoseLayer):
            return
        s = self.document.settings
        people = list(layer.people)
        if action == "add":
            people.append(place_new_person(people, s.width, s.height))  # beside the others, inside the canvas
            self.document.update_layer(layer.id, "Add person", merge_key="", people=tuple(people))
        elif action == "mirror" and people:
            self.document.update_layer(layer.id, "Mirror", merge_key="", people=tuple(p.mirrored() for p in people))
        elif action == "import":
            path = self.dialogs.open_file("Import OpenPose JSON", "OpenPose JSON (*.json)")
            if not path:
                return
            try:
                imported = load_openpose_text(Path(path).read_text(encoding="utf-8"), s.width, s.height)
            except (StudioError, OSError, UnicodeDecodeError) as err:
                self.dialogs.error("Cannot import pose", f"{Path(path).name}: {err}")
                return
            self.document.update_layer(layer.id, "Import pose", merge_key="", people=tuple(imported))
        elif action == "export":
            path = self.dialogs.save_file("Export OpenPose JSON", "OpenPose JSON (*.json)", f"{layer.name}.json")
            if path:
                write_text_atomic(path, json.dumps(people_to_openpose(people, s.width, s.height), indent=1))

    def _browse_controlnet(self) -> None:
        path = self.dialogs.open_file("Choose a ControlNet", "Safetensors (*.safetensors);;Model config (config.json)")
        layer = self.canvas.current_layer()
        if path and layer is not None:
            path = str(Path(path).parent) if path.endswith("config.json") else path
            self.document.update_layer(layer.id, "Choose ControlNet", controlnet=path)

    # -- generation -----------------------------------------------------------------------------------
    def generate(self) -> None:
        """Snapshot the document now; the worker renders control images and runs from the snapshot."""
        state = self.document.snapshot()
        seed = random.randint(0, SEED_MAX) if state.settings.random_seed else state.settings.seed
        self.prompt_panel.remember_seed(seed)
        self._run_state = state
        self.preprocess_requests.forget_failures()  # the run preprocesses its layers itself, and says if that fails
        self.controller.start(self._recipe_maker(state, seed))

    def _recipe_maker(self, state: DocState, seed: int) -> SnapshotRecipe:
        """How the worker builds a recipe from a document snapshot: the control images are rendered
        there, off the UI thread."""
        lora_dir = Path(self.app_settings.lora_folder) if self.app_settings.lora_folder else None
        return SnapshotRecipe(state, seed, lora_dir)

    def prepare_for_size(self, _checked: bool = False, auto: bool = False) -> None:
        """Load and compile for the document's size and layers now (minutes on a CPU), so the next Generate
        starts at once. Never over a run: cancelling the user's image to prepare for the next one is wrong."""
        if self.controller.running and not self._warming():  # a warm-up is superseded: it prepares what is not used
            if not auto:
                self.statusBar().showMessage("A run is in progress: prepare once it has finished", 6000)
            return
        state = self.document.snapshot()
        self._warm_size = (state.settings.width, state.settings.height)
        self._warm_base = state.settings.base_model
        self._warm_auto = auto
        self._run_state = state
        self._warm_job = self.controller.warm_up(self._recipe_maker(state, state.settings.seed))

    def _on_model_answer(self, _reference: str | None, info: ModelInfo | None, by_pick: bool) -> None:
        """A base model the user just picked loads and compiles while they set up, so their first Generate
        does not pay for it; not in Live mode (its own runs come at once) nor over a run. A warm-up under way
        (of the model picked before) is cancelled for it."""
        live = self.preview_pane.live_check.isChecked()
        if by_pick and info is not None and self.compile_models and not live:
            self.prepare_for_size(auto=True)

    def _warming(self) -> bool:
        """Whether the controller's latest job is a warm-up (a Generate after it is a job of its own)."""
        return self._warm_job != 0 and self.controller.current_job == self._warm_job

    def _on_warmed(self, compiled: int, seconds: float) -> None:
        """A warm-up's end; one for a base model the document no longer uses says nothing (it is not ready)."""
        if self._warm_base != self.document.settings.base_model:
            self.preview_pane.show_stopped("idle")
            return
        self.preview_pane.show_stopped("ready")
        width, height = self._warm_size
        text = f"Ready: optimised for {width} x {height} in {seconds:.0f} s" if compiled else "Model loaded"
        self.statusBar().showMessage(text, 15000)

    def choose_lora_folder(self) -> None:
        """The folder `<lora:name:weight>` in a prompt looks in, as in A1111 (kept in the app's settings)."""
        folder = self.dialogs.open_folder("Choose the LoRA folder")
        if folder:
            self.app_settings.lora_folder = str(Path(folder).resolve())
            self.statusBar().showMessage(f"<lora:name> in a prompt now looks in {self.app_settings.lora_folder}")

    def set_compile(self, on: bool) -> None:
        """Optimise Models: kept in the settings; the worker loads the models again on the next run."""
        self.compile_models = self.app_settings.compile = on
        self._speed_changed(f"Optimising models is {'on' if on else 'off'}: they load again on the next run"
                            + (", and the first run at each size takes longer" if on else ""))

    def set_precision(self, precision: str) -> None:
        """A precision the device cannot run (float16 on a CPU) is refused and the menu keeps the old one."""
        from desktop.engine.device import choose_device

        try:
            choose_device(self.device, precision)
        except InvalidRecipe as err:
            if err.field == "precision":
                self.precision_actions[self.precision].setChecked(True)
                reason = str(err).removeprefix(f"{err.field}: ")
                self.statusBar().showMessage(f"Precision stays {PRECISION_NAMES[self.precision]}: {reason}", 10000)
                return
        self.precision = self.app_settings.precision = precision
        self.device_label.setText(f"device: {_device_label(self.device, precision)}")
        self._speed_changed(f"Precision {PRECISION_NAMES[precision]}: the models load again in it on the next run")

    def _speed_changed(self, message: str) -> None:
        """The worker drops its models between jobs, so a running one finishes as it started."""
        self._configure_worker.emit(self.precision, self.compile_models)
        if self.controller.running:
            message += " (the run in progress finishes as it started)"
        self.statusBar().showMessage(message, 8000)

    def cancel(self) -> None:
        """Stops the run and any preprocessing or pose detection (with its download); the document is untouched."""
        self.live_timer.stop()
        self.controller.cancel()
        self.controller.cancel_side()
        self.preprocess_requests.cancelled()  # not asked for again until its layer changes or the user asks
        self._hide_download()

    def _set_live(self, on: bool) -> None:
        self.app_settings.live = on
        if on:
            self.live_timer.start()
        else:
            self.live_timer.stop()

    def _on_result(self, result: GenerationResult) -> None:
        """The worker made the image, its PNG and the recipe's dict: here they are only stored and shown."""
        self.result_thumbnails.append(thumbnail(result.image))
        self.document.add_result(HistoryItem(result.recipe_dict, result.png))
        for layer in (self._run_state.layers if self._run_state is not None else ()):
            if isinstance(layer, ImageLayer) and self.preprocess_requests.is_network(layer):
                self.canvas.invalidate(layer.id)  # the run's preprocessing is cached now: the canvas shows it
                self.layer_panel.invalidate(layer.id)
        r = result.recipe
        caption = f"seed {r.seed} · {r.steps} steps · {result.seconds:.1f} s"
        self.preview_pane.show_result(result.image, caption)
        self.preview_pane.error_bar.dismiss()  # the run worked: whatever failed before is over
        for notice in result.notices:
            self.statusBar().showMessage(notice, 10000)
        if result.model is not None:
            self.prompt_panel.model_picker.learn(r.base_model, result.model)

    def _on_run_failed(self, error: RunError) -> None:
        """Shown where it happened: the error bar on the preview pane, with the actions that fix it, also
        in Live mode (its next run after an edit clears the bar). Never a modal dialog."""
        self.preview_pane.show_stopped("failed")
        if self._warming() and self._warm_auto:  # nobody asked for it: the next Generate shows the fault in full
            self.statusBar().showMessage(f"Could not prepare the model: {error.message}", 15000)
            return
        state = self._run_state or self.document.snapshot()
        s = state.settings
        shown = run_errors.explain(error, run_errors.condition_layers(state.layers), (s.width, s.height),
                                   s.base_model, [path for path, _ in s.loras])
        log.info("run failed (%s): %s", error.kind, shown.message)
        self.preview_pane.error_bar.show_error(shown)
        told = getattr(self.dialogs, "run_failed", None)  # a scripted run has nobody to read the bar: it ends here
        if told is not None:
            told("Generation failed", shown.message)

    def _on_error_action(self, action: run_errors.ErrorAction) -> None:
        """A button on the error bar. Each change to the document is one undo step; the bar goes once the
        document has changed (a Browse answered, a layer turned off), and stays for a look at a layer."""
        bar = self.preview_pane.error_bar
        layer = self._layer_or_none(action.layer_id)
        self.document.end_gesture()
        key = f"error-action:{time.monotonic_ns()}"  # its own undo step, never merged with the user's edits
        if action.name == run_errors.USE_SIZE and action.size is not None:
            width, height = action.size
            self.document.set_settings(merge_key=key, width=width, height=height)
            self.statusBar().showMessage(f"Size {width} × {height}: half the pixels. Undo brings the old size back", 8000)
            bar.dismiss()
        elif action.name == run_errors.TURN_LAYER_OFF and layer is not None:
            self.document.update_layer(layer.id, f"Turn off {layer.name}", merge_key=key, enabled=False)
            bar.dismiss()
        elif action.name == RETRY_SIDE and layer is not None:
            self.layer_panel.select_layer(layer.id)
            self._retry_preprocess()
        elif action.name in (run_errors.PICK_CONTROLNET, run_errors.SELECT_LAYER) and layer is not None:
            self.layer_panel.select_layer(layer.id)
            if action.name == run_errors.PICK_CONTROLNET:
                self.layer_panel.controlnet_combo.setFocus()
        elif action.name == run_errors.BROWSE_CONTROLNET and layer is not None:
            self.layer_panel.select_layer(layer.id)
            before = self.document.layer(layer.id).controlnet
            self._browse_controlnet()
            if self.document.layer(layer.id).controlnet != before:
                bar.dismiss()
        elif action.name == run_errors.BROWSE_BASE:
            picker = self.prompt_panel.model_picker
            before = self.document.settings.base_model
            browse = "browse:file" if (action.reference or "").endswith(".safetensors") else "browse:folder"
            index = picker.combo.findData(browse)
            if index >= 0:
                picker.combo.activated.emit(index)  # as the user picks the picker's Browse entry
            if self.document.settings.base_model != before:
                bar.dismiss()
        self.document.end_gesture()

    def _layer_or_none(self, layer_id: str | None) -> Layer | None:
        try:
            return self.document.layer(layer_id) if layer_id is not None else None
        except KeyError:  # removed since the run
            return None

    def _refresh_history(self) -> None:
        tips = []
        for item in self.document.history:
            r = item.recipe
            tips.append(f"{_prompt(r)}\nseed {r.get('seed')} · {r.get('steps')} steps · "
                        f"guidance {r.get('guidance_scale')}")
        self.preview_pane.set_history(self.result_thumbnails, tips)

    def restore_from_history(self, index: int) -> None:
        """The settings a result was made with, checked by the recipe rules first: a project's history
        may be a stranger's, and a value no render accepts must not reach the document."""
        if not 0 <= index < len(self.document.history):
            return
        try:
            r = recipe_from_dict(self.document.history[index].recipe, self_contained=True)
        except InvalidRecipe as err:
            self.dialogs.error("Cannot restore settings", f"The settings of result {index + 1} cannot be restored: {err}.")
            return
        self.document.end_gesture()
        key = f"restore:{time.monotonic_ns()}"  # the settings and every layer: one undo step of their own
        self.document.set_settings(
            merge_key=key, prompt=r.prompt, negative_prompt=r.negative_prompt, seed=r.seed, steps=r.steps,
            guidance_scale=r.guidance_scale, width=r.width, height=r.height, scheduler=r.scheduler,
            base_model=r.base_model, random_seed=False, loras=tuple((lora.path, lora.weight) for lora in r.loras))
        by_name = {c.extra.get("layer"): c for c in r.conditions}
        for layer in self.document.layers:
            saved = by_name.get(layer.name)
            if saved:
                self.document.update_layer(layer.id, "Restore layer settings", merge_key=key, weight=saved.weight,
                                           start=saved.start, end=saved.end, mode=saved.mode)
        self.document.end_gesture()

    def history_action(self, action: str, index: int) -> None:
        if not 0 <= index < len(self.document.history):
            return
        item = self.document.history[index]
        if action == "show":
            caption = f"Result {index + 1}: {_prompt(item.recipe).splitlines()[0]}"
            self.preview_pane.show_image(result_image(item.image_png), caption)
        elif action == "save":
            path = self.dialogs.save_file("Save image", "PNG image (*.png)", f"result-{index + 1}.png")
            if path:
                from desktop.domain.atomic import write_bytes_atomic

                write_bytes_atomic(path if path.endswith(".png") else path + ".png", item.image_png)
        elif action == "copy":
            QGuiApplication.clipboard().setImage(result_image(item.image_png))
        elif action == "reference":
            self.add_image_layer(item.image_png, f"Result {index + 1}")

    def open_train_window(self) -> None:
        from desktop.engine.defaults import DEMO_MODEL, demo_model_installed

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
                self.open_project(path)
            elif path:
                self.add_image_layer(path)
        if not mime.urls() and mime.hasImage():
            from desktop.workers.qimage_arrays import from_qimage

            self.add_image_layer(encode_png(from_qimage(mime.imageData())), "Dropped image")
        event.acceptProposedAction()

    # -- status ------------------------------------------------------------------------------------------
    def _update_memory(self) -> None:
        import psutil
        import torch

        text = f"memory: {psutil.Process().memory_info().rss / 2**20:,.0f} MB"
        if torch.cuda.is_available():
            text += f" · GPU {torch.cuda.memory_allocated() / 2**20:,.0f} MB"
        self.memory_label.setText(text)

    # -- closing ------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Cancel the run, keep the work (ask; or, closing unasked, write the recovery file),
        and join the worker thread so nothing is left running."""
        if not self._closing and self.document.dirty:
            answer = self.dialogs.ask_save_changes(self.project_path.name if self.project_path else "Untitled")
            if answer == "cancel" or (answer == "save" and not self.save()):
                event.ignore()
                return
            if answer == "discard":
                self.document.dirty = False
        self.controller.cancel()
        for timer in (self.autosave_timer, self.live_timer, self.memory_timer):
            timer.stop()
        if self.document.dirty and self._keep_recovery:
            self.autosave()
            self.recovery.release()  # left for the next start to offer
        else:
            self.recovery.remove()
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


def _prompt(recipe: dict) -> str:
    """A result's prompt as its tooltip and caption show it (a stranger's may be any JSON value)."""
    return str(recipe.get("prompt") or "(no prompt)")


def _device_label(name: str, precision: str = "auto") -> str:
    from desktop.engine.device import choose_device

    try:
        return choose_device(name, precision).label
    except StudioError as err:
        return str(err)
