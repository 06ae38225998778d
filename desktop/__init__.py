"""ControlNet Studio: a native desktop app for ControlNet."""

import time

__version__ = "0.1.0"
STARTED = time.perf_counter()  # for the start-up report: time to the first painted window
