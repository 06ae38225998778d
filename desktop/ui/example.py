"""The built-in example document: a scribble (a circle) and a pose layer, ready to generate.

On the demo model (File > New, the first start) it takes the demo's model card: the size, guidance,
steps and sampler the model was made for, so a first Generate does not break it up."""

from __future__ import annotations

import math
from dataclasses import replace

from desktop.domain.document import Document, GenerationSettings
from desktop.domain.layers import PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import t_pose
from desktop.domain.defaults import DEMO_MODEL, demo_model_installed, model_card


def example_document() -> Document:
    """Without the demo model (a slim install), the document defaults: 512 px, guidance 7.5."""
    demo = demo_model_installed()
    card = model_card(str(DEMO_MODEL)) if demo else None
    settings = GenerationSettings(prompt="a red circle on a blue background")
    if card is not None:
        settings = replace(settings, **card.defaults)
    width, height = settings.width, settings.height
    centre, radius = (width / 2, height / 2), min(width, height) * 0.3
    circle = tuple(
        (centre[0] + radius * math.cos(2 * math.pi * k / 96), centre[1] + radius * math.sin(2 * math.pi * k / 96), 1.0)
        for k in range(97)
    )
    scribble = ScribbleLayer(name="Scribble", operations=(Stroke(circle, size=max(2.0, width / 64)),))
    pose = PoseLayer(name="Pose", people=(t_pose(width, height),), enabled=not demo)
    return Document(settings, [pose, scribble])
