"""OpenPose JSON round trips: pixels or normalised, missing points, hands and face kept."""

from __future__ import annotations

import json

import pytest

from desktop.conditions.openpose_json import load_openpose_text, people_from_openpose, people_to_openpose
from desktop.domain.errors import InvalidRecipe
from desktop.domain.pose import Person, t_pose


def test_round_trip_keeps_people_hands_and_face():
    hand = [(10.0 + k, 20.0) for k in range(21)]
    face = [(30.0 + k, 40.0) for k in range(70)]
    people = [t_pose(512, 512, 0.3), Person(t_pose(512, 512, 0.7).body, left_hand=hand, right_hand=hand, face=face)]
    data = json.loads(json.dumps(people_to_openpose(people, 512, 512)))
    back = people_from_openpose(data, 512, 512)
    assert len(back) == 2
    for a, b in zip(people, back):
        assert [pytest.approx(p, abs=1e-3) for p in a.body] == b.body
    assert back[1].left_hand == [pytest.approx(p, abs=1e-3) for p in hand]
    assert back[1].face is not None and len(back[1].face) == 70


def test_missing_points_are_zero_triples_both_ways():
    person = t_pose(100, 100).with_hidden(4, True)
    data = people_to_openpose([person], 100, 100)
    assert data["people"][0]["pose_keypoints_2d"][12:15] == [0.0, 0.0, 0.0]
    assert people_from_openpose(data, 100, 100)[0].body[4] is None


def test_normalised_coordinates_are_detected_and_scaled():
    keypoints = [0.0] * 54
    keypoints[3:6] = [0.5, 0.25, 0.9]
    data = {"canvas_width": 1, "canvas_height": 1, "people": [{"pose_keypoints_2d": keypoints}]}
    assert people_from_openpose(data, 640, 480)[0].body[1] == (320.0, 120.0)


def test_pixels_are_rescaled_to_the_target_canvas_and_low_confidence_dropped():
    keypoints = [0.0] * 54
    keypoints[3:6] = [100.0, 50.0, 0.8]
    keypoints[6:9] = [120.0, 60.0, 0.01]
    data = {"canvas_width": 200, "canvas_height": 100, "people": [{"pose_keypoints_2d": keypoints}]}
    person = people_from_openpose(data, 400, 200)[0]
    assert person.body[1] == (200.0, 100.0) and person.body[2] is None


@pytest.mark.parametrize("text", ["{", "[]", '{"people": 3}', '{"people": [{"pose_keypoints_2d": [1, 2]}]}',
                                  '{"people": [{"pose_keypoints_2d": ["a", 1, 1]}]}'])
def test_bad_documents_are_typed_errors(text):
    with pytest.raises(InvalidRecipe):
        load_openpose_text(text, 64, 64)
