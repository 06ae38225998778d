"""What several sub-commands share: exit codes, the speed options, count checks, the one-sentence write."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop.domain.errors import InvalidRecipe

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
MAX_THREADS = 1024  # more than any CPU has; torch overflows on numbers past a C int


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    """--precision and --no-compile, the same for the app, render and bench."""
    from desktop.domain.app_settings import PRECISION_CHOICES

    parser.add_argument("--precision", choices=PRECISION_CHOICES, default=None,
                        help="auto (float16 on a GPU; bfloat16 on a CPU with native bfloat16, else float32) or a "
                        "fixed one")
    parser.add_argument("--no-compile", action="store_true",
                        help="run the models as they are, without compiling them (the first run at a size is "
                        "then quick, every step slower)")


def check_count(name: str, value: int, low: int, high: int) -> int:
    """A whole number the user typed, refused in one sentence before any work when out of range."""
    from desktop.domain.recipe import shown

    if not low <= value <= high:
        raise InvalidRecipe(name, f"must be between {low} and {high}, got {shown(value)}")
    return value


def check_threads(threads: int) -> int:
    """A torch thread count: past a C int torch overflows instead of refusing."""
    return check_count("threads", threads, 1, MAX_THREADS)


@contextmanager
def writing(output: Path) -> Iterator[None]:
    """A write that fails after the checks (a full disk, a folder made read-only since) is one
    sentence; the atomic writers leave no partial file behind."""
    try:
        yield
    except OSError as err:
        raise InvalidRecipe("output", f"cannot write {output.name}: {err.strerror or err}") from err
