"""A failed run as the user reads it: typed across the thread, layers named by their names, one action
per way out. Pure mapping, no window."""

from __future__ import annotations

import pytest

from desktop.domain.document import DocState, GenerationSettings, build_recipe
from desktop.domain.errors import (
    BROWSE_MODEL, CHOOSE_CONTROLNET, SMALLER_SIZE, InvalidRecipe, ModelNotFound, NaNOutput, OutOfMemory, RunError,
    WrongFamily,
)
from desktop.domain.layers import ImageLayer, PoseLayer, ScribbleLayer
from desktop.ui import run_errors
from desktop.ui.run_errors import condition_layers, explain, name_layers, smaller_size

OFF = ScribbleLayer(name="Hidden sketch", enabled=False)
POSE = PoseLayer(name="Pose")
LINES = ScribbleLayer(name="Lines", controlnet="/models/lines-cn")
LAYERS = [OFF, POSE, LINES]  # bottom-up, as the document holds them


def _names(shown) -> list[tuple[str, str | None]]:
    return [(action.name, action.layer_id) for action in shown.actions]


def test_condition_i_is_the_ith_enabled_layer_as_the_document_builds_the_recipe():
    state = DocState(GenerationSettings(width=64, height=64), tuple(LAYERS))
    images = {layer.id: b"png" for layer in LAYERS}
    recipe_layers = [c.extra["layer"] for c in build_recipe(state, images).conditions]
    assert recipe_layers == [layer.name for layer in condition_layers(state.layers)] == ["Pose", "Lines"]


def test_the_error_crosses_the_thread_as_its_type_and_fields():
    oom = RunError.from_error(OutOfMemory("out of memory while sampling: lower the image size", detail="CUDA"))
    assert (oom.kind, oom.action, oom.detail) == ("OutOfMemory", SMALLER_SIZE, "CUDA")
    missing = RunError.from_error(InvalidRecipe("conditions[1].controlnet", "this model has no pose ControlNet"))
    assert (missing.kind, missing.field, missing.action) == ("InvalidRecipe", "conditions[1].controlnet", CHOOSE_CONTROLNET)
    assert missing.reason == "this model has no pose ControlNet"
    family = RunError.from_error(WrongFamily("/models/lines-cn is an SDXL ControlNet"))
    assert family.is_a("ArchitectureMismatch") and family.is_a("StudioError") and not family.is_a("OutOfMemory")
    assert RunError.from_error(ModelNotFound("model not found: x")).action == BROWSE_MODEL
    crash = RunError.from_error(KeyError("boom"))
    assert crash.kind == "InternalError" and crash.message.startswith("something went wrong") and crash.action == ""


@pytest.mark.parametrize("message, expected", [
    ("conditions[0].controlnet: the demo model has no pose ControlNet (it has scribble); name one, or turn the layer off",
     "Layer 'Pose': the demo model has no pose ControlNet (it has scribble); name one, or turn the layer off"),
    ("conditions[1].weight: must be between 0 and 2, got 3", "Layer 'Lines' (weight): must be between 0 and 2, got 3"),
    ("conditions[1].params.low_threshold: must be a number",
     "Layer 'Lines' (low threshold): must be a number"),
    ("cannot read image (conditions[1].image_data.)", "cannot read image (layer 'Lines'.)"),
    ("conditions[7].mode: must be one of balanced, prompt", "Condition 8 (mode): must be one of balanced, prompt"),
])
def test_conditions_are_named_by_their_layers(message, expected):
    assert name_layers(message, condition_layers(LAYERS)) == expected


def test_no_controlnet_for_a_kind_offers_turn_off_and_pick():
    error = RunError.from_error(InvalidRecipe("conditions[0].controlnet", "the demo model has no pose ControlNet"))
    shown = explain(error, condition_layers(LAYERS), (512, 512))
    assert shown.message == "Layer 'Pose': the demo model has no pose ControlNet"
    assert _names(shown) == [(run_errors.TURN_LAYER_OFF, POSE.id), (run_errors.PICK_CONTROLNET, POSE.id)]
    assert [a.label for a in shown.actions] == ["Turn layer off", "Pick ControlNet…"]


def test_out_of_memory_offers_half_the_pixels_unless_the_size_is_the_smallest():
    error = RunError.from_error(OutOfMemory("out of memory while sampling: lower the image size"))
    shown = explain(error, [], (1024, 768))
    assert shown.message.startswith("out of memory") and shown.actions[0].label == "Use 720 × 536"
    assert shown.actions[0].size == (720, 536) and 720 * 536 <= 1024 * 768 / 2
    assert explain(error, [], (64, 64)).actions == ()


@pytest.mark.parametrize("size, expected", [
    ((512, 512), (360, 360)), ((1024, 1024), (720, 720)), ((128, 96), (88, 64)), ((64, 64), None), ((72, 64), (64, 64)),
])
def test_a_smaller_size_has_at_most_half_the_pixels_in_multiples_of_8(size, expected):
    smaller = smaller_size(*size)
    assert smaller == expected
    if smaller is not None and min(smaller) > 64:
        assert smaller[0] % 8 == smaller[1] % 8 == 0 and smaller[0] * smaller[1] <= size[0] * size[1] / 2


def test_a_missing_model_is_browsed_for_where_it_belongs():
    layers = condition_layers(LAYERS)
    layer_net = explain(RunError.from_error(ModelNotFound("model not found: /models/lines-cn is neither a file")),
                        layers, (64, 64), "/models/base")
    assert layer_net.message.startswith("Layer 'Lines': model not found")
    assert _names(layer_net) == [(run_errors.BROWSE_CONTROLNET, LINES.id), (run_errors.TURN_LAYER_OFF, LINES.id)]
    base = explain(RunError.from_error(ModelNotFound("model not found: /models/base is neither a file")),
                   layers, (64, 64), "/models/base")
    assert _names(base) == [(run_errors.BROWSE_BASE, None)] and base.actions[0].label == "Browse…"
    lora = explain(RunError.from_error(ModelNotFound("LoRA not found: /loras/ink.safetensors is not a file")),
                   layers, (64, 64), "/models/base", ["/loras/ink.safetensors"])
    assert lora.actions == ()


def test_a_controlnet_of_another_family_names_its_layer_and_offers_another():
    error = RunError.from_error(WrongFamily("/models/lines-cn is an SDXL ControlNet, but the base model is SD 1.x"))
    shown = explain(error, condition_layers(LAYERS), (64, 64))
    assert shown.message.startswith("Layer 'Lines': /models/lines-cn is an SDXL ControlNet")
    assert _names(shown) == [(run_errors.PICK_CONTROLNET, LINES.id), (run_errors.TURN_LAYER_OFF, LINES.id)]


def test_an_empty_layer_is_named_and_can_be_turned_off():
    photo = ImageLayer(name="Photo")
    error = RunError.from_error(InvalidRecipe("layer Photo", "is empty: draw on it, or hide it with its eye"))
    shown = explain(error, [photo], (64, 64))
    assert shown.message == "Layer 'Photo' is empty: draw on it, or hide it with its eye"
    assert _names(shown) == [(run_errors.SELECT_LAYER, photo.id), (run_errors.TURN_LAYER_OFF, photo.id)]


def test_other_errors_only_close():
    shown = explain(RunError.from_error(NaNOutput("the model produced NaNs; no image was kept")), [], (64, 64))
    assert shown.kind == "NaNOutput" and shown.actions == ()
