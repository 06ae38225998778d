"""Keeps the model libraries' own chatter off stderr, so a sub-command's stderr holds only its own lines."""

from __future__ import annotations

import logging

LIBRARY_LOGGERS = ("diffusers", "transformers", "huggingface_hub")


def library_output_to_log() -> None:
    """diffusers, transformers and huggingface_hub print their own warnings to stderr, and Python
    prints warnings there too: this sends them to the log (--verbose still shows them, through the
    log's terminal handler). Importing the libraries takes seconds, so call it once the cheap checks
    have passed."""
    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub.utils import logging as hub_logging  # noqa: F401 - sets up its stderr handler
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_default_handler()
    transformers_logging.disable_default_handler()
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for handler in [h for h in library.handlers if type(h) is logging.StreamHandler]:
            library.removeHandler(handler)
        library.propagate = True
    logging.captureWarnings(True)
