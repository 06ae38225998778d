"""The demo model's card (`desktop/domain/model_card.py`): how it was made to be run.

Its defaults are the size it was trained at and the guidance, steps and sampler its evaluation
(`train evaluate`, docs/TRAINING.md) passes the quality bar with; the guidance range is where it
was measured to work. Written by `train demo` beside the weights.
"""

from __future__ import annotations

from pathlib import Path

from desktop.domain.atomic import write_text_atomic
from desktop.domain.model_card import CARD_FILE, ModelCard

from .architecture import DEMO_RESOLUTION

DEMO_DEFAULTS = {"width": DEMO_RESOLUTION, "height": DEMO_RESOLUTION, "guidance_scale": 5.0, "steps": 20,
                 "scheduler": "unipc"}
DEMO_GUIDANCE_RANGE = (1.0, 7.5)  # measured: outlines pass the bar at 5 and at 7.5 (docs/TRAINING.md)
# Each demo ControlNet's sub-folder and the condition kinds it serves.
DEMO_CONTROLNETS = {
    "controlnet_scribble": ("scribble",),
    "controlnet_pose": ("pose",),
    "controlnet_edges": ("canny", "lineart", "lines"),
}


def write_demo_card(folder: Path, guidance_range: tuple[float, float] = DEMO_GUIDANCE_RANGE) -> Path:
    """The card for the demo model in `folder`, naming the ControlNets that are there."""
    nets = {name: kinds for name, kinds in DEMO_CONTROLNETS.items() if (folder / name).is_dir()}
    card = ModelCard(dict(DEMO_DEFAULTS), guidance_range, nets, other_controlnets=False)  # its own shape: SD's never fit
    path = folder / CARD_FILE
    write_text_atomic(path, card.to_json())
    return path
