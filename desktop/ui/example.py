"""The built-in example document: one person, steered by two layers at once, ready to generate.

A pose layer holds a standing person's skeleton and a scribble layer the same person's outline, so the
two ControlNets agree on one subject (the demo model's ControlNets each learnt one subject per image:
a circle beside a person came out as one of the two). On the demo model (File > New, the first start)
it takes the demo's model card: the size, guidance, steps and sampler the model was made for."""

from __future__ import annotations

from dataclasses import replace

from desktop.domain.defaults import DEMO_MODEL, demo_model_installed, model_card
from desktop.domain.document import Document, GenerationSettings
from desktop.domain.layers import PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import t_pose

# The outline of the demo's mannequin around `t_pose`, in the same square coordinates (0..1 of the
# shorter side, centred like the skeleton): traced once from desktop/train/mannequin.py at 256 px.
T_POSE_OUTLINE = (
    (0.492, 0.078), (0.461, 0.09), (0.434, 0.129), (0.438, 0.176), (0.488, 0.215), (0.484, 0.238),
    (0.176, 0.238), (0.168, 0.254), (0.402, 0.266), (0.445, 0.473), (0.438, 0.844), (0.461, 0.844),
    (0.461, 0.52), (0.531, 0.512), (0.539, 0.844), (0.555, 0.852), (0.555, 0.473), (0.598, 0.266),
    (0.824, 0.262), (0.832, 0.246), (0.516, 0.238), (0.512, 0.215), (0.562, 0.176), (0.566, 0.129),
    (0.539, 0.09),
)


def example_document() -> Document:
    """Without the demo model (a slim install), the document defaults: 512 px, guidance 7.5."""
    card = model_card(str(DEMO_MODEL)) if demo_model_installed() else None
    settings = GenerationSettings(prompt="a red person on a blue background")
    if card is not None:
        settings = replace(settings, **card.defaults)
    width, height = settings.width, settings.height
    side = min(width, height)
    x0, y0 = (width - side) / 2, (height - side) / 2
    closed = (*T_POSE_OUTLINE, T_POSE_OUTLINE[0])
    outline = Stroke(tuple((x0 + fx * side, y0 + fy * side, 1.0) for fx, fy in closed), size=max(1.0, side / 64))
    pose = PoseLayer(name="Pose", people=(t_pose(width, height),))
    return Document(settings, [pose, ScribbleLayer(name="Outline", operations=(outline,))])
