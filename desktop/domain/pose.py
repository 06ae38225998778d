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
    """A default standing person scaled to the canvas, centred on `centre_x`: the first person of a new
    pose layer (`place_new_person` finds room for the next ones)."""
    side = min(width, height)
    x0 = width * centre_x - side * 0.5
    y0 = (height - side) / 2
    return Person([(x0 + fx * side, y0 + fy * side) for fx, fy in _T_POSE])


Box = tuple[float, float, float, float]  # left, top, right, bottom
_PLACEMENT_SCALES = tuple(s / 20 for s in range(20, 3, -1))  # 1.0 down to 0.2 of the default size
_FALLBACK_SCALE = 0.5


def person_box(person: Person) -> Box | None:
    """The box around every keypoint the person has (hidden ones keep their place), or None."""
    points = [p for group in (person.body, person.left_hand, person.right_hand, person.face) if group
              for p in group if p is not None]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def place_new_person(existing, width: int, height: int) -> Person:
    """A standing person for 'Add person': in free space beside `existing`, every keypoint inside the
    canvas. Full size where it fits; else the largest size (down to a fifth) whose box, with a small
    gap, overlaps no existing person's, as near the canvas's vertical middle as it can be; with no
    room at all, a half-size person over the widest strip between the others."""
    template = t_pose(width, height)
    left, top, right, bottom = person_box(template)
    margin = max(2.0, 0.02 * min(width, height))  # limbs are drawn a few pixels thick: keep them off the edge
    gap = margin
    boxes = [box for box in (person_box(p) for p in existing) if box is not None]
    boxes = [(max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))  # the parts on the canvas
             for x0, y0, x1, y1 in boxes if x1 >= 0 and y1 >= 0 and x0 <= width and y0 <= height]
    if not boxes:
        return template
    room_w, room_h = width - 2 * margin, height - 2 * margin
    fit = min(1.0, room_w / (right - left), room_h / (bottom - top))
    for scale in (s * fit for s in _PLACEMENT_SCALES):
        w, h = (right - left) * scale, (bottom - top) * scale
        spot = _free_spot(boxes, w, h, width, height, margin, gap)
        if spot is not None:
            return _fitted(template, (left, top, right, bottom), scale, spot)
    scale = _FALLBACK_SCALE * fit
    w, h = (right - left) * scale, (bottom - top) * scale
    x0, x1 = _widest_strip(boxes, width, margin)
    x = min(max(margin, (x0 + x1 - w) / 2), width - margin - w)
    return _fitted(template, (left, top, right, bottom), scale, (x, (height - h) / 2))


def _fitted(template: Person, box: Box, scale: float, spot: Point) -> Person:
    """`template` scaled by `scale` with its box's top-left corner moved to `spot`."""
    left, top = box[0], box[1]
    return template.transformed(lambda p: (spot[0] + (p[0] - left) * scale, spot[1] + (p[1] - top) * scale))


def _free_spot(boxes: list[Box], w: float, h: float, width: int, height: int, margin: float,
               gap: float) -> Point | None:
    """The top-left corner of a w x h box inside the canvas (less `margin`) that keeps `gap` from every
    box: tried from the vertical middle outwards; at each height, the middle of the widest free
    stretch (nearest the canvas's centre on a tie)."""
    low, high = margin, height - margin - h
    if high < low or w > width - 2 * margin:
        return None
    middle = (height - h) / 2
    rows = 12
    ys = sorted({min(high, max(low, middle))} | {low + (high - low) * i / rows for i in range(rows + 1)},
                key=lambda y: abs(y - middle))
    for y in ys:
        blocked = sorted((x0 - gap, x1 + gap) for x0, y0, x1, y1 in boxes if y0 - gap < y + h and y1 + gap > y)
        best = None
        start = margin
        for x0, x1 in blocked + [(width - margin, width - margin)]:
            if x0 - start >= w:
                stretch = (x0 - start, -abs((start + x0) / 2 - width / 2), start, x0)
                best = stretch if best is None or stretch > best else best
            start = max(start, x1)
        if best is not None:
            x0, x1 = best[2], best[3]
            return (x0 + x1 - w) / 2, y
    return None


def _widest_strip(boxes: list[Box], width: int, margin: float) -> tuple[float, float]:
    """The widest stretch of x between the boxes' columns (the whole canvas when there are none)."""
    best, start = (margin, margin), margin
    for x0, x1 in sorted((x0, x1) for x0, _, x1, _ in boxes) + [(width - margin, width - margin)]:
        if x0 - start > best[1] - best[0]:
            best = (start, x0)
        start = max(start, x1)
    return best
