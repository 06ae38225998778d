"""Short garbage-collector pauses in a process that holds large models.

Python's full collection walks every object the process tracks; with a UNet, its ControlNets, torch,
diffusers and Qt loaded that is half a million objects and 110-230 ms (measured on the 2-core CPU) during
which no thread runs, the UI's included: a slider stalled 330-450 ms mid-drag when one fell during a
generation. Objects that live for the whole session (the app's own, a loaded model's) are moved out of
the collector's sight once they exist (`gc.freeze`), so later collections walk only what is new. Frozen
objects are still freed by reference counting (a dropped model is: it holds no cycles); `thaw` brings
them back under the collector when large things are let go on purpose.
"""

from __future__ import annotations

import gc


def settle(full: bool = False) -> None:
    """Collect what is garbage now and freeze the rest. Not `full`: only what is not frozen yet is walked
    (quick after the first time); `full`: everything, for when long-lived objects were let go."""
    if full:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """Frozen objects become collectable again (the next `settle` freezes what survives)."""
    gc.unfreeze()
