"""Scheduler names users know, built fresh per run from the model's own scheduler config.

The names and their labels are the settings schema's (`SCHEDULER`); here is only how each one is built."""

from __future__ import annotations

from typing import Any

from desktop.domain.errors import InvalidRecipe
from desktop.domain.settings_schema import SCHEDULER



def _diffusers(class_name: str):
    import diffusers  # imported when a scheduler is built, not when the app starts

    return getattr(diffusers, class_name)


BUILDERS = {  # one per name in the schema's SCHEDULER choices (a test holds them equal)
    "unipc": lambda config: _diffusers("UniPCMultistepScheduler").from_config(config),
    "dpmpp_2m_karras": lambda config: _diffusers("DPMSolverMultistepScheduler").from_config(
        config, algorithm_type="dpmsolver++", use_karras_sigmas=True),
    "euler_a": lambda config: _diffusers("EulerAncestralDiscreteScheduler").from_config(config),
    "euler": lambda config: _diffusers("EulerDiscreteScheduler").from_config(config),
    "ddim": lambda config: _diffusers("DDIMScheduler").from_config(config),
}


def make_scheduler(name: str, config: dict[str, Any]):
    """A new scheduler instance (schedulers keep per-run state, so one per run)."""
    if name not in SCHEDULER.values or name not in BUILDERS:
        raise InvalidRecipe("scheduler", f"must be one of {', '.join(SCHEDULER.values)}, got {name!r}")
    return BUILDERS[name](config)
