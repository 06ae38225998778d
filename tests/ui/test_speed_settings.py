"""The speed settings a user picks in the Tools menu (compile, precision), the command line's
overrides of them, and the preview pane while a model is optimised."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtWidgets import QApplication

from desktop.domain.app_settings import AppSettings, load_settings, save_settings
from desktop.ui.paths import settings_file

from .conftest import FakeDialogs

OPTIMISING = "optimising the model for 512 x 512 (once per size and set of layers; later runs start at once)"


def _saved() -> AppSettings:
    return load_settings(settings_file()).settings


def _checked_precision(window) -> list[str]:
    return [choice for choice, action in window.speed.precision_actions.items() if action.isChecked()]


def test_turning_optimise_models_off_reaches_the_worker_and_is_saved(window, qtbot):
    assert window.speed.compile_action.isChecked() and window.controller.worker._compile
    window.speed.compile_action.trigger()
    assert not window.speed.compile_action.isChecked() and window.app_settings.compile is False
    qtbot.waitUntil(lambda: window.controller.worker._compile is False)
    assert "load again on the next run" in window.statusBar().currentMessage()
    window.close_without_asking(keep_recovery=False)
    assert _saved().compile is False


def test_a_precision_picked_in_the_menu_reaches_the_worker_the_label_and_the_file(window, qtbot):
    assert _checked_precision(window) == ["auto"]
    window.speed.precision_actions["bfloat16"].trigger()
    assert _checked_precision(window) == ["bfloat16"] and window.app_settings.precision == "bfloat16"
    assert window.status_line.device_label.text() == "device: cpu (bfloat16)"
    assert window.statusBar().currentMessage() == "Precision bfloat16: the models load again in it on the next run"
    qtbot.waitUntil(lambda: window.controller.worker._precision == "bfloat16")
    window.close_without_asking(keep_recovery=False)
    assert _saved().precision == "bfloat16"


def test_the_next_run_loads_the_models_again_in_the_new_precision(window, qtbot):
    def run_in(precision: str):
        window.speed.precision_actions[precision].trigger()
        with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
            window.runs.generate()
        return window.controller.worker._cache

    first = run_in("bfloat16")
    assert str(first.device.dtype) == "torch.bfloat16"
    second = run_in("float32")
    assert second is not first and str(second.device.dtype) == "torch.float32"
    assert window.status_line.device_label.text() == "device: cpu (float32)"  # told by the worker as it made its cache
    assert window.dialogs.errors == []


def test_float16_on_the_cpu_is_refused_and_the_menu_keeps_the_old_choice(window, qtbot):
    """The window runs on the CPU (device="cpu"), whatever GPU the machine has."""
    window.speed.precision_actions["float32"].trigger()
    qtbot.waitUntil(lambda: window.controller.worker._precision == "float32")
    label = window.status_line.device_label.text()
    window.speed.precision_actions["float16"].trigger()
    assert _checked_precision(window) == ["float32"]
    assert window.app_settings.precision == "float32" and window.speed.precision == "float32"
    assert window.status_line.device_label.text() == label == "device: cpu (float32)"
    assert window.statusBar().currentMessage() == (
        "Precision stays float32: float16 is not supported on the CPU; use bfloat16 or float32")
    qtbot.wait(100)  # anything sent to the worker would have arrived
    assert window.controller.worker._precision == "float32"


def test_command_line_overrides_hold_for_the_session_and_are_not_saved(qtbot):
    from desktop.ui.launch import build_window

    save_settings(AppSettings(precision="float32", compile=True), settings_file())
    window = build_window("cpu", "bfloat16", False)
    window.dialogs = FakeDialogs()
    qtbot.addWidget(window)
    try:
        assert _checked_precision(window) == ["bfloat16"] and not window.speed.compile_action.isChecked()
        assert (window.controller.worker._precision, window.controller.worker._compile) == ("bfloat16", False)
        assert window.status_line.device_label.text() == "device: cpu (bfloat16)"
    finally:
        window.close_without_asking(keep_recovery=False)
    saved = _saved()
    assert (saved.precision, saved.compile) == ("float32", True)


def test_the_app_started_with_precision_and_no_compile_uses_them(qtbot, monkeypatch, tmp_path):
    """Through the command line's parser and launch_app, as `main.py --precision … --no-compile` starts."""
    from desktop.cli import build_parser
    from desktop.ui import launch

    save_settings(AppSettings(precision="auto", compile=True), settings_file())
    built = []
    original = launch.build_window

    def recording(*args):
        built.append(original(*args))
        return built[-1]

    monkeypatch.setattr(launch, "build_window", recording)
    app = QApplication.instance()
    monkeypatch.setattr(launch, "create_app", lambda: app)  # the test's app, unthemed
    # Its window closing inside exec() would post a Quit that ends every later test's event loop at once.
    app.setQuitOnLastWindowClosed(False)
    args = build_parser().parse_args(["app", "--device", "cpu", "--precision", "float32", "--no-compile",
                                      "--screenshot", str(tmp_path / "shot.png"), "--quit"])
    try:
        assert launch.launch_app(args) == 0
    finally:
        app.setQuitOnLastWindowClosed(True)
    window = built[0]
    assert (window.speed.precision, window.speed.compile_models) == ("float32", False)
    assert (window.controller.worker._precision, window.controller.worker._compile) == ("float32", False)
    saved = _saved()
    assert (saved.precision, saved.compile) == ("auto", True)


