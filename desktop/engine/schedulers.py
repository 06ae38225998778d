"""Scheduler names users know, built fresh per run from the model's own scheduler config."""

from __future__ import annotations

from typing import Any

from desktop.domain.errors import InvalidRecipe

DISPLAY_NAMES = {
    "unipc": "UniPC",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
    "euler_a": "Euler a",
    "euler": "Euler",
    "ddim": "DDIM",
}


def make_scheduler(name: str, config: dict[str, Any]):
    """A new scheduler instance (schedulers keep per-run state, so one per run)."""
    from diffusers import (
        DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler, UniPCMultistepScheduler,
    )

    if name == "unipc":
        return UniPCMultistepScheduler.from_config(config)
    if name == "dpmpp_2m_karras":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", use_karras_sigmas=True)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(config)
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    raise InvalidRecipe("scheduler", f"must be one of {', '.join(DISPLAY_NAMES)}, got {name!r}")
