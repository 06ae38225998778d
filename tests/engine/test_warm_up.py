"""Warming the fast path up before the first run (#15): everything a render of a recipe will compile is
compiled without sampling, so the render after it compiles nothing, says no "optimising", and gives the
image a render without a warm-up gives.

Compiles are counted with dynamo's "eager" backend (see test_fast_path.py): graphs are captured exactly as
inductor would be handed them, without a C++ toolchain or minutes of compiling.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.domain.errors import Cancelled, OutOfMemory
from desktop.domain.recipe import Condition, Recipe
from desktop.engine.cancel import CancelToken
from desktop.engine.device import DeviceChoice
from desktop.engine.fast_path import FastPathOptions
from desktop.engine.model_cache import ModelCache
from desktop.engine.render import render, warm_up

CPU32 = DeviceChoice(torch.device("cpu"), torch.float32)
COUNTING = FastPathOptions(backend="eager", channels_last=False, min_parameters=0)


@pytest.fixture(autouse=True)
def _fresh_compiler():
    """Each test starts with dynamo's caches empty, and leaves none behind for the tests after it."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _recipe(tiny_models, **condition) -> Recipe:
    return Recipe(prompt="a red circle", base_model=str(tiny_models.base), width=64, height=64, steps=4, seed=3,
                  conditions=[Condition(kind="scribble", image=str(tiny_models.scribble),
                                        controlnet=str(tiny_models.controlnet), **condition)])


def _warm_then_render(recipe: Recipe) -> tuple[int, int, list[str], list[str], np.ndarray]:
    """Graphs the warm-up compiled, graphs the render after it compiled, what each said, the image."""
    cache = ModelCache(CPU32, COUNTING)
    warming: list[str] = []
    compiled = warm_up(cache, recipe, on_status=warming.append)
    assert compiled == cache.fast.compiles  # what it returns is what the backend was handed
    running: list[str] = []
    image = render(cache, recipe, on_status=running.append).image
    return compiled, cache.fast.compiles - compiled, warming, running, image


def test_a_warm_up_compiles_what_the_render_needs_and_changes_no_pixel(tiny_models):
    recipe = _recipe(tiny_models)
    cold_cache = ModelCache(CPU32, COUNTING)
    cold = render(cold_cache, recipe).image
    assert cold_cache.fast.compiles > 0  # without a warm-up, the render pays for compiling

    compiled, after, warming, running, image = _warm_then_render(recipe)
    assert compiled >= 2  # the ControlNet and the UNet
    assert after == 0
    assert len(warming) == 1 and warming[0].startswith("optimising the model for 64 x 64")
    assert running == []  # the render has nothing left to optimise, and says nothing of it
    np.testing.assert_array_equal(image, cold)
    np.testing.assert_array_equal(image, render(ModelCache(CPU32, None), recipe).image)  # nor vs uncompiled


def test_a_controlnet_active_for_part_of_the_run_warms_both_sets(tiny_models):
    """Steps with the ControlNet and steps without it call different graphs: both are compiled."""
    full, _, _, _, _ = _warm_then_render(_recipe(tiny_models))
    torch._dynamo.reset()
    compiled, after, warming, running, _ = _warm_then_render(_recipe(tiny_models, start=0.0, end=0.5))
    assert compiled > full  # the UNet without residuals, on top of what the full-range recipe needs
    assert after == 0 and running == []
    assert len(warming) == 2  # one "optimising" per set of active networks


def test_a_cancel_before_the_start_compiles_nothing(tiny_models):
    cache = ModelCache(CPU32, COUNTING)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        warm_up(cache, _recipe(tiny_models), cancel=token)
    assert cache.fast.compiles == 0


def test_nothing_to_compile_returns_zero_at_once(tiny_models, monkeypatch):
    from desktop.engine import sampler

    def no_step(*args, **kwargs):
        raise AssertionError("a model step ran with nothing to compile")

    monkeypatch.setattr(sampler, "_prepare", no_step)
    assert warm_up(ModelCache(CPU32, None), _recipe(tiny_models)) == 0  # no fast path
    small = ModelCache(CPU32, FastPathOptions(backend="eager"))  # the tiny models are below the size that compiles
    assert warm_up(small, _recipe(tiny_models)) == 0


def test_out_of_memory_while_warming_is_the_typed_error(tiny_models, monkeypatch):
    from desktop.engine.model_step import ModelStep

    def oom(self, *args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(ModelStep, "__call__", oom)
    with pytest.raises(OutOfMemory, match="optimising the model"):
        warm_up(ModelCache(CPU32, COUNTING), _recipe(tiny_models))
