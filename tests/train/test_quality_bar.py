"""`train evaluate`: one row per measure of the demo's quality bar, each ControlNet the card names measured."""

from __future__ import annotations

from desktop.cli import main
from desktop.domain.defaults import DEMO_MODEL
from desktop.train.quality_bar import Row, evaluate_demo


def test_a_row_says_its_bar_and_whether_it_passed():
    assert Row("IoU", 0.851, 0.85).passed and not Row("IoU", 0.849, 0.85).passed
    assert Row("colour", 0.9, 0.9, True).text().endswith("90.0%  (bar >= 90%) ok")
    assert "BELOW" in Row("IoU", 0.5, 0.85).text()


def test_each_controlnet_is_measured_by_its_own_bar(cpu_cache):
    base, net = cpu_cache.base(str(DEMO_MODEL)), cpu_cache.controlnet(str(DEMO_MODEL / "controlnet_scribble"))
    evaluation = evaluate_demo(base, {"scribble": net, "pose": net}, count=1, steps=2)
    measures = [row.measure for row in evaluation.rows]
    assert sum(m.startswith("outlines: IoU") for m in measures) == 2  # guidance 5 and 7.5
    assert any(m.startswith("pose: share of the limbs") for m in measures)
    assert not any(m.startswith("edges") for m in measures)  # no canny ControlNet given
    assert set(evaluation.grids) == {"outlines_5", "outlines_7.5", "pose"}
    assert evaluation.grids["pose"].shape == (128, 64, 3)
    assert not evaluation.passed  # two steps of a scribble net as a pose net cannot pass


def test_the_cli_refuses_a_base_without_a_card(tiny_models, capsys):
    assert main(["train", "evaluate", "--base", str(tiny_models.base), "--samples", "1"]) == 2
    assert "has no model card" in capsys.readouterr().err


def test_an_evaluation_that_measured_nothing_did_not_pass():
    assert not evaluate_demo(None, {}, count=1).passed


def test_the_cli_refuses_a_card_naming_a_controlnet_the_model_lacks(tmp_path, capsys):
    import json
    import shutil

    model = tmp_path / "demo"
    shutil.copytree(DEMO_MODEL, model)
    card = json.loads((model / "model_card.json").read_text())
    assert card["controlnets"]["controlnet_pose"] == ["pose"]  # the card names it...
    shutil.rmtree(model / "controlnet_pose")  # ...and the folder is gone
    assert main(["train", "evaluate", "--base", str(model), "--samples", "1"]) == 2
    assert "names controlnet_pose, which" in capsys.readouterr().err