def test_the_preview_pane_shows_optimising_with_a_busy_bar_until_the_first_step(window):
    pane = window.preview_pane
    window.controller.status_changed.emit(OPTIMISING)  # as the worker tells it, before a step that compiles
    assert pane.status_label.isVisible() and pane.status_label.text() == OPTIMISING
    assert (pane.progress.minimum(), pane.progress.maximum()) == (0, 0)
    window.controller.progress_changed.emit(1, 20, 42.0)
    assert not pane.status_label.isVisible()
    assert (pane.progress.maximum(), pane.progress.value()) == (20, 1)
    assert pane.progress.format() == "step 1/20 · 42 s left"


def test_time_left_is_paced_by_the_steps_after_the_first(window, monkeypatch):
    """The first step may hold minutes of optimising: timing from the start would promise an hour."""
    import desktop.workers.generation as generation

    clock = iter([100.0, 400.0, 402.0, 404.0])  # start; step 1 after 300 s of compiling; then 2 s a step
    monkeypatch.setattr(generation, "time", SimpleNamespace(perf_counter=lambda: next(clock)))  # this module's clock only
    controller, pane, shown = window.controller, window.preview_pane, []
    controller.progress_changed.connect(lambda step, total, left: shown.append((step, left)))
    monkeypatch.setattr(controller, "_submit", type("Quiet", (), {"emit": lambda *args: None})())
    job = controller.start(lambda: None)
    for step in (1, 2, 3):
        controller._on_progress(job, step, 20)
    assert shown == [(1, -1.0), (2, 36.0), (3, 34.0)]
    assert pane.progress.format() == "step 3/20 · 34 s left"
    controller.cancel()


def test_the_first_step_shows_no_time_left_yet(window):
    window.controller.progress_changed.emit(1, 20, -1.0)
    assert window.preview_pane.progress.format() == "step 1/20"


def _compiling_worker(monkeypatch) -> None:
    """The worker's fast path compiles the tiny models, with dynamo's "eager" backend (counted as inductor
    would be handed them, without a C++ toolchain or minutes of compiling)."""
    import functools

    import torch

    from desktop.engine import fast_path

    torch._dynamo.reset()
    monkeypatch.setattr(fast_path, "FastPathOptions",
                        functools.partial(fast_path.FastPathOptions, backend="eager", min_parameters=0))


def test_prepare_for_this_size_compiles_now_so_the_next_generate_compiles_nothing(window, qtbot, monkeypatch):
    import torch

    _compiling_worker(monkeypatch)
    statuses: list[str] = []
    window.controller.status_changed.connect(statuses.append)
    try:
        with qtbot.waitSignal(window.controller.warm_done, timeout=120000) as done:
            window.prepare_action.trigger()
        compiled, seconds = done.args
        assert compiled > 0 and seconds > 0
        assert window.statusBar().currentMessage().startswith("Ready: optimised for 64 x 64 in ")
        assert statuses[0] == "loading models" and statuses[-1].startswith("optimising the model for 64 x 64")
        assert not window.controller.running
        assert window.preview_pane.generate_button.isEnabled() and not window.preview_pane.cancel_button.isEnabled()
        fast = window.controller.worker._cache.fast
        before = fast.compiles
        statuses.clear()
        with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
            window.preview_pane.generate_button.click()
        assert fast.compiles == before  # everything the run called was compiled by the warm-up
        assert not any(text.startswith("optimising") for text in statuses)
        assert window.dialogs.errors == []
    finally:
        torch._dynamo.reset()


def test_cancel_during_prepare_leaves_the_window_idle(window, qtbot, monkeypatch):
    import torch

    _compiling_worker(monkeypatch)
    ended: list[str] = []
    worker = window.controller.worker
    worker.warmed.connect(lambda *args: ended.append("warmed"))
    worker.cancelled.connect(lambda *args: ended.append("cancelled"))
    warm_done: list = []
    window.controller.warm_done.connect(lambda *args: warm_done.append(args))
    try:
        window.runs.prepare_for_size()
        assert window.controller.running and window.preview_pane.cancel_button.isEnabled()
        window.runs.cancel()
        assert not window.controller.running and not window.preview_pane.cancel_button.isEnabled()
        assert window.preview_pane.progress.format() == "cancelled"
        qtbot.waitUntil(lambda: bool(ended), timeout=120000)  # the worker is done, one way or the other
        qtbot.wait(100)  # whatever it said has reached the controller
        assert warm_done == []  # a cancelled warm-up never reaches the window
        assert not window.statusBar().currentMessage().startswith("Ready")
        assert window.dialogs.errors == []
    finally:
        torch._dynamo.reset()


def test_picking_a_model_prepares_it_only_when_optimising_is_on_and_live_is_off(window, tiny_models, monkeypatch):
    from desktop.engine.model_peek import peek_base_info

    started: list = []
    monkeypatch.setattr(window.controller, "warm_up", lambda recipe: started.append(recipe()) or 7)
    reference = str(tiny_models.base)
    info = peek_base_info(reference)
    answered = window.prompt_panel.model_picker.answered
    answered.emit(reference, info, False)  # shown, not picked (a project opened): nothing starts
    assert started == []
    answered.emit(reference, info, True)
    assert len(started) == 1 and started[0].base_model == reference and (started[0].width, started[0].height) == (64, 64)
    window.preview_pane.live_check.setChecked(True)
    answered.emit(reference, info, True)
    window.preview_pane.live_check.setChecked(False)
    window.speed.compile_action.trigger()  # optimising off
    answered.emit(reference, info, True)
    assert len(started) == 1
