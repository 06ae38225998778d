"""OpenPose JSON (the CMU format pose editors exchange) to and from our people.

Coordinates may be pixels or normalised 0..1 (some tools write those): detected. Points with
confidence below MIN_CONFIDENCE, or written as 0,0,0, are missing.
"""

from __future__ import annotations

from typing import Any

from desktop.domain.errors import InvalidRecipe
from desktop.domain.pose import MAX_COORDINATE, Person
from desktop.domain.recipe import finite_float, parse_json

MIN_CONFIDENCE = 0.05
CANVAS_MIN, CANVAS_MAX = 8, 4096  # a canvas is a photo's size, as pose detection writes it


def people_from_openpose(data: Any, width: int, height: int) -> list[Person]:
    """Parse an OpenPose document; raises InvalidRecipe naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise InvalidRecipe("openpose", "must be a JSON object with a 'people' list")
    source_w = _dimension(data.get("canvas_width"), width)
    source_h = _dimension(data.get("canvas_height"), height)
    raw = [_person_arrays(p, i) for i, p in enumerate(data["people"])]
    coords = [v for arrays in raw for arr in arrays if arr for v in _coords(arr)]
    normalised = bool(coords) and max(coords) <= 1.0
    sx = width if normalised else width / source_w
    sy = height if normalised else height / source_h
    people = []
    for index, (body, left, right, face) in enumerate(raw):
        where = f"openpose.people[{index}]"
        points = _points(body, sx, sy, where)
        points = (points + [None] * 18)[:18]
        people.append(Person(points, set(), _points(left, sx, sy, where) if left else None,
                             _points(right, sx, sy, where) if right else None,
                             _points(face, sx, sy, where) if face else None))
    return people


def people_to_openpose(people: list[Person], width: int, height: int) -> dict:
    def flat(points):
        values: list[float] = []
        for p in points:
            values += [0.0, 0.0, 0.0] if p is None else [round(p[0], 3), round(p[1], 3), 1.0]
        return values

    return {
        "canvas_width": width, "canvas_height": height,
        "people": [
            {"pose_keypoints_2d": flat(p.visible_body()),
             "hand_left_keypoints_2d": flat(p.left_hand or []), "hand_right_keypoints_2d": flat(p.right_hand or []),
             "face_keypoints_2d": flat(p.face or [])}
            for p in people
        ],
    }


def load_openpose_text(text: str, width: int, height: int) -> list[Person]:
    try:
        data = parse_json(text)
    except ValueError as err:
        raise InvalidRecipe("openpose", str(err)) from err
    return people_from_openpose(data, width, height)


def _dimension(value: Any, default: int) -> float:
    number = finite_float(value)
    return number if number is not None and number > 0 else float(default)


def _person_arrays(person: Any, index: int):
    if not isinstance(person, dict):
        raise InvalidRecipe(f"openpose.people[{index}]", "must be an object")
    arrays = []
    for key in ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d", "face_keypoints_2d"):
        values = person.get(key) or []
        numbers = [finite_float(v) for v in values] if isinstance(values, list) else [None]
        if len(numbers) % 3 or None in numbers:
            raise InvalidRecipe(f"openpose.people[{index}].{key}", "must be a list of x, y, confidence numbers")
        arrays.append(numbers)
    return arrays


def _coords(values: list[float]) -> list[float]:
    return [abs(v) for i, v in enumerate(values) if i % 3 != 2 and values[i - i % 3 + 2] >= MIN_CONFIDENCE]


def _points(values: list[float], sx: float, sy: float, where: str):
    points = []
    for i in range(0, len(values), 3):
        x, y, c = values[i : i + 3]
        if c < MIN_CONFIDENCE or (x == 0 and y == 0):
            points.append(None)
        elif abs(x * sx) <= MAX_COORDINATE and abs(y * sy) <= MAX_COORDINATE:
            points.append((x * sx, y * sy))
        else:
            raise InvalidRecipe(where, f"has a point more than {MAX_COORDINATE:,.0f} pixels off the canvas")
    return points
