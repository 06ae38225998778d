"""Generate, Cancel, Live mode, Prepare for This Size, and what comes back from the worker: results,
failures, preprocessed layers, download progress.

A run works from a snapshot of the document taken when it starts; the worker renders the control
images and the PNG, so the UI thread only stores and shows. The snapshot of the latest job is kept so
its errors name its layers as they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from desktop.domain.app_settings import AppSettings
from desktop.domain.document import DocState, Document
from desktop.domain.errors import RunError
from desktop.domain.family import ModelInfo
from desktop.domain.layers import ImageLayer
from desktop.domain.recipe import SEED_MAX
from desktop.workers.generation import GenerationController, GenerationResult, SideFailure, SnapshotRecipe

from .dialogs import Dialogs, DownloadDialog
from .error_actions import ErrorActions
from .preprocess_requests import PreprocessRequests
from .preview_pane import PreviewPane
from .prompt_panel import PromptPanel
from .result_history import ResultHistory
from .status_line import StatusLine

LIVE_DEBOUNCE_MS = 600
PREPARE_TIP = ("Compile the model for the document's size and layers now, so the next Generate starts at once; "
               "does nothing for small models")


class RunCommands(QObject):
    layer_image_changed = Signal(str)  # a layer's preprocessed control image is ready: redraw it

    def __init__(self, window: QWidget, document: Document, controller: GenerationController, app_settings: AppSettings,
                 pane: PreviewPane, prompt_panel: PromptPanel, dialogs: Callable[[], Dialogs], status: StatusLine,
                 results: ResultHistory, errors: ErrorActions, compiling: Callable[[], bool]) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.controller = controller
        self.app_settings = app_settings
        self.pane = pane
        self.prompt_panel = prompt_panel
        self._dialogs = dialogs  # asked each time: a test or a scripted run replaces them
        self.status = status
        self.results = results
        self.errors = errors
        self._compiling = compiling
        self.download_dialog: DownloadDialog | None = None  # made when a download starts: never shown idle
        self.preprocess_requests = PreprocessRequests(
            document, lambda layer, width, height: controller.request_preprocess(layer, width, height))
        self.live_timer = QTimer(self, singleShot=True, interval=LIVE_DEBOUNCE_MS, timeout=self.generate)
        self._warm_job = 0  # the controller's job id of the last warm-up started (0: none yet)
        self._warm_auto = False  # that warm-up started by itself (a model picked), not asked for
        self._warm_size = (0, 0)
        self._warm_base: str | None = None  # the base model that warm-up prepares
        self._run_state: DocState | None = None  # the snapshot the latest job ran from: its errors name its layers
        self._connect()

    def _connect(self) -> None:
        pane, ctl = self.pane, self.controller
        pane.generate_requested.connect(self.generate)
        pane.cancel_requested.connect(self.cancel)
        pane.live_toggled.connect(self.set_live)
        ctl.preview_ready.connect(pane.show_preview)
        ctl.progress_changed.connect(pane.show_progress)
        ctl.status_changed.connect(pane.show_status)
        ctl.result_ready.connect(self._on_result)
        ctl.warm_done.connect(self._on_warmed)
        ctl.run_failed.connect(self._on_run_failed)
        ctl.run_cancelled.connect(lambda: pane.show_stopped("cancelled"))
        ctl.busy_changed.connect(pane.set_busy)
        ctl.busy_changed.connect(lambda busy: busy or self.hide_download())
        ctl.download_progress.connect(self._show_download)
        ctl.device_ready.connect(self.status.show_device)
        ctl.worker.preprocessed.connect(self._on_preprocessed)
        ctl.worker.side_failed.connect(self._on_side_failed)  # a method, so it runs on this (the UI) thread
        self.errors.retry_requested.connect(self.retry_preprocess)
        self.prompt_panel.model_picker.answered.connect(self._on_model_answer)  # after the panel's: the size is set

    # -- runs ----------------------------------------------------------------------------------------
    def generate(self) -> None:
        """Snapshot the document now; the worker renders control images and runs from the snapshot."""
        state = self.document.snapshot()
        seed = random.randint(0, SEED_MAX) if state.settings.random_seed else state.settings.seed
        self.prompt_panel.remember_seed(seed)
        self._run_state = state
        self.preprocess_requests.forget_failures()  # the run preprocesses its layers itself, and says if that fails
        self.controller.start(self._recipe_maker(state, seed))

    def _recipe_maker(self, state: DocState, seed: int) -> SnapshotRecipe:
        """How the worker builds a recipe from the snapshot: the control images are rendered there."""
        lora_dir = Path(self.app_settings.lora_folder) if self.app_settings.lora_folder else None
        return SnapshotRecipe(state, seed, lora_dir)

    def cancel(self) -> None:
        """Stops the run and any preprocessing or pose detection (with its download); the document is untouched."""
        self.live_timer.stop()
        self.controller.cancel()
        self.controller.cancel_side()
        self.preprocess_requests.cancelled()  # not asked for again until its layer changes or the user asks
        self.hide_download()

    def set_live(self, on: bool) -> None:
        self.app_settings.live = on
        if on:
            self.live_timer.start()
        else:
            self.live_timer.stop()

    def document_changed(self, reason: str) -> None:
        """In Live mode an edit starts a run once the user pauses (a result arriving is no edit)."""
        if reason != "history" and self.pane.live_check.isChecked():
            self.live_timer.start()

    def document_taken(self) -> None:
        self._run_state = None

    def choose_lora_folder(self) -> None:
        """The folder `<lora:name:weight>` in a prompt looks in, as in A1111 (kept in the app's settings)."""
        folder = self._dialogs().open_folder("Choose the LoRA folder")
        if folder:
            self.app_settings.lora_folder = str(Path(folder).resolve())
            self.status.show(f"<lora:name> in a prompt now looks in {self.app_settings.lora_folder}")

    def _on_result(self, result: GenerationResult) -> None:
        """The worker made the image, its PNG and the recipe's dict: here they are only stored and shown."""
        self.results.add(result.image, result.recipe_dict, result.png)
        for layer in (self._run_state.layers if self._run_state is not None else ()):
            if isinstance(layer, ImageLayer) and self.preprocess_requests.is_network(layer):
                self.layer_image_changed.emit(layer.id)  # the run's preprocessing is cached now: show it
        r = result.recipe
        self.pane.show_result(result.image, f"seed {r.seed} · {r.steps} steps · {result.seconds:.1f} s")
        self.pane.error_bar.dismiss()  # the run worked: whatever failed before is over
        for notice in result.notices:
            self.status.show(notice, 10000)
        if result.model is not None:
            self.prompt_panel.model_picker.learn(r.base_model, result.model)

    def _on_run_failed(self, error: RunError) -> None:
        self.pane.show_stopped("failed")
        if self._warming() and self._warm_auto:  # nobody asked for it: the next Generate shows the fault in full
            self.status.show(f"Could not prepare the model: {error.message}", 15000)
            return
        self.errors.show_run_failure(error, self._run_state or self.document.snapshot())

    # -- warm-up ---------------------------------------------------------------------------------------
    def prepare_for_size(self, _checked: bool = False, auto: bool = False) -> None:
        """Load and compile for the document's size and layers now (minutes on a CPU), so the next Generate
        starts at once. Never over a run: cancelling the user's image to prepare for the next one is wrong."""
        if self.controller.running and not self._warming():  # a warm-up is superseded: it prepares what is not used
            if not auto:
                self.status.show("A run is in progress: prepare once it has finished", 6000)
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
        if by_pick and info is not None and self._compiling() and not self.pane.live_check.isChecked():
            self.prepare_for_size(auto=True)

    def _warming(self) -> bool:
        """Whether the controller's latest job is a warm-up (a Generate after it is a job of its own)."""
        return self._warm_job != 0 and self.controller.current_job == self._warm_job

    def _on_warmed(self, compiled: int, seconds: float) -> None:
        """A warm-up's end; one for a base model the document no longer uses says nothing (it is not ready)."""
        if self._warm_base != self.document.settings.base_model:
            self.pane.show_stopped("idle")
            return
        self.pane.show_stopped("ready")
        width, height = self._warm_size
        self.status.show(f"Ready: optimised for {width} x {height} in {seconds:.0f} s" if compiled
                         else "Model loaded", 15000)

    # -- preprocessing on the worker ---------------------------------------------------------------------
    # A network preprocessor runs on the worker thread, asked for by `preprocess_requests` only when what the
    # layer's control image is made of changes; the canvas shows the photo meanwhile.
    def _on_preprocessed(self, layer_id: str) -> None:
        self.hide_download()  # a preprocessor network that downloaded for it is done
        self.preprocess_requests.done(layer_id)
        self.layer_image_changed.emit(layer_id)

    def retry_preprocess(self, _index: int = 0) -> None:
        """The selected layer's preprocessor picked again (or Try again): a failed or cancelled request
        is made once more; a layer whose preprocessing is fine or under way is left alone."""
        layer_id = self.document.editor.selected_layer_id
        if layer_id is not None and self.preprocess_requests.retry(layer_id):
            self.pane.error_bar.dismiss()

    def _on_side_failed(self, failure: SideFailure) -> None:
        """Not asked for again with the same photo and settings until the user asks."""
        self.hide_download()
        if failure.what == "preprocessing":
            self.preprocess_requests.failed(failure.layer, failure.width, failure.height)
        self.errors.show_side_failure(failure)

    # -- downloads ------------------------------------------------------------------------------------------
    def _show_download(self, done: int, total: int, speed: float) -> None:
        if self.download_dialog is None:
            self.download_dialog = DownloadDialog(self.window)
            self.download_dialog.canceled.connect(self.cancel)
        self.download_dialog.show_progress(done, total, speed)

    def hide_download(self) -> None:
        if self.download_dialog is not None:
            self.download_dialog.hide()
