"""The recovery file is written off the UI thread: an autosave takes a snapshot and returns; the lock,
the JSON and the fsync happen on the writer's thread, in order, the newest waiting write replacing older
ones; closing waits for them."""

from __future__ import annotations

import json
import threading

from desktop.domain.document import Document, GenerationSettings
from desktop.ui.recovery import PROJECT_PATH_KEY, RecoveryFile, UnsavedWork
from desktop.ui import recovery_writer
from desktop.ui.recovery_writer import RecoveryWriter


def _work(prompt: str) -> UnsavedWork:
    return UnsavedWork.of(Document(GenerationSettings(prompt=prompt)), None)


def _prompt_on_disk(file: RecoveryFile) -> str:
    return json.loads(file.path.read_text(encoding="utf-8"))["settings"]["prompt"]


def test_an_autosave_writes_on_another_thread_and_the_ui_thread_moves_on(window, monkeypatch):
    writers: list[threading.Thread] = []
    release = threading.Event()
    original = RecoveryFile.write

    def slow_write(self, work):
        writers.append(threading.current_thread())
        release.wait(10)  # a disk that takes its time: the autosave must not wait for it
        original(self, work)

    monkeypatch.setattr(RecoveryFile, "write", slow_write)
    window.prompt_panel.prompt_edit.setPlainText("drawn while the disk was slow")
    window.files.autosave()  # returns at once although the write is held back
    assert not window.files.recovery.file.path.exists()
    release.set()
    window.files.recovery.flush()
    assert writers and threading.main_thread() not in writers
    assert _prompt_on_disk(window.files.recovery.file) == "drawn while the disk was slow"
    window.close_without_asking(keep_recovery=False)
    assert not window.files.recovery.file.path.exists()


def test_waiting_writes_give_way_to_the_newest_and_a_save_removes_the_file(tmp_path, monkeypatch):
    file = RecoveryFile(tmp_path / "session-1-00000000.cnstudio")
    writer = RecoveryWriter(file)
    first_started, release = threading.Event(), threading.Event()
    written: list[str] = []
    original = RecoveryFile.write

    def held_write(self, work):
        written.append(work.saved.state.settings.prompt)
        first_started.set()
        release.wait(10)
        original(self, work)

    monkeypatch.setattr(RecoveryFile, "write", held_write)
    writer.keep(_work("first"))
    assert first_started.wait(10)
    for prompt in ("second", "third", "newest"):
        writer.keep(_work(prompt))
    release.set()
    writer.flush()
    assert written == ["first", "newest"] and _prompt_on_disk(file) == "newest"
    writer.drop()  # saved: nothing is left unsaved
    writer.flush()
    assert not file.path.exists()
    writer.keep(_work("edited again"))
    writer.finish(keep=True)  # the session ends with unsaved work: the file stays, unlocked, for the next start
    assert _prompt_on_disk(file) == "edited again"
    assert RecoveryFile(file.path).claim()


def test_a_failed_write_is_logged_and_the_next_one_still_happens(tmp_path, monkeypatch):
    file = RecoveryFile(tmp_path / "session-1-00000000.cnstudio")
    writer = RecoveryWriter(file)
    original = RecoveryFile.write
    failures = iter([OSError(28, "No space left on device")])

    def full_disk_once(self, work):
        failure = next(failures, None)
        if failure:
            raise failure
        original(self, work)

    monkeypatch.setattr(RecoveryFile, "write", full_disk_once)
    warnings: list[str] = []  # the module's log itself: heard whatever an earlier test did to logging's setup
    monkeypatch.setattr(recovery_writer.log, "warning", lambda text, *args: warnings.append(text % args))
    writer.keep(_work("lost to a full disk"))
    writer.flush()
    assert any("No space left on device" in text for text in warnings) and not file.path.exists()
    writer.keep(_work("written once there was room"))
    writer.flush()
    assert _prompt_on_disk(file) == "written once there was room"
    assert json.loads(file.path.read_text(encoding="utf-8"))[PROJECT_PATH_KEY] is None
    writer.finish(keep=False)
    assert not file.path.exists()
