"""The LoRAs, embeddings and VAE a recipe adds to its base model, resolved to files before anything loads.

Why here: every file they name passes the recipe's gate for model files (`Recipe.model_file`), so a stranger's PNG
recipe is refused before a byte is read, and the models are named to the user first. `<lora:...>`
tags join the recipe's `loras` and leave the text that is encoded; without a LoRA folder they are
reported, never encoded as words.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidRecipe
from .prompt_tags import LoraTag, split_lora_tags
from .recipe import Recipe, shown


@dataclass(frozen=True)
class LoraChoice:
    path: str
    weight: float


@dataclass(frozen=True)
class ModelExtras:
    """Resolved files, the prompts to encode (tags cut out) and what the user should hear about."""

    loras: tuple[LoraChoice, ...] = ()
    embeddings: tuple[str, ...] = ()
    vae: str | None = None
    prompt: str = ""
    negative_prompt: str = ""
    notices: tuple[str, ...] = ()

    def describe(self) -> str:
        """'LoRAs: a.safetensors (0.8); embeddings: b.safetensors; VAE: c', or '' when there are none."""
        parts = []
        if self.loras:
            parts.append("LoRAs: " + ", ".join(f"{lora.path} ({lora.weight:g})" for lora in self.loras))
        if self.embeddings:
            parts.append("embeddings: " + ", ".join(self.embeddings))
        if self.vae is not None:
            parts.append(f"VAE: {self.vae}")
        return "; ".join(parts)


def model_extras(recipe: Recipe) -> ModelExtras:
    """Resolve `recipe`'s LoRAs (its list, then the prompt's tags), embeddings and VAE through its gate."""
    prompt, tags = split_lora_tags(recipe.prompt, "prompt")
    negative, negative_tags = split_lora_tags(recipe.negative_prompt, "negative_prompt")
    notices = [f"negative prompt names LoRA {shown(tag.name, 60)}; LoRAs apply from the prompt only, so the tag "
               "was ignored" for tag in negative_tags]
    loras: dict[str, tuple[LoraChoice, str]] = {}
    for index, lora in enumerate(recipe.loras):
        where = f"loras[{index}].path"
        _add(loras, LoraChoice(recipe.model_file(lora.path, where), lora.weight), where)
    if recipe.lora_dir is None:
        notices += [f"prompt names LoRA {shown(tag.name, 60)} but no LoRA folder is set (render --lora-dir, or "
                    "Tools > LoRA Folder in the app); the tag was ignored" for tag in tags]
    else:
        for tag in tags:
            _add(loras, LoraChoice(_tag_file(recipe, tag), tag.weight), "prompt")
    return ModelExtras(
        loras=tuple(choice for choice, _ in loras.values()),
        embeddings=tuple(recipe.model_file(name, f"embeddings[{i}]") for i, name in enumerate(recipe.embeddings)),
        vae=None if recipe.vae is None else recipe.model_file(recipe.vae, "vae"),
        prompt=prompt, negative_prompt=negative, notices=tuple(notices),
    )


def _tag_file(recipe: Recipe, tag: LoraTag) -> str:
    folder = recipe.lora_dir
    path = str(folder / f"{tag.name}.safetensors")  # the user's own folder; the tag's name holds no separator
    if not os.path.isfile(path) and os.path.isdir(folder):  # A1111 also finds LoRAs kept in subfolders
        path = str(next(iter(sorted(Path(folder).rglob(glob.escape(tag.name) + ".safetensors"))), path))
    if not os.path.isfile(path):
        reason = "is not a folder" if not os.path.isdir(folder) else f"has no {shown(tag.name + '.safetensors', 80)}"
        raise InvalidRecipe("prompt", f"names LoRA {shown(tag.name, 60)}, but the LoRA folder {folder} {reason}")
    return path


def _add(loras: dict[str, tuple[LoraChoice, str]], choice: LoraChoice, where: str) -> None:
    """One adapter per file: the same file twice would silently double its weight."""
    key = os.path.normcase(os.path.abspath(choice.path))
    if key in loras:
        raise InvalidRecipe(where, f"names the LoRA {shown(Path(choice.path).name, 80)} a second time "
                            f"(first in {loras[key][1]})")
    loras[key] = (choice, where)
