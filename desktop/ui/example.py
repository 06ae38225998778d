"""The built-in example document: a scribble (a circle) and a pose layer, ready to generate."""

from __future__ import annotations

import math

from desktop.domain.document import Document, GenerationSettings
from desktop.domain.layers import PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import t_pose
from desktop.engine.defaults import demo_model_installed


def example_document(size: int | None = None) -> Document:
    """On the demo model the example is 64 x 64, the size that model was trained at."""
    size = size or (64 if demo_model_installed() else 512)
    centre, radius = size / 2, size * 0.3
    circle = tuple(
        (centre + radius * math.cos(2 * math.pi * k / 96), centre + radius * math.sin(2 * math.pi * k / 96), 1.0)
        for k in range(97)
    )
    scribble = ScribbleLayer(name="Scribble", operations=(Stroke(circle, size=max(2.0, size / 64)),))
    pose = PoseLayer(name="Pose", people=(t_pose(size, size),), enabled=not demo_model_installed())
    demo = demo_model_installed()
    settings = GenerationSettings(prompt="a red circle on a blue background", width=size, height=size,
                                  guidance_scale=5.0 if demo else 7.5)  # the demo model over-saturates above ~5
    return Document(settings, [pose, scribble])
