"""Generation on a QThread: the worker runs the engine; the controller keeps the UI safe.

Every signal carries a job id. The controller forwards only the current job's signals, so a
cancelled or superseded job can never reach the widgets (Orange3's rule). The UI thread never
waits on the worker, except at shutdown, after cancelling.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, SignalInstance, Slot
from PySide6.QtGui import QImage

from desktop.domain.errors import Cancelled, RunError, StudioError
from desktop.domain.family import ModelInfo
from desktop.domain.recipe import Recipe

from .qimage_arrays import to_qimage

log = logging.getLogger(__name__)
GIL_TURN_S = 0.001  # how long a thread may hold the GIL while another waits for it (the interpreter default: 0.005)


@dataclass
class GenerationResult:
    """A finished run, made ready on the worker thread: the UI thread only stores and shows it."""

    image: QImage
    png: bytes  # the result PNG with its `parameters` text; `result_png.with_recipe` adds the recipe for an export
    recipe: Recipe
    recipe_dict: dict[str, Any]  # `recipe.to_dict(embed_images=True)`: what the history keeps
    notices: list[str]
    seconds: float
    model: ModelInfo | None = None  # what the base model turned out to be, once loaded


@dataclass(frozen=True)
class SideFailure:
    """A side request (a layer's preprocessing, pose detection) that failed: which layer, as it was asked
    for (its copy and the size), and the error's type and fields."""

    what: str  # "preprocessing", "pose detection"
    layer: Any  # the layer's copy the request ran on
    width: int
    height: int
    error: RunError


class SnapshotRecipe:
    """How the worker builds a recipe from a document snapshot, called on the worker thread: the control
    images and masks of drawn layers are rendered there, off the UI thread, and encoded once (the recipe
    the result PNG carries embeds them); the render takes their pixels as they are, never decoding them.
    Called, it is the recipe alone (as any recipe maker)."""

    def __init__(self, state, seed: int, lora_dir: Path | None = None) -> None:
        self.state = state  # a DocState: frozen, with copies of the layers
        self.seed = seed
        self.lora_dir = lora_dir

    def __call__(self) -> Recipe:
        return self.prepared()[0]

    def prepared(self) -> tuple[Recipe, dict[bytes, np.ndarray]]:
        """The recipe and the pixels behind the PNG bytes made for it, by those bytes."""
        from desktop.conditions.image_io import encode_png
        from desktop.conditions.layer_images import control_image, inpaint_mask, region_mask
        from desktop.domain.document import build_recipe, is_layer_empty
        from desktop.domain.layers import ImageLayer

        width, height = self.state.settings.width, self.state.settings.height
        known: dict[bytes, np.ndarray] = {}

        def encoded(pixels: np.ndarray) -> bytes:
            data = encode_png(pixels)
            known[data] = np.array(pixels, copy=True)  # its own copy: a raster may be a shared, read-only cache entry
            return data

        layers = [layer for layer in self.state.layers if layer.enabled]
        controls = {layer.id: layer.png if isinstance(layer, ImageLayer) else encoded(control_image(layer, width, height))
                    for layer in layers if not is_layer_empty(layer)}
        masks = {layer.id: encoded(inpaint_mask(layer, width, height)) for layer in layers
                 if isinstance(layer, ImageLayer) and layer.paints_mask and layer.mask_operations}
        regions = {layer.id: encoded(region_mask(layer, width, height)) for layer in layers if layer.region_operations}
        recipe = build_recipe(self.state, controls, self.seed, masks, regions)
        return recipe.with_overrides(lora_dir=self.lora_dir), known  # where <lora:name> in the prompt looks


def _made(recipe_source) -> tuple[Recipe, dict[bytes, np.ndarray] | None]:
    """The recipe a job runs (made here, on the worker thread) and the pixels already known behind its images."""
    if hasattr(recipe_source, "prepared"):
        return recipe_source.prepared()
    return (recipe_source() if callable(recipe_source) else recipe_source), None


class GenerationWorker(QObject):
    """Lives on the worker thread; owns the model cache so models stay loaded between runs."""

    preview = Signal(int, int, int, QImage)  # job, step, total, image
    progress = Signal(int, int, int)  # job, step, total
    status = Signal(int, str)  # job, what is happening (loading a model...)
    download = Signal(int, int, int)  # job, bytes done, bytes total
    finished = Signal(int, object)  # job, GenerationResult
    warmed = Signal(int, int, float)  # job, graphs compiled, seconds (a warm-up's end)
    failed = Signal(int, object)  # job, RunError: the error's type and fields, not only its text
    cancelled = Signal(int)
    device_ready = Signal(str)
    preprocessed = Signal(str)  # layer id whose control image is now cached
    people_found = Signal(object, str)  # list of Person, source layer name
    side_failed = Signal(object)  # SideFailure: a preprocess or pose detection request failed
    side_download = Signal(int, int)  # bytes done, bytes total: a side request's preprocessor network downloading

    def __init__(self, device_name: str = "auto", precision: str = "auto", compile_models: bool = True) -> None:
        super().__init__()
        self._device_name = device_name
        self._precision = precision
        self._compile = compile_models
        self._cache = None
        self.preview_every = 1
        self.sharp_every = 0

    def _model_cache(self):
        if self._cache is None:
            from desktop.engine.compile_cache import compile_cache_dir
            from desktop.engine.device import choose_device
            from desktop.engine.fast_path import FastPathOptions
            from desktop.engine.model_cache import ModelCache

            choice = choose_device(self._device_name, self._precision)
            self._cache = ModelCache(choice, FastPathOptions(compile=self._compile, cache_dir=compile_cache_dir()))
            self.device_ready.emit(choice.label)
        return self._cache

    @Slot(str, bool)
    def configure(self, precision: str, compile_models: bool) -> None:
        """New precision or compile setting: the models load again, laid out for it, on the next run."""
        if (precision, compile_models) != (self._precision, self._compile):
            self._precision, self._compile = precision, compile_models
            if self._cache is not None:
                self._cache.close()  # freed now, not at some later garbage collection
            self._cache = None

    @Slot(int, object, object)
    def run(self, job_id: int, recipe_source, token) -> None:
        """`recipe_source` is a Recipe, or a callable building one from a document snapshot
        (control images are rendered here, off the UI thread)."""
        if token.cancelled:
            self.cancelled.emit(job_id)
            return
        with self._job_edge(job_id):
            from desktop.engine.render import PreviewSettings, render

            recipe, known = _made(recipe_source)
            self.status.emit(job_id, "loading models")
            cache = self._model_cache()

            def on_step(update) -> None:
                self.progress.emit(job_id, update.step, update.total)
                if update.preview is not None:
                    self.preview.emit(job_id, update.step, update.total, to_qimage(update.preview))

            previews = PreviewSettings(self.preview_every, self.sharp_every)
            result = render(cache, recipe, on_step=on_step, cancel=token, previews=previews,
                            progress=self._download_progress(job_id, token),
                            on_status=lambda text: self.status.emit(job_id, text), known=known)
            self.finished.emit(job_id, finished_result(result))

    @Slot(int, object, object)
    def warm_up(self, job_id: int, recipe_source, token) -> None:
        """Load the models and compile what running `recipe_source` will need, without sampling: the
        minutes of optimising are spent now, not in the user's next Generate. Ends with `warmed`."""
        if token.cancelled:
            self.cancelled.emit(job_id)
            return
        with self._job_edge(job_id):
            from desktop.engine import render

            started = time.perf_counter()
            recipe, known = _made(recipe_source)
            self.status.emit(job_id, "loading models")
            compiled = render.warm_up(self._model_cache(), recipe, cancel=token,
                                      progress=self._download_progress(job_id, token),
                                      on_status=lambda text: self.status.emit(job_id, text), known=known)
            self.warmed.emit(job_id, compiled, time.perf_counter() - started)

    def _download_progress(self, job_id: int, token) -> Callable[[int, int], None]:
        """Told of each downloaded chunk: reports it, and is where a cancelled download stops."""
        def on_download(done: int, total: int) -> None:
            if token.cancelled:
                raise Cancelled()
            self.download.emit(job_id, done, total)
        return on_download

    @contextmanager
    def _job_edge(self, job_id: int):
        """The edge of a job: it ends cancelled or failed with one typed error (a RunError), never a dead thread."""
        try:
            yield
        except Cancelled:
            self.cancelled.emit(job_id)
        except StudioError as err:
            log.warning("job %d failed: %s | %s", job_id, err, err.detail)
            self.failed.emit(job_id, RunError.from_error(err))
        except Exception as err:  # noqa: BLE001 - the worker's edge: never let an error kill the thread
            log.exception("job %d crashed", job_id)
            self.failed.emit(job_id, RunError.from_error(err))

    @Slot(object, int, int, object)
    def preprocess(self, layer, width: int, height: int, token=None) -> None:
        """Run an image layer's (network) preprocessor here, off the UI thread, filling the cache."""
        from desktop.conditions.layer_images import control_image

        with self._side_edge("preprocessing", token, layer, width, height) as go_on:
            if go_on:
                control_image(layer, width, height)
                self.preprocessed.emit(layer.id)

    @Slot(object, int, int, object)
    def detect_pose(self, layer, width: int, height: int, token=None) -> None:
        """People in an image layer's photo, in canvas pixels, for a new editable pose layer."""
        from desktop.conditions.image_io import read_image
        from desktop.conditions.prepare import NETWORKS, fit_image
        from desktop.conditions.preprocessors import get_preprocessor
        from desktop.conditions.preprocessors.neural import detect_people

        with self._side_edge("pose detection", token, layer, width, height) as go_on:
            if go_on:
                params = get_preprocessor("pose").checked_params(
                    {k: v for k, v in layer.params.items() if layer.preprocessor == "pose"})
                photo = fit_image(read_image(layer.png), width, height, layer.resize_mode)
                people = detect_people(photo, NETWORKS, params["detector"], params["pose_model"],
                                       params["box_threshold"], params["keypoint_threshold"])
                self.people_found.emit(people, layer.name)

    @contextmanager
    def _side_edge(self, what: str, token, layer, width: int, height: int):
        """The edge of a side request, which runs outside any job: a network it downloads reports to
        `side_download` and stops (silently) once `token` is cancelled; a failure becomes one SideFailure
        naming the layer, never a dead thread. Yields False when the request was cancelled before it started."""
        from desktop.conditions.preprocessors.networks import reporting_downloads

        def on_download(done: int, total: int) -> None:
            if token is not None and token.cancelled:
                raise Cancelled()
            self.side_download.emit(done, total)

        try:
            with reporting_downloads(on_download):
                yield token is None or not token.cancelled
        except Cancelled:
            log.info("%s cancelled", what)
        except StudioError as err:
            log.info("%s of %s failed: %s", what, layer.name, err)
            self.side_failed.emit(SideFailure(what, layer, width, height, RunError.from_error(err)))
        except Exception as err:  # noqa: BLE001 - the worker's edge
            log.exception("%s failed", what)
            error = RunError.from_error(err)
            error = RunError(error.kind, f"{what} failed: {err}", detail=error.detail, kinds=error.kinds)
            self.side_failed.emit(SideFailure(what, layer, width, height, error))


def finished_result(result) -> GenerationResult:
    """A render's result as the UI takes it, made here on the worker thread: the image to show, the recipe's
    dict and the PNG (with its `parameters` text, not a second copy of the recipe: the history item keeps the
    dict, and an export puts it back), encoded straight from the sampler's pixels."""
    from desktop.conditions import result_png

    recipe_dict = result.recipe.to_dict(embed_images=True)
    png = result_png.png_bytes(result.image, result.recipe, recipe_dict=recipe_dict, embed_recipe=False)
    return GenerationResult(to_qimage(result.image), png, result.recipe, recipe_dict, result.notices,
                            result.seconds, result.model)


class GenerationController(QObject):
    """UI-thread side: starts jobs, cancels, filters stale signals, shuts the thread down."""

    preview_ready = Signal(int, int, QImage)  # step, total, image
    progress_changed = Signal(int, int, float)  # step, total, seconds left
    status_changed = Signal(str)
    download_progress = Signal(int, int, float)  # bytes done, bytes total, bytes per second
    result_ready = Signal(object)  # GenerationResult
    warm_done = Signal(int, float)  # graphs compiled, seconds: a warm-up finished
    run_failed = Signal(object)  # RunError: the UI shows it where it happened, with its action
    error = Signal(str, str)  # kind, message: the same failure as text, after run_failed (for the bench and scripts)
    run_cancelled = Signal()
    busy_changed = Signal(bool)
    device_ready = Signal(str)
    _submit = Signal(int, object, object)
    _submit_warm_up = Signal(int, object, object)
    _preprocess = Signal(object, int, int, object)
    _detect_pose = Signal(object, int, int, object)

    def __init__(self, device_name: str = "auto", parent: QObject | None = None, precision: str = "auto",
                 compile_models: bool = True) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("generation")
        self.worker = GenerationWorker(device_name, precision, compile_models)
        self.worker.moveToThread(self._thread)
        self._submit.connect(self.worker.run)
        self._submit_warm_up.connect(self.worker.warm_up)
        self._preprocess.connect(self.worker.preprocess)
        self._detect_pose.connect(self.worker.detect_pose)
        self.worker.preview.connect(self._on_preview)
        self.worker.progress.connect(self._on_progress)
        self.worker.status.connect(self._on_status)
        self.worker.download.connect(self._on_download)
        self.worker.finished.connect(self._on_finished)
        self.worker.warmed.connect(self._on_warmed)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.device_ready.connect(self.device_ready)
        self.worker.side_download.connect(self._on_side_download)
        for ended in (self.worker.preprocessed, self.worker.people_found, self.worker.side_failed):
            ended.connect(self._on_side_ended)
        # The worker runs Python between its tensor operations: with the interpreter's default 5 ms turns, each
        # callback of a UI event could wait that long for the GIL; with 1 ms turns dragging a slider during a
        # 256 px run stalls 22-23 ms at most instead of 25-35 ms, at no measurable cost to the run.
        sys.setswitchinterval(GIL_TURN_S)
        self._thread.start()
        self._job = 0
        self._token = None
        self._side_token = None  # shared by side requests until cancelled (Cancel drops those still queued)
        self._side_first: tuple[int, float] | None = None  # a side download's first report: speed is timed from it
        self._side_last = 0
        self._started = 0.0
        self._first_step: tuple[int, float] | None = None  # the first step seen and when: the pace is timed from it
        self.running = False

    @property
    def current_job(self) -> int:
        return self._job

    def start(self, recipe: Recipe | Callable[[], Recipe]) -> int:
        """Start a job on a recipe snapshot (or a maker of one); a running job is cancelled first."""
        return self._begin(self._submit, recipe)

    def warm_up(self, recipe: Recipe | Callable[[], Recipe]) -> int:
        """Load and compile what running `recipe` needs, as a job like a run: busy meanwhile, ended by
        `warm_done`, and cancelled by Cancel or by the next `start`."""
        return self._begin(self._submit_warm_up, recipe)

    def _begin(self, submit: SignalInstance, recipe: Recipe | Callable[[], Recipe]) -> int:
        from desktop.engine.cancel import CancelToken

        if self._token is not None:
            self._token.cancel()
        self._job += 1
        self._token = CancelToken()
        self._started = time.perf_counter()
        self._first_step = None
        self._set_running(True)
        submit.emit(self._job, recipe, self._token)
        return self._job

    def request_preprocess(self, layer, width: int, height: int) -> None:
        self._preprocess.emit(layer, width, height, self._side_request_token())

    def request_pose_detection(self, layer, width: int, height: int) -> None:
        self._detect_pose.emit(layer, width, height, self._side_request_token())

    def _side_request_token(self):
        """The side requests' token; a fresh one after a cancel, so only requests made before it stop."""
        from desktop.engine.cancel import CancelToken

        if self._side_token is None or self._side_token.cancelled:
            self._side_token = CancelToken()
            self._side_first = None
        return self._side_token

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
        if self.running:
            self._set_running(False)
            self.run_cancelled.emit()

    def cancel_side(self) -> None:
        """Stop the side requests made so far: a download in progress ends at its next chunk, queued ones
        do not start. Nothing is reported: a cancel is not an error."""
        if self._side_token is not None:
            self._side_token.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel, stop the thread and join it. True when the thread is gone."""
        self.cancel_side()  # a side download would otherwise hold the thread for minutes
        if self._token is not None:
            self._token.cancel()
        self._job += 1
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.busy_changed.emit(running)

    def _current(self, job: int) -> bool:
        return job == self._job and self.running

    @Slot(int, int, int, QImage)
    def _on_preview(self, job: int, step: int, total: int, image: QImage) -> None:
        if self._current(job):
            self.preview_ready.emit(step, total, image)

    @Slot(int, int, int)
    def _on_progress(self, job: int, step: int, total: int) -> None:
        """Seconds left from the pace of the steps after the first: the first may include minutes of
        loading or optimising; until a second step has run, the time left is unknown (-1)."""
        if self._current(job):
            now = time.perf_counter()
            if self._first_step is None:
                self._first_step = (step, now)
            first, at = self._first_step
            left = (now - at) / (step - first) * (total - step) if step > first else -1.0
            self.progress_changed.emit(step, total, left)

    @Slot(int, str)
    def _on_status(self, job: int, text: str) -> None:
        if self._current(job):
            self.status_changed.emit(text)

    @Slot(int, int, int)
    def _on_download(self, job: int, done: int, total: int) -> None:
        if self._current(job):
            elapsed = max(1e-6, time.perf_counter() - self._started)
            self.download_progress.emit(done, total, done / elapsed)

    @Slot(int, int)
    def _on_side_download(self, done: int, total: int) -> None:
        """A side request's download, forwarded like a job's; chunks still on their way after a cancel are
        dropped, so the dialog does not come back. Its speed is timed from its first report, since the request may have waited behind a run; a count
        that goes back is the next file or network, timed afresh."""
        if self._side_token is None or self._side_token.cancelled:
            return
        now = time.perf_counter()
        if self._side_first is None or done < self._side_last:
            self._side_first = (done, now)
        self._side_last = done
        first_done, at = self._side_first
        speed = (done - first_done) / (now - at) if now > at else 0.0
        self.download_progress.emit(done, total, speed)

    def _on_side_ended(self, *_outcome) -> None:
        """A side request is over (whatever it found): the next download is timed from its own start."""
        self._side_first = None

    @Slot(int, object)
    def _on_finished(self, job: int, result: GenerationResult) -> None:
        if self._current(job):
            self._set_running(False)
            self.result_ready.emit(result)

    @Slot(int, int, float)
    def _on_warmed(self, job: int, compiled: int, seconds: float) -> None:
        if self._current(job):
            self._set_running(False)
            self.warm_done.emit(compiled, seconds)

    @Slot(int, object)
    def _on_failed(self, job: int, error: RunError) -> None:
        if self._current(job):
            self._set_running(False)
            self.run_failed.emit(error)
            self.error.emit(error.kind, error.message)

    @Slot(int)
    def _on_cancelled(self, job: int) -> None:
        if self._current(job):
            self._set_running(False)
            self.run_cancelled.emit()
