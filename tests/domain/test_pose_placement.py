"""'Add person' places the new skeleton in free space beside the others, wholly inside the canvas."""

from __future__ import annotations

import itertools

import pytest

from desktop.domain.pose import person_box, place_new_person, t_pose


def _inside(person, width, height) -> bool:
    return all(0 <= x < width and 0 <= y < height for x, y in (p for p in person.body if p is not None))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width,height", [(512, 512), (768, 512), (512, 768), (1024, 576), (256, 256)])
def test_each_new_person_keeps_clear_of_the_others_and_inside_the_canvas(width, height):
    people = [t_pose(width, height)]
    for _ in range(2):
        people.append(place_new_person(people, width, height))
    for person in people:
        assert _inside(person, width, height)
        assert len([p for p in person.body if p is not None]) == 18
    for a, b in itertools.combinations([person_box(p) for p in people], 2):
        assert not _overlap(a, b), (a, b)


def test_a_wide_canvas_gets_a_second_person_beside_the_first_at_a_useful_size():
    first = t_pose(1024, 512)
    second = place_new_person([first], 1024, 512)
    a, b = person_box(first), person_box(second)
    assert not _overlap(a, b) and _inside(second, 1024, 512)
    assert (b[2] - b[0]) > 0.9 * (a[2] - a[0]), "there is room for a full-size person: no need to shrink it"
    assert abs((b[1] + b[3]) - (a[1] + a[3])) < 2 * 512 * 0.05, "beside the first: at about the same height"


def test_a_person_is_scaled_down_to_fit_the_room_left():
    first = t_pose(512, 512)
    second = place_new_person([first], 512, 512)
    a, b = person_box(first), person_box(second)
    assert not _overlap(a, b) and _inside(second, 512, 512)
    assert (b[2] - b[0]) < (a[2] - a[0])


def test_the_first_person_is_the_default_pose_and_people_off_the_canvas_leave_room():
    assert place_new_person([], 512, 512).body == t_pose(512, 512).body
    off_left = t_pose(512, 512).moved(-700, 0)  # wholly outside: it takes no room on the canvas
    assert place_new_person([off_left], 512, 512).body == t_pose(512, 512).body
    cut = t_pose(512, 512, centre_x=0.05)  # the old bug's person, cut off at the left edge
    placed = place_new_person([cut], 512, 512)
    assert _inside(placed, 512, 512) and not _overlap(person_box(cut), person_box(placed))


def test_a_full_canvas_still_gives_a_person_wholly_inside_it():
    people = [t_pose(64, 64)]
    for _ in range(6):  # far more than fit: the last ones have no free room
        people.append(place_new_person(people, 64, 64))
    assert all(_inside(person, 64, 64) for person in people)
