"""What a point on the canvas lands on in a pose layer: a joint, or a person's body.

Pure geometry in canvas pixels, so the rules are tested without a widget. The caller turns its
on-screen tolerance into canvas pixels (it divides by the zoom): a joint is as easy to grab at
any zoom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .pose import Person, Point


def hit_joint(people: Sequence[Person], point: Point, radius: float,
              include_hidden: bool = False) -> tuple[int, int] | None:
    """(person index, joint index) of the body joint nearest `point` within `radius`, or None.

    A hidden joint counts as missing unless `include_hidden`: the pose editor draws hidden joints
    hollow and passes True, so a right-click can show one again. On equal distance the later
    person wins, as it is drawn on top."""
    best, best_distance = None, radius
    for p_index, person in enumerate(people):
        for k, joint in enumerate(person.body):
            if joint is None or (k in person.hidden and not include_hidden):
                continue
            distance = math.hypot(joint[0] - point[0], joint[1] - point[1])
            if distance <= best_distance:
                best, best_distance = (p_index, k), distance
    return best


def hit_person(people: Sequence[Person], point: Point, margin: float) -> int | None:
    """The index of the topmost person whose body joints' box, grown by `margin`, holds `point`.

    The box (hidden joints included: they keep their place) covers the limbs between joints, so
    a press anywhere on the body takes the whole person."""
    x, y = point
    for p_index in reversed(range(len(people))):
        joints = [p for p in people[p_index].body if p is not None]
        if not joints:
            continue
        xs, ys = [p[0] for p in joints], [p[1] for p in joints]
        if min(xs) - margin <= x <= max(xs) + margin and min(ys) - margin <= y <= max(ys) + margin:
            return p_index
    return None
