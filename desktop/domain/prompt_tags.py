"""`<lora:name:weight>` tags in a prompt, as AUTOMATIC1111 writes them.

Why: prompts shared with images carry their LoRAs this way. A tag is never text for the encoder:
it is cut out of the prompt (the surrounding text stays as it was, as A1111 leaves it) and names a
file in the user's LoRA folder. A name is a file name in that folder, never a path, so a prompt
cannot reach anywhere else.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from .errors import InvalidRecipe
from .recipe import LORA_WEIGHT_MAX, shown

_TAG = re.compile(r"<lora:([^>]*)>", re.IGNORECASE)


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float = 1.0


def split_lora_tags(text: str, where: str) -> tuple[str, list[LoraTag]]:
    """The text without its tags, and the tags in the order written."""
    tags = [_parse(match.group(1), where) for match in _TAG.finditer(text)]
    return _TAG.sub("", text), tags


def _parse(body: str, where: str) -> LoraTag:
    tag = shown(f"<lora:{body}>", 80)
    name, _, rest = body.partition(":")
    if ":" in rest:
        raise InvalidRecipe(where, f"the LoRA tag {tag} has more than one weight; this version applies one "
                            "weight per LoRA (<lora:name:weight>)")
    if not name.strip() or "/" in name or "\\" in name or ".." in name or any(
        unicodedata.category(c) == "Cc" for c in name
    ):
        raise InvalidRecipe(where, f"the LoRA tag {tag} must name a file in the LoRA folder: a name without "
                            "path separators or '..'")
    if not rest:
        return LoraTag(name)
    try:
        weight = float(rest)
    except ValueError:
        weight = math.nan
    if not (math.isfinite(weight) and -LORA_WEIGHT_MAX <= weight <= LORA_WEIGHT_MAX):
        raise InvalidRecipe(where, f"the LoRA tag {tag} needs a weight between {-LORA_WEIGHT_MAX:g} and "
                            f"{LORA_WEIGHT_MAX:g}")
    return LoraTag(name, weight)
