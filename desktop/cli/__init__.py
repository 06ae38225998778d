"""Headless sub-commands. Bad input: exit 2, one line on stderr, no traceback, no output file.

Each sub-command is a module with `add_parser(sub)` and `run(args) -> int`; heavy imports stay
inside `run`, so --help and bad input answer at once."""

from __future__ import annotations

import argparse
import logging
import sys

from desktop.domain.errors import Cancelled, StudioError
from desktop.logs import log_path, setup_logging

from . import app, bench, pose, preprocess, render, train
from .common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED

log = logging.getLogger(__name__)

HEADLESS = {"render": render, "train": train, "bench": bench, "preprocess": preprocess, "pose": pose}


def build_parser() -> argparse.ArgumentParser:
    """The sub-commands; with none, `main.py [PROJECT] [app options]` opens the app."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="ControlNet Studio. Without a sub-command it opens the app: "
        "main.py [PROJECT] [--open PROJECT] [--generate] [--screenshot OUT.png] [--quit] [--device D]",
    )
    parser.add_argument("--verbose", action="store_true", help="also log to the terminal")
    sub = parser.add_subparsers(dest="command", title="sub-commands", metavar="COMMAND")
    for command in (*HEADLESS.values(), app):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The edge: a sub-command's failure becomes its exit code and one line on stderr, the detail in the log."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and (argv[0] in HEADLESS or argv[0] in ("-h", "--help", "app")):
        args = parser.parse_args(argv)
    else:
        args = parser.parse_args(["app", *argv])
    setup_logging(args.verbose)
    if args.command == "app":
        return app.run(args)
    try:
        return HEADLESS[args.command].run(args)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    except StudioError as err:
        log.error("%s: %s | %s", args.command, err, err.detail)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the edge: one line for the user, the trace in the log
        log.exception("%s failed", args.command)
        print(f"internal error: {err} (details in {log_path()})", file=sys.stderr)
        return EXIT_INTERNAL
