"""The demo model's "person": a mannequin drawn from a random OpenPose-18 skeleton.

Limbs are thick capsules, the torso a quad, the head a disc, all in one palette colour: simple
enough for a 2 M-parameter UNet to learn at 64 px, yet posed by exactly the skeleton the app's
pose layers draw, so the pose ControlNet learns the official OpenPose rendering of it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from desktop.domain.pose import Person

# Bones (OpenPose-18 indices) drawn as capsules: arms, legs, neck, and the shoulder and hip lines.
ARM_AND_LEG_BONES = ((2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (11, 12), (12, 13))
BODY_BONES = ARM_AND_LEG_BONES + ((1, 0), (2, 5), (8, 11))
_SHIFT = 4  # cv2 sub-pixel bits
_ONE = 1 << _SHIFT


def random_person(rng: np.random.Generator, size: int) -> Person:
    """A standing-to-dancing figure, frontal, 60-92 % of the canvas tall, wholly inside it."""
    h = rng.uniform(0.6, 0.92) * size

    def towards(point, side: int, angle: float, length: float):
        """`angle` from straight down, positive away from the body's middle on `side` (-1: the person's right)."""
        return (point[0] + side * math.sin(angle) * length, point[1] + math.cos(angle) * length)

    neck = (0.0, 0.2 * h)
    nose = (rng.uniform(-0.02, 0.02) * h, 0.11 * h)
    body: list = [None] * 18
    body[0], body[1] = nose, neck
    for side, (shoulder, elbow, wrist, hip, knee, ankle) in ((-1, (2, 3, 4, 8, 9, 10)), (1, (5, 6, 7, 11, 12, 13))):
        body[shoulder] = (neck[0] + side * 0.11 * h, neck[1] + 0.01 * h)
        upper = rng.uniform(-0.3, 2.8)
        body[elbow] = towards(body[shoulder], side, upper, 0.17 * h)
        body[wrist] = towards(body[elbow], side, upper + rng.uniform(-1.6, 1.6), 0.16 * h)
        body[hip] = (neck[0] + side * 0.065 * h, neck[1] + 0.3 * h)
        thigh = rng.uniform(-0.12, 0.7)
        body[knee] = towards(body[hip], side, thigh, 0.23 * h)
        body[ankle] = towards(body[knee], side, thigh + rng.uniform(-0.5, 0.3), 0.22 * h)
    body[14], body[15] = (nose[0] - 0.03 * h, nose[1] - 0.02 * h), (nose[0] + 0.03 * h, nose[1] - 0.02 * h)
    body[16], body[17] = (nose[0] - 0.06 * h, nose[1] - 0.01 * h), (nose[0] + 0.06 * h, nose[1] - 0.01 * h)
    person = Person(body).rotated(rng.uniform(-20, 20), centre=(0.0, 0.5 * h))
    return _placed(person, rng, size, h)


def limb_width(person: Person) -> float:
    """Capsule thickness in pixels, from the figure's height (neck to hips is 0.3 of it)."""
    return max(2.0, 0.3 * _torso_length(person) * 0.24)


def head_radius(person: Person) -> float:
    return 0.08 * _torso_length(person) / 0.3


def draw_mannequin(canvas: np.ndarray, person: Person, colour, scale: float = 1.0) -> None:
    """Draw the figure onto `canvas` (H, W, C) in `colour`; `scale` maps skeleton pixels to canvas pixels."""
    body = person.body
    width = max(1, int(round(limb_width(person) * scale)))

    def at(index: int):
        x, y = body[index]
        return (int(round(x * scale * _ONE)), int(round(y * scale * _ONE)))

    torso = np.array([at(2), at(5), at(11), at(8)], np.int32)
    cv2.fillConvexPoly(canvas, torso, colour, lineType=cv2.LINE_AA, shift=_SHIFT)
    for a, b in BODY_BONES:
        cv2.line(canvas, at(a), at(b), colour, thickness=width, lineType=cv2.LINE_AA, shift=_SHIFT)
    for index in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
        cv2.circle(canvas, at(index), int(round(width / 2 * _ONE)), colour, thickness=-1, lineType=cv2.LINE_AA,
                   shift=_SHIFT)
    nose, neck = body[0], body[1]
    centre = (nose[0] + 0.15 * (nose[0] - neck[0]), nose[1] + 0.15 * (nose[1] - neck[1]))
    cv2.circle(canvas, (int(round(centre[0] * scale * _ONE)), int(round(centre[1] * scale * _ONE))),
               int(round(head_radius(person) * scale * _ONE)), colour, thickness=-1, lineType=cv2.LINE_AA,
               shift=_SHIFT)


def mannequin_mask(person: Person, size: int) -> np.ndarray:
    """(size, size) bool: the whole figure."""
    mask = np.zeros((size, size), np.uint8)
    draw_mannequin(mask, person, 255)
    return mask > 127


def limb_capsules(person: Person, size: int) -> np.ndarray:
    """(size, size) bool: the arms' and legs' capsules, which a posed figure must cover."""
    mask = np.zeros((size, size), np.uint8)
    width = max(1, int(round(limb_width(person))))
    for a, b in ARM_AND_LEG_BONES:
        (xa, ya), (xb, yb) = person.body[a], person.body[b]
        cv2.line(mask, (int(round(xa * _ONE)), int(round(ya * _ONE))), (int(round(xb * _ONE)), int(round(yb * _ONE))),
                 255, thickness=width, shift=_SHIFT)
    return mask > 127


def _torso_length(person: Person) -> float:
    (nx, ny), hips = person.body[1], [person.body[8], person.body[11]]
    hx, hy = (hips[0][0] + hips[1][0]) / 2, (hips[0][1] + hips[1][1]) / 2
    return math.hypot(hx - nx, hy - ny)


def _placed(person: Person, rng: np.random.Generator, size: int, height: float) -> Person:
    """Moved (and if need be shrunk) so that the figure, limbs' thickness and head included, fits."""
    pad = max(limb_width(person) / 2, head_radius(person) * 1.2) + 1.0
    xs = [p[0] for p in person.body]
    ys = [p[1] for p in person.body]
    extent = max(max(xs) - min(xs), max(ys) - min(ys)) + 2 * pad
    if extent > size:
        person = person.scaled((size - 2.0) / extent, centre=(0.0, 0.5 * height))
        pad = max(limb_width(person) / 2, head_radius(person) * 1.2) + 1.0
        xs = [p[0] for p in person.body]
        ys = [p[1] for p in person.body]
    low_x, high_x = pad - min(xs), size - pad - max(xs)
    low_y, high_y = pad - min(ys), size - pad - max(ys)
    dx = rng.uniform(low_x, high_x) if high_x > low_x else (low_x + high_x) / 2
    dy = rng.uniform(low_y, high_y) if high_y > low_y else (low_y + high_y) / 2
    return person.moved(dx, dy)
