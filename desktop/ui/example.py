"""The built-in example document: a scribble (a circle) and a pose layer, ready to generate."""

from __future__ import annotations

import math

from desktop.domain.document import Document, GenerationSettings
from desktop.domain.layers import PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import t_pose
from desktop.engine.defaults import demo_model_installed


def example_document(size: int = 512) -> Document:
    centre, radius = size / 2, size * 0.3
    circle = tuple(
        (centre + radius * math.cos(2 * math.pi * k / 96), centre + radius * math.sin(2 * math.pi * k / 96), 1.0)
        for k in range(97)
    )
    scribble = ScribbleLayer(name="Scribble", operations=(Stroke(circle, size=size / 64),))
    pose = PoseLayer(name="Pose", people=(t_pose(size, size),), enabled=not demo_model_installed())
    settings = GenerationSettings(prompt="a red circle on a blue background", width=size, height=size)
    return Document(settings, [pose, scribble])
