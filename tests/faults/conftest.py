from tests.ui.conftest import (  # noqa: F401
    FakeDialogs, app_files, no_threads_left, no_timers_left, tiny_document, window,
)
