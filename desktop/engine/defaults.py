"""The built-in demo model, and the default ControlNet for a kind of condition on a family of base model."""

from __future__ import annotations

from pathlib import Path

from desktop.domain.catalog import default_controlnet_id
from desktop.domain.errors import InvalidRecipe
from desktop.domain.family import Family

DEMO_MODEL = Path(__file__).resolve().parents[2] / "resources" / "demo_model"


def demo_model_installed() -> bool:
    return (DEMO_MODEL / "unet").is_dir()


def default_base_model() -> str:
    if not demo_model_installed():
        raise InvalidRecipe("base_model", "no base model given, and the built-in demo model is not installed")
    return str(DEMO_MODEL)


def default_controlnet(kind: str, base_reference: str, where: str, family: Family = Family.SD1) -> str:
    """The demo's own ControlNet on the demo base; otherwise the family's official model for the kind."""
    demo_net = DEMO_MODEL / f"controlnet_{kind}"
    if Path(base_reference).resolve() == DEMO_MODEL.resolve():
        if demo_net.is_dir():
            return str(demo_net)
        raise InvalidRecipe(f"{where}.controlnet", f"the demo model has no {kind} ControlNet; name one")
    model = default_controlnet_id(family, kind)
    if model is None:
        raise InvalidRecipe(
            f"{where}.controlnet", f"no ControlNet given and none is known for {kind} on {family.label} models; name one"
        )
    return model
