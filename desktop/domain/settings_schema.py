"""Every setting a render takes, defined once: its key, type, default, limits, label and choices.

The recipe parses and checks its keys against these (`recipe.check_setting`), the project file
reader takes or resets a value by the same rules, the document's settings and a new layer start
from them, and the widgets take their ranges, labels and menus from them. A new setting added
here is parsed, validated and tested (tests/domain/test_settings_schema.py) without more code.

Plain data, no Qt and no imports from the rest of the app. Rules between two settings (start
below end; keep_unmasked only with inpaint) stay with the recipe, which knows both.

`default` is what a recipe or project file that leaves a key out means; `initial` is what a new
document or layer starts with, where that differs (a new document greets the user with a prompt;
a reference photo is cropped to the canvas by default, a recipe's control image resized).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_AS_DEFAULT: Any = object()  # `initial` left out: a new document or layer starts at the default


@dataclass(frozen=True)
class Choice:
    """One value a choice setting takes, and how the UI names it."""

    value: str
    label: str


@dataclass(frozen=True)
class Setting:
    key: str
    type: type  # str, int, float or bool
    default: Any
    label: str
    minimum: float | None = None
    maximum: float | None = None
    multiple_of: int | None = None
    step: float | None = None  # the finest change a widget offers (a float slider's resolution)
    choices: tuple[Choice, ...] = ()
    initial: Any = _AS_DEFAULT
    in_recipe: bool = True  # False: the document's own (saved in a project, never part of a render)
    card_default: bool = False  # a base model's card may give its value when a recipe leaves it out

    def __post_init__(self) -> None:
        if self.initial is _AS_DEFAULT:
            object.__setattr__(self, "initial", self.default)

    @property
    def values(self) -> tuple[str, ...]:
        """The values a choice setting takes, in the order messages list them."""
        return tuple(choice.value for choice in self.choices)

    @property
    def labels(self) -> dict[str, str]:
        """Each choice's UI label, by value."""
        return {choice.value: choice.label for choice in self.choices}

    @property
    def menu(self) -> tuple[Choice, ...]:
        """The choices as a menu lists them: the one a new document or layer starts with first."""
        return tuple(sorted(self.choices, key=lambda choice: choice.value != self.initial))


def _choices(*pairs: tuple[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in pairs)


# -- generation: the document's settings, and the recipe's top-level keys ---------------------------
PROMPT = Setting("prompt", str, "", "Prompt", initial="a cosy cottage in a meadow, watercolour")
NEGATIVE_PROMPT = Setting("negative_prompt", str, "", "Negative prompt")
SEED = Setting("seed", int, 0, "Seed", minimum=0, maximum=2**32 - 1, step=1, initial=42)
RANDOM_SEED = Setting("random_seed", bool, False, "Random", in_recipe=False)
STEPS = Setting("steps", int, 20, "Steps", minimum=1, maximum=150, step=1, card_default=True)
GUIDANCE_SCALE = Setting("guidance_scale", float, 7.5, "Guidance", minimum=0.0, maximum=30.0, step=0.5,
                         card_default=True)
WIDTH = Setting("width", int, 512, "Width", minimum=64, maximum=2048, multiple_of=8, step=8, card_default=True)
HEIGHT = Setting("height", int, 512, "Height", minimum=64, maximum=2048, multiple_of=8, step=8, card_default=True)
SCHEDULER = Setting("scheduler", str, "unipc", "Sampler", card_default=True, choices=_choices(
    ("unipc", "UniPC"),
    ("dpmpp_2m_karras", "DPM++ 2M Karras"),
    ("euler_a", "Euler a"),
    ("euler", "Euler"),
    ("ddim", "DDIM"),
))

# -- a condition (the recipe's `conditions[i]`) and the layer it comes from -------------------------
KIND = Setting("kind", str, "scribble", "Use as", choices=_choices(*((kind, kind) for kind in (
    "scribble", "canny", "pose", "depth", "normal", "seg", "lines", "lineart",
    "softedge", "shuffle", "tile", "inpaint", "image",
))))
WEIGHT = Setting("weight", float, 1.0, "Weight", minimum=0.0, maximum=2.0, step=0.01)
START = Setting("start", float, 0.0, "Start", minimum=0.0, maximum=1.0, step=0.01)
END = Setting("end", float, 1.0, "End", minimum=0.0, maximum=1.0, step=0.01)
MODE = Setting("mode", str, "balanced", "Control mode", choices=_choices(
    ("balanced", "Balanced"),
    ("prompt", "Prompt is more important"),
    ("control", "ControlNet is more important"),
    ("cfg-rw", "CFG resolution weighting (paper)"),
))
ENABLED = Setting("enabled", bool, True, "Enabled")
RESIZE_MODE = Setting("resize_mode", str, "just_resize", "Resize", initial="crop_and_resize", choices=_choices(
    ("just_resize", "Just resize"),
    ("crop_and_resize", "Crop and resize"),
    ("resize_and_fill", "Resize and fill"),
))
PIXEL_PERFECT = Setting("pixel_perfect", bool, True, "Pixel perfect")
KEEP_UNMASKED = Setting("keep_unmasked", bool, False, "Keep the rest of the photo exactly", initial=True)
OPACITY = Setting("opacity", float, 1.0, "Display opacity", minimum=0.0, maximum=1.0, step=0.01, in_recipe=False)

# -- a LoRA entry (the recipe's `loras[i]`, a `<lora:name:weight>` tag) --------------------------------
# A1111's slider reaches 2; strong negative and over-weighted LoRAs are used on purpose.
LORA_WEIGHT = Setting("weight", float, 1.0, "Weight", minimum=-4.0, maximum=4.0, step=0.05)

# The document's settings in the order `GenerationSettings` holds them (a project reports damage in it).
GENERATION: tuple[Setting, ...] = (
    PROMPT, NEGATIVE_PROMPT, SEED, RANDOM_SEED, STEPS, GUIDANCE_SCALE, WIDTH, HEIGHT, SCHEDULER,
)
RECIPE_SETTINGS: tuple[Setting, ...] = tuple(s for s in GENERATION if s.in_recipe)
# A condition's settings in the order the recipe checks them (the first broken one is named).
CONDITION: tuple[Setting, ...] = (KIND, MODE, WEIGHT, START, END, ENABLED, RESIZE_MODE, PIXEL_PERFECT, KEEP_UNMASKED)
LAYER: tuple[Setting, ...] = (WEIGHT, START, END, MODE, ENABLED, OPACITY)  # what every layer kind holds
LORA: tuple[Setting, ...] = (LORA_WEIGHT,)
