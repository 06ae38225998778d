"""Fixtures shared by the engine tests."""

from __future__ import annotations

import pytest

from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache

from .family_models import family_models  # noqa: F401 - tiny models of every family, for every engine test
from .hub_fixtures import connections, hub_cache, hub_online  # noqa: F401 - an own hub cache, connections refused


def cpu_model_cache() -> ModelCache:
    return ModelCache(choose_device("cpu"))


@pytest.fixture()
def loaded_twice(tiny_models):
    """Our cache, and a second copy of the same models for diffusers' pipeline to change (LoRAs, embeddings)."""
    mine, reference = cpu_model_cache(), cpu_model_cache()
    return (mine, mine.base(str(tiny_models.base)), mine.controlnet(str(tiny_models.controlnet)),
            reference.base(str(tiny_models.base)), reference.controlnet(str(tiny_models.controlnet)))
