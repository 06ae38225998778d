"""What a ControlNet training run is asked for: plain data, so the Train window and the CLI build it
without importing torch (the UI reaches training only through workers)."""

from __future__ import annotations

from dataclasses import dataclass

INITS = ("zero", "gaussian", "lite")  # the paper's zero convolutions, and its two ablations


@dataclass
class ControlNetSettings:
    base: str
    data: str  # "shapes" (synthetic shapes and figures) or a fill50k-layout folder
    out: str
    control: str = "outline"  # with "shapes": the control image learnt (`controls.CONTROL_KINDS`)
    person_share: float = 0.0  # with "shapes": the share of mannequins among the samples
    steps: int = 2000
    batch: int = 16
    lr: float = 1e-4
    resolution: int = 64
    prompt_dropout: float = 0.5
    init: str = "zero"
    sample_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0
    eval_samples: int = 8
    eval_steps: int = 20
