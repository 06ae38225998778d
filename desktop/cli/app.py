"""`app`: open the window (the default without a sub-command)."""

from __future__ import annotations

import argparse
import logging
import sys

from .common import EXIT_BAD_INPUT, add_speed_options

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The app's options, which `main.py` also takes with no sub-command before them."""
    app = sub.add_parser("app", help="open the app (the default without a sub-command)")
    app.add_argument("project", nargs="?", help="a project file to open")
    app.add_argument("--open", dest="open_project", metavar="PROJECT", help="open this project")
    app.add_argument("--generate", action="store_true", help="run one generation at start")
    app.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window when it is done")
    app.add_argument("--quit", action="store_true", help="exit after --generate / --screenshot")
    app.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    add_speed_options(app)
    app.add_argument("--verbose", action="store_true", help="also log to the terminal")


def run(args: argparse.Namespace) -> int:
    """A platform Qt cannot use is one sentence, checked before Qt can abort the process on it."""
    from desktop.ui.platform_check import qt_platform_problem

    if problem := qt_platform_problem():
        log.error("app: %s", problem)
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from desktop.ui.launch import launch_app

    return launch_app(args)
