"""What the UI shows of the device: its name and precision, whether a precision runs on it, and memory in use.

The UI reaches the engine only through workers (an import contract); these answers are cheap and
synchronous, so they are plain functions rather than jobs on the worker thread.
"""

from __future__ import annotations

from desktop.domain.errors import InvalidRecipe, StudioError


def device_label(device: str, precision: str = "auto") -> str:
    """The device and dtype a run would use ("cpu (float32)"), or why it cannot run there."""
    from desktop.engine.device import choose_device

    try:
        return choose_device(device, precision).label
    except StudioError as err:
        return str(err)


def precision_refusal(device: str, precision: str) -> str | None:
    """Why `precision` cannot run on `device` (float16 on a CPU), or None when it can."""
    from desktop.engine.device import choose_device

    try:
        choose_device(device, precision)
    except InvalidRecipe as err:
        if err.field == "precision":
            return str(err).removeprefix(f"{err.field}: ")
    return None


def memory_text() -> str:
    """This process's memory, and the GPU's allocation when there is one."""
    import psutil
    import torch

    text = f"memory: {psutil.Process().memory_info().rss / 2**20:,.0f} MB"
    if torch.cuda.is_available():
        text += f" · GPU {torch.cuda.memory_allocated() / 2**20:,.0f} MB"
    return text
