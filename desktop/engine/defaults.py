"""The built-in demo model: the default base model, and its ControlNet for scribbles."""

from __future__ import annotations

from pathlib import Path

from desktop.domain.catalog import OFFICIAL_CONTROLNETS
from desktop.domain.errors import InvalidRecipe

DEMO_MODEL = Path(__file__).resolve().parents[2] / "resources" / "demo_model"


def demo_model_installed() -> bool:
    return (DEMO_MODEL / "unet").is_dir()


def default_base_model() -> str:
    if not demo_model_installed():
        raise InvalidRecipe("base_model", "no base model given, and the built-in demo model is not installed")
    return str(DEMO_MODEL)


def default_controlnet(kind: str, base_reference: str, where: str) -> str:
    """The demo ControlNet for scribbles on the demo base; otherwise the official 1.1 model for the kind."""
    demo_net = DEMO_MODEL / f"controlnet_{kind}"
    if Path(base_reference).resolve() == DEMO_MODEL.resolve():
        if demo_net.is_dir():
            return str(demo_net)
        raise InvalidRecipe(f"{where}.controlnet", f"the demo model has no {kind} ControlNet; name one")
    if kind in OFFICIAL_CONTROLNETS:
        return OFFICIAL_CONTROLNETS[kind]
    raise InvalidRecipe(f"{where}.controlnet", f"no ControlNet given and none is known for kind {kind!r}")
