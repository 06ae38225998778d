"""The built-in demo model, a base model's card defaults, and the default ControlNet for a kind of
condition on a family of base model."""

from __future__ import annotations

from pathlib import Path

from .catalog import default_controlnet_id
from .errors import InvalidRecipe
from .family import Family
from .model_card import ModelCard, read_model_card
from .recipe import Recipe

DEMO_MODEL = Path(__file__).resolve().parents[2] / "resources" / "demo_model"


def demo_model_installed() -> bool:
    return (DEMO_MODEL / "unet").is_dir()


def default_base_model() -> str:
    if not demo_model_installed():
        raise InvalidRecipe("base_model", "no base model given, and the built-in demo model is not installed")
    return str(DEMO_MODEL)


def model_card(base_reference: str) -> ModelCard | None:
    """The card beside a base model in a local folder (the demo's, or any model that ships one)."""
    folder = Path(base_reference)
    return read_model_card(folder) if folder.is_dir() else None


def with_card_defaults(recipe: Recipe) -> Recipe:
    """The recipe with what it left unset (size, guidance, steps, sampler) taken from its base model's card."""
    if not recipe.unset:
        return recipe
    base = recipe.model_reference(recipe.base_model) if recipe.base_model else default_base_model()
    card = model_card(base)
    if card is None:
        return recipe
    unset = set(recipe.unset)
    if not {"width", "height"} <= unset:  # a size is one setting: half given by the recipe keeps the other half too
        unset -= {"width", "height"}
    changes = {key: value for key, value in card.defaults.items() if key in unset}
    return recipe.with_overrides(**changes).validate() if changes else recipe


def default_controlnet(kind: str, base_reference: str, where: str, family: Family = Family.SD1) -> str:
    """The ControlNet the base model's card names for the kind (the demo's own ControlNets); otherwise the
    family's official model for the kind, unless the card says no other ControlNet fits the model."""
    card = model_card(base_reference)
    folder = card.controlnet_for(kind) if card is not None else None
    if folder is not None and (Path(base_reference) / folder).is_dir():
        return str(Path(base_reference) / folder)
    if card is not None and (folder is not None or not card.other_controlnets):
        served = sorted({k for kinds in card.controlnets.values() for k in kinds})
        name = "the demo model" if _is_demo(base_reference) else "this model"
        raise InvalidRecipe(f"{where}.controlnet", f"{name} has no {kind} ControlNet (it has {', '.join(served) or 'none'}); "
                            "name one, or turn the layer off")
    model = default_controlnet_id(family, kind)
    if model is None:
        raise InvalidRecipe(
            f"{where}.controlnet", f"no ControlNet given and none is known for {kind} on {family.label} models; name one"
        )
    return model


def _is_demo(base_reference: str) -> bool:
    return Path(base_reference).resolve() == DEMO_MODEL.resolve()
