"""The official OpenPose renderer (ControlNet annotator conventions, REFERENCE.md), to the pixel.

Black canvas; each person's joints first (filled circles radius 4 in colour k); then each limb,
in the official order, as an ellipse polygon on a copy of the canvas blended back at 60 %;
then hands (2 px lines in HSV colours, blue points) and face (white dots radius 3).
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

from desktop.domain.pose import COLORS, LIMBS, Person

STICK_WIDTH = 4
JOINT_RADIUS = 4
HAND_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
    (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)
_EPS = 0.01


def render_openpose(people: list[Person], width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB control image for the openpose ControlNet."""
    canvas = np.zeros((height, width, 3), np.uint8)
    bodies = [p.visible_body() for p in people]
    for k in range(len(COLORS)):
        for body in bodies:
            if k < len(body) and body[k] is not None:
                x, y = body[k]
                cv2.circle(canvas, (int(x), int(y)), JOINT_RADIUS, COLORS[k], thickness=-1)
    for i, (a, b) in enumerate(LIMBS):
        for body in bodies:
            if body[a] is None or body[b] is None:
                continue
            (xa, ya), (xb, yb) = body[a], body[b]
            copy = canvas.copy()
            length = math.hypot(xa - xb, ya - yb)
            angle = math.degrees(math.atan2(ya - yb, xa - xb))
            centre = (int((xa + xb) / 2), int((ya + yb) / 2))
            polygon = cv2.ellipse2Poly(centre, (int(length / 2), STICK_WIDTH), int(angle), 0, 360, 1)
            cv2.fillConvexPoly(copy, polygon, COLORS[i])
            canvas = cv2.addWeighted(canvas, 0.4, copy, 0.6, 0)
    for person in people:
        for hand in (person.left_hand, person.right_hand):
            if hand:
                _draw_hand(canvas, hand)
    for person in people:
        for point in person.face or []:
            if point is not None and point[0] > _EPS and point[1] > _EPS:
                cv2.circle(canvas, (int(point[0]), int(point[1])), 3, (255, 255, 255), thickness=-1)
    return canvas


def _draw_hand(canvas: np.ndarray, hand: list) -> None:
    for e, (a, b) in enumerate(HAND_EDGES):
        if a >= len(hand) or b >= len(hand) or hand[a] is None or hand[b] is None:
            continue
        (x1, y1), (x2, y2) = (int(v) for v in hand[a]), (int(v) for v in hand[b])
        if min(x1, y1, x2, y2) > _EPS:
            colour = [c * 255 for c in colorsys.hsv_to_rgb(e / len(HAND_EDGES), 1.0, 1.0)]
            cv2.line(canvas, (x1, y1), (x2, y2), colour, thickness=2)
    for point in hand:
        if point is not None and int(point[0]) > _EPS and int(point[1]) > _EPS:
            cv2.circle(canvas, (int(point[0]), int(point[1])), 4, (0, 0, 255), thickness=-1)
