"""The pose renderer against control images built by the published algorithm, step by step."""

from __future__ import annotations

import math

import cv2
import numpy as np

from desktop.conditions.pose_render import render_openpose
from desktop.domain.pose import COLORS, Person, t_pose

# The annotator's tables as published: 1-based limb pairs, then colours.
LIMB_SEQ = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
            [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18]]
PUBLISHED_COLORS = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
                    [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
                    [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]


def published_render(candidate: np.ndarray, subset: np.ndarray, width: int, height: int) -> np.ndarray:
    """ControlNet's draw_bodypose: candidate rows (x, y) normalised, subset rows of indices (-1 = missing)."""
    canvas = np.zeros((height, width, 3), np.uint8)
    for i in range(18):
        for n in range(len(subset)):
            index = int(subset[n][i])
            if index == -1:
                continue
            x, y = candidate[index][0:2]
            cv2.circle(canvas, (int(x * width), int(y * height)), 4, PUBLISHED_COLORS[i], thickness=-1)
    for i in range(17):
        for n in range(len(subset)):
            index = subset[n][np.array(LIMB_SEQ[i]) - 1]
            if -1 in index:
                continue
            cur_canvas = canvas.copy()
            Y = candidate[index.astype(int), 0] * float(width)
            X = candidate[index.astype(int), 1] * float(height)
            mX, mY = np.mean(X), np.mean(Y)
            length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
            angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
            polygon = cv2.ellipse2Poly((int(mY), int(mX)), (int(length / 2), 4), int(angle), 0, 360, 1)
            cv2.fillConvexPoly(cur_canvas, polygon, PUBLISHED_COLORS[i])
            canvas = cv2.addWeighted(canvas, 0.4, cur_canvas, 0.6, 0)
    return canvas


def _as_published(people: list[Person], width: int, height: int):
    candidate, subset = [], []
    for person in people:
        row = []
        for point in person.visible_body():
            if point is None:
                row.append(-1)
            else:
                row.append(len(candidate))
                candidate.append((point[0] / width, point[1] / height))
        subset.append(row)
    return np.array(candidate, dtype=np.float64), np.array(subset)


def test_tables_match_the_published_ones():
    assert [list(c) for c in COLORS] == PUBLISHED_COLORS


def test_two_people_with_missing_and_hidden_joints_match_the_published_renderer():
    width, height = 512, 384
    first = t_pose(width, height, centre_x=0.3).rotated(12)
    second = t_pose(width, height, centre_x=0.72).scaled(0.7).with_hidden(6, True)
    body = list(second.body)
    body[16] = None
    second = Person(body, second.hidden)
    people = [first, second]
    expected = published_render(*_as_published(people, width, height), width, height)
    assert np.array_equal(render_openpose(people, width, height), expected)


def test_limbs_are_sixty_percent_and_free_joints_full_colour():
    person = Person([None] * 18)
    body = list(person.body)
    body[1], body[2] = (100.0, 100.0), (160.0, 100.0)  # neck to right shoulder: limb 0, red
    body[17] = (40.0, 40.0)  # the left ear, whose only limb (to the left eye) is missing
    image = render_openpose([Person(body)], 256, 256)
    assert tuple(image[100, 130]) == (153, 0, 0)
    assert tuple(image[40, 40]) == tuple(COLORS[17]) == (255, 0, 85)


def test_a_missing_keypoint_drops_its_limbs():
    person = t_pose(256, 256)
    without_elbow = person.with_hidden(3, True)
    image = render_openpose([without_elbow], 256, 256)
    assert not np.any(np.all(image == (153, 102, 0), axis=2))  # limb 2 (shoulder-elbow)
    assert np.any(np.all(render_openpose([person], 256, 256) == (153, 102, 0), axis=2))


def test_hands_and_face_are_drawn():
    hand = [(50.0 + 3 * k, 60.0 + 2 * (k % 5)) for k in range(21)]
    face = [(120.0 + k, 30.0) for k in range(70)]
    person = Person([None] * 18, left_hand=hand, face=face)
    image = render_openpose([person], 200, 120)
    assert tuple(image[60, 50]) == (0, 0, 255)
    assert tuple(image[30, 150]) == (255, 255, 255)
