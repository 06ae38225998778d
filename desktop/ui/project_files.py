"""File > New, Open, Open Recent, Save, Save As; the recovery file kept while work is unsaved; the title.

A document taken (new, opened, recovered) replaces the window's document in place; `on_taken` then
lets the panes that show it follow, without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMenu, QWidget

from desktop.domain.app_settings import AppSettings
from desktop.domain.document import Document
from desktop.domain.errors import InvalidProject
from desktop.domain.project import PROJECT_SUFFIX, LoadedProject, load_project, save_project

from .dialogs import Dialogs
from .example import example_document
from .opening import leave_out_unreadable_images, leave_out_unreadable_results, models_sentence
from .recovery import RecoveredWork, RecoveryFile, UnsavedWork
from .recovery_writer import RecoveryWriter
from .status_line import StatusLine

AUTOSAVE_MS = 20_000
PROJECT_FILTER = f"ControlNet Studio project (*{PROJECT_SUFFIX})"


class ProjectFiles(QObject):
    def __init__(self, window: QWidget, document: Document, app_settings: AppSettings, dialogs: Callable[[], Dialogs],
                 status: StatusLine, recovery: RecoveryFile, on_taken: Callable[[list[QImage]], None]) -> None:
        """`on_taken(thumbnails)`: a new document is shown; called, not signalled, so a fault in showing
        it reaches the caller (an open that half-showed a project must not report success)."""
        super().__init__(window)
        self.window = window
        self.document = document
        self.app_settings = app_settings
        self._dialogs = dialogs  # asked each time: a test or a scripted run replaces them
        self.status = status
        self.recovery = RecoveryWriter(recovery)
        self._on_taken = on_taken
        self.project_path: Path | None = None
        self.recent_menu: QMenu | None = None
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_MS, timeout=self.autosave)
        self.autosave_timer.start()

    @property
    def name(self) -> str:
        return self.project_path.name if self.project_path else "Untitled"

    def new_document(self, ask: bool = True, example: bool = True) -> None:
        if ask and not self.may_discard():
            return
        self.take(example_document() if example else Document(), None)

    def open_dialog(self) -> None:
        path = self._dialogs().open_file("Open project", PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        if ask and not self.may_discard():
            return False
        try:
            loaded = load_project(path)
        except InvalidProject as err:
            self._dialogs().error("Cannot open project", str(err))
            return False
        self._show_loaded(loaded, Path(path))
        self.app_settings.add_recent(str(Path(path).resolve()))
        self.refresh_recent()
        return True

    def restore_recovered(self, work: RecoveredWork, file: RecoveryFile) -> None:
        """Restored work stays unsaved and keeps the project file it came from (the title shows
        it, Save writes there); its recovery file becomes this session's own."""
        self.recovery.adopt(file)
        self._show_loaded(work.loaded, work.project_path)
        self.document.dirty = True
        self.update_title()

    def take(self, other: Document, path: Path | None, thumbnails: list[QImage] | None = None) -> None:
        """Show `other`; `thumbnails` are its results' (an opened project's check made them; a new one has none)."""
        self.document.replace_all(other)
        self.project_path = path
        self._on_taken(list(thumbnails or []))
        self.update_title()

    def _show_loaded(self, loaded: LoadedProject, path: Path | None) -> None:
        """Bad image layers are left out before anything paints; the models it asks for are
        named before anything loads; problems are told in one message."""
        leave_out_unreadable_images(loaded)
        thumbnails = leave_out_unreadable_results(loaded)
        models = models_sentence(loaded.document)
        if models:
            self.status.show(models, 30000)
        self.take(loaded.document, path, thumbnails)
        if loaded.warnings:
            self._dialogs().info("Project opened with problems", "\n".join(loaded.warnings))

    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self._save_to(self.project_path)

    def save_as(self) -> bool:
        path = self._dialogs().save_file("Save project", PROJECT_FILTER, "untitled" + PROJECT_SUFFIX)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            save_project(self.document, path)
        except OSError as err:
            self._dialogs().error("Cannot save", f"Could not write {path}: {err.strerror or err}")
            return False
        self.project_path = path
        self.document.dirty = False
        self.app_settings.add_recent(str(path.resolve()))
        self.refresh_recent()
        self.update_title()
        self.recovery.drop()
        self.status.show(f"Saved {path.name}", 4000)
        return True

    def autosave(self) -> None:
        """Keep this session's recovery file in step: written while there are unsaved changes
        (atomic, never the project), removed once there are none; both off the UI thread."""
        if self.document.dirty:
            self.recovery.keep(UnsavedWork.of(self.document, self.project_path))
        else:
            self.recovery.drop()

    def may_discard(self) -> bool:
        """Unsaved changes are saved or discarded as the user answers; False: they cancelled."""
        if not self.document.dirty:
            return True
        answer = self._dialogs().ask_save_changes(self.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def close(self, keep_recovery: bool) -> None:
        """The window closes: unsaved work stays in the recovery file for the next start (unless not
        wanted), otherwise the file goes."""
        self.autosave_timer.stop()
        keep = self.document.dirty and keep_recovery
        if keep:
            self.autosave()
        self.recovery.finish(keep)

    def refresh_recent(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        for path in self.app_settings.recent_files:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(self.app_settings.recent_files))

    def update_title(self) -> None:
        self.window.setWindowTitle(f"{self.name}{' •' if self.document.dirty else ''} — ControlNet Studio")
