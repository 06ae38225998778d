"""A press on a pose layer takes the joint under it, else the person whose body it is on: plain
geometry in canvas pixels, no widget."""

from __future__ import annotations

from desktop.domain.pose import Person, t_pose
from desktop.domain.pose_hits import hit_joint, hit_person

RADIUS = 9.0
MARGIN = 12.0
ELBOW, SHOULDER = 3, 2


def _person(*points) -> Person:
    return Person(list(points) + [None] * (18 - len(points)))


def test_the_nearest_joint_within_the_radius_wins():
    person = _person((100.0, 100.0), (106.0, 100.0))
    assert hit_joint([person], (104.0, 100.0), RADIUS) == (0, 1)
    assert hit_joint([person], (101.0, 100.0), RADIUS) == (0, 0)
    assert hit_joint([person], (100.0, 100.0 + RADIUS + 0.5), RADIUS) is None, "just beyond the radius"


def test_the_nearest_joint_wins_across_people_and_the_later_one_on_a_tie():
    first, second = _person((100.0, 100.0)), _person((104.0, 100.0))
    assert hit_joint([first, second], (101.0, 100.0), RADIUS) == (0, 0)
    assert hit_joint([first, second], (102.0, 100.0), RADIUS) == (1, 0), "drawn on top"


def test_hidden_joints_are_not_hit_unless_asked_for():
    person = t_pose(512, 512).with_hidden(ELBOW, True)
    elbow = person.body[ELBOW]
    assert hit_joint([person], elbow, RADIUS) is None
    assert hit_joint([person], elbow, RADIUS, include_hidden=True) == (0, ELBOW), "the editor shows it again"
    near = _person((100.0, 100.0), (103.0, 100.0)).with_hidden(1, True)
    assert hit_joint([near], (103.0, 100.0), RADIUS) == (0, 0), "the visible joint behind a hidden one"


def test_a_point_on_a_limb_between_joints_hits_the_person_not_a_joint():
    people = [t_pose(512, 512)]
    (sx, sy), (ex, ey) = people[0].body[SHOULDER], people[0].body[ELBOW]
    on_the_arm = ((sx + ex) / 2, (sy + ey) / 2)
    assert hit_joint(people, on_the_arm, RADIUS) is None
    assert hit_person(people, on_the_arm, MARGIN) == 0


def test_nothing_is_hit_far_away():
    people = [t_pose(512, 512)]
    assert hit_joint(people, (5.0, 500.0), RADIUS) is None
    assert hit_person(people, (5.0, 500.0), MARGIN) is None
    assert hit_joint([], (5.0, 5.0), RADIUS) is None and hit_person([], (5.0, 5.0), MARGIN) is None


def test_the_topmost_person_is_hit_where_people_overlap_and_the_margin_counts():
    below, above = t_pose(512, 512), t_pose(512, 512).moved(20.0, 0.0)
    neck = below.body[1]
    assert hit_person([below, above], neck, MARGIN) == 1
    left = min(x for x, _ in below.body)
    assert hit_person([below], (left - MARGIN + 1, neck[1]), MARGIN) == 0
    assert hit_person([below], (left - MARGIN - 1, neck[1]), MARGIN) is None


def test_a_person_with_no_joints_is_never_hit():
    assert hit_person([_person(), _person((10.0, 10.0))], (10.0, 10.0), MARGIN) == 1
    assert hit_person([_person()], (0.0, 0.0), MARGIN) is None
