"""OpenPose people: 18 body keypoints (COCO order, REFERENCE.md), optional hands and face.

Coordinates are canvas pixels. A missing keypoint is None; a hidden one keeps its place
(so showing it again restores it) but counts as missing for rendering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Point = tuple[float, float]
MAX_COORDINATE = 100_000.0  # pixels either side of the canvas: beyond it a file is damaged, and drawing overflows

BODY_NAMES = (
    "nose", "neck", "right shoulder", "right elbow", "right wrist", "left shoulder", "left elbow",
    "left wrist", "right hip", "right knee", "right ankle", "left hip", "left knee", "left ankle",
    "right eye", "left eye", "right ear", "left ear",
)
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
MIRROR_PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17))

# A standing T-pose on a 512 x 512 canvas, centred on x = 0.5: fractions of the canvas.
_T_POSE = (
    (0.50, 0.16), (0.50, 0.25), (0.40, 0.25), (0.29, 0.25), (0.18, 0.25), (0.60, 0.25),
    (0.71, 0.25), (0.82, 0.25), (0.45, 0.50), (0.45, 0.67), (0.45, 0.84), (0.55, 0.50),
    (0.55, 0.67), (0.55, 0.84), (0.48, 0.14), (0.52, 0.14), (0.46, 0.15), (0.54, 0.15),
)


@dataclass
class Person:
    body: list[Point | None]
    hidden: set[int] = field(default_factory=set)
    left_hand: list[Point | None] | None = None
    right_hand: list[Point | None] | None = None
    face: list[Point | None] | None = None

    def visible_body(self) -> list[Point | None]:
        return [None if i in self.hidden else p for i, p in enumerate(self.body)]

    def centre(self) -> Point:
        points = [p for p in self.visible_body() if p is not None] or [p for p in self.body if p is not None]
        if not points:
            return (0.0, 0.0)
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))

    def transformed(self, fn) -> "Person":
        """A copy with every point (body, hands, face) passed through `fn`."""

        def apply(points):
            return None if points is None else [None if p is None else fn(p) for p in points]

        return Person(apply(self.body), set(self.hidden), apply(self.left_hand), apply(self.right_hand), apply(self.face))

    def moved(self, dx: float, dy: float) -> "Person":
        return self.transformed(lambda p: (p[0] + dx, p[1] + dy))

    def scaled(self, factor: float, centre: Point | None = None) -> "Person":
        cx, cy = centre or self.centre()
        return self.transformed(lambda p: (cx + (p[0] - cx) * factor, cy + (p[1] - cy) * factor))

    def rotated(self, degrees: float, centre: Point | None = None) -> "Person":
        cx, cy = centre or self.centre()
        c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        return self.transformed(lambda p: (cx + (p[0] - cx) * c - (p[1] - cy) * s, cy + (p[0] - cx) * s + (p[1] - cy) * c))

    def mirrored(self) -> "Person":
        """Flip left/right about the person's centre and swap left and right joint labels."""
        cx, _ = self.centre()
        flipped = self.transformed(lambda p: (2 * cx - p[0], p[1]))
        body = list(flipped.body)
        hidden = set(flipped.hidden)
        for a, b in MIRROR_PAIRS:
            body[a], body[b] = body[b], body[a]
            if (a in hidden) != (b in hidden):
                hidden ^= {a, b}
        return Person(body, hidden, flipped.right_hand, flipped.left_hand, flipped.face)

    def with_joint(self, index: int, point: Point) -> "Person":
        body = list(self.body)
        body[index] = point
        return Person(body, set(self.hidden), self.left_hand, self.right_hand, self.face)

    def with_hidden(self, index: int, hidden: bool) -> "Person":
        flags = set(self.hidden)
        (flags.add if hidden else flags.discard)(index)
        return Person(list(self.body), flags, self.left_hand, self.right_hand, self.face)


def t_pose(width: int, height: int, centre_x: float = 0.5) -> Person:
    """A default standing person scaled to the canvas, for 'add person'."""
    side = min(width, height)
    x0 = width * centre_x - side * 0.5
    y0 = (height - side) / 2
    return Person([(x0 + fx * side, y0 + fy * side) for fx, fy in _T_POSE])
