"""The recipe: everything a render needs, as a JSON document.

Validation names the field and the rule. Unknown keys are kept (a newer app may have
written them) and written back; a `version` key is always written.

A recipe reads local files (control images, masks, OpenPose JSON) only through `local_file`: one
a user wrote finds them in its own folder; one that came inside a PNG or a project is
self-contained and reads none, so a stranger's file cannot make the app read and embed yours.
LoRAs, embeddings and a VAE override are model files, gated by `model_file` as base models are: the
user's recipes and projects may name them (they are named before loading); a stranger's PNG may not.
Likewise it loads a preprocessor's network only through `preprocessor_model`: a stranger's PNG
recipe may name hub models, never a local folder; the app's own recipes (self-contained, since a
project may be a stranger's) load what the user picked in a layer's fields, named when it opens.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InvalidRecipe, UntrustedPath
from .safe_files import MAX_RECIPE_BYTES, read_text_file
from .settings_schema import (
    CONDITION, END, ENABLED, GUIDANCE_SCALE, HEIGHT, KEEP_UNMASKED, KIND, LORA_WEIGHT, MODE, NEGATIVE_PROMPT,
    PIXEL_PERFECT, PROMPT, RECIPE_SETTINGS, RESIZE_MODE, SCHEDULER, SEED, START, STEPS, WEIGHT, WIDTH, Setting,
)

RECIPE_VERSION = 1
RECIPE_KEY = "controlnet_studio_recipe"  # the text chunk of a result PNG that holds its recipe
# Names other modules import, read from the settings schema (each setting is defined there once).
CONTROL_MODES = MODE.values
SCHEDULERS = SCHEDULER.values
CONDITION_KINDS = KIND.values
RESIZE_MODES = RESIZE_MODE.values
SEED_MAX = int(SEED.maximum)
CARD_DEFAULTABLE = tuple(s.key for s in RECIPE_SETTINGS if s.card_default)  # a model card may set these
SIZE_MIN, SIZE_MAX = int(WIDTH.minimum), int(WIDTH.maximum)
STEPS_MIN, STEPS_MAX = int(STEPS.minimum), int(STEPS.maximum)
GUIDANCE_MAX = GUIDANCE_SCALE.maximum
WEIGHT_MAX = WEIGHT.maximum
LORA_WEIGHT_MAX = LORA_WEIGHT.maximum
MAX_LORAS = 32  # A1111 users stack about 5; each one costs memory and time per step
MAX_EMBEDDINGS = 64
WEIGHTS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")  # refused by name: opening one can run code
MAX_NESTING = 64  # levels of objects and lists; a recipe needs about 8, and deeper ones exhaust the stack
MAX_MODEL_NAME = 4096  # characters: the longest path an operating system takes
# Each condition holds a control image at the output size, and a few bytes of PNG can ask for one:
# A1111 starts with 3 ControlNet units and few people run more than 10.
MAX_CONDITIONS = 16
# A Hugging Face hub id as the hub spells one: owner/name, each part starting with a letter or digit.
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")

_CONDITION_KEYS = {
    "image", "image_data", "controlnet", "preprocess", "params", "pose", "mask_data", "region_mask", "region_mask_data",
    *(s.key for s in CONDITION),
}
_APP_KEYS = {"layer"}  # written by the app beside each condition: the layer it came from
_RECIPE_KEYS = {
    "version", "base_model", "conditions", "loras", "embeddings", "vae", *(s.key for s in RECIPE_SETTINGS),
}
_LORA_KEYS = {"path", "weight"}


@dataclass
class Condition:
    """One control layer as the sampler sees it: a control image and how strongly it steers."""

    kind: str = KIND.default
    image: str | None = None
    image_data: bytes | None = None
    controlnet: str | None = None
    weight: float = WEIGHT.default
    start: float = START.default
    end: float = END.default
    mode: str = MODE.default
    enabled: bool = ENABLED.default
    preprocess: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    pose: Any = None  # an OpenPose JSON file name, or the OpenPose document inline
    resize_mode: str = RESIZE_MODE.default
    pixel_perfect: bool = PIXEL_PERFECT.default
    mask_data: bytes | None = None  # inpaint: the mask as PNG bytes (white = repaint); or params.mask names a file
    keep_unmasked: bool = KEEP_UNMASKED.default  # inpaint: lay the photo back over the result outside the mask
    region_mask: str | None = None  # where the condition steers: a mask image's file name (white = active)
    region_mask_data: bytes | None = None  # or the mask as PNG bytes
    extra: dict[str, Any] = field(default_factory=dict)


def runs_at(enabled: bool, weight: float, start: float, end: float, step: int, total: int) -> bool:
    """Whether a condition runs at step `step` (0-based) of `total`: diffusers' start/end rule,
    and never when disabled or at weight 0 (no compute is spent on it)."""
    if not enabled or weight == 0.0:
        return False
    return not (step / total < start or (step + 1) / total > end)


@dataclass
class LoraEntry:
    """One LoRA file and its weight; keys a newer app wrote beside them are kept in `extra`."""

    path: str
    weight: float = LORA_WEIGHT.default
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    prompt: str = PROMPT.default
    negative_prompt: str = NEGATIVE_PROMPT.default
    seed: int = SEED.default
    steps: int = STEPS.default
    guidance_scale: float = GUIDANCE_SCALE.default
    width: int = WIDTH.default
    height: int = HEIGHT.default
    scheduler: str = SCHEDULER.default
    base_model: str | None = None
    conditions: list[Condition] = field(default_factory=list)
    loras: list[LoraEntry] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)  # textual-inversion files; each one's token is its file stem
    vae: str | None = None  # a VAE file or folder used instead of the base model's own
    extra: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None  # the folder of the user's JSON recipe: its file names start there
    self_contained: bool = False  # came inside a PNG or a project: embedded data only, never a local file
    local_models: bool = True  # may load a preprocessor network from a local folder (not a stranger's PNG)
    lora_dir: Path | None = None  # the user's LoRA folder, where `<lora:name>` in a prompt looks (never written)
    # Keys the recipe's JSON did not set (of those a model card may give): the base model's card fills them.
    unset: frozenset[str] = field(default=frozenset(), compare=False)

    def model_reference(self, reference: str) -> str:
        """A model in the recipe's folder becomes its absolute path; anything else (a hub id) passes as written."""
        if self.base_dir is None or Path(reference).is_absolute():
            return reference
        candidate = self.base_dir / reference
        return str(candidate) if os.path.exists(candidate) else reference

    def local_file(self, reference: str, where: str) -> str:
        """The one gate for every local file a recipe reads (images, masks, poses).

        A self-contained recipe is refused whether or not the file exists, so the answer tells a
        stranger nothing about your files; a user's recipe finds relative names in its own folder only.
        """
        if self.self_contained:
            raise UntrustedPath(f"{where} names the local file {shown(reference, 120)}, which a recipe from a PNG "
                                "or project may not read")
        return self._in_own_folder(reference, where)

    def model_file(self, reference: str, where: str) -> str:
        """The gate for the weights files a recipe adds to its base model (LoRAs, embeddings, a VAE).

        They are treated as base models and ControlNets are: read by safetensors-only loaders and named
        to the user before anything loads (the CLI's first line, the app's status bar when a project
        opens), so the user's recipes and projects may name them. A stranger's PNG may not, unless the
        user allows local files, since its names would probe and load files of the user's choosing.
        """
        if not self.local_models:
            raise UntrustedPath(f"{where} names the local model file {shown(reference, 120)}, which a recipe from "
                                "a PNG may not load")
        return self._in_own_folder(reference, where)

    def _in_own_folder(self, reference: str, where: str) -> str:
        """A relative name is found in the recipe's own folder only (never the current folder)."""
        _check_file_name(reference, where)
        if self.base_dir is None or Path(reference).is_absolute():
            return reference
        candidate = self.base_dir / reference
        if not os.path.exists(candidate):  # False, not an error, for a name too long for the system
            raise InvalidRecipe(where, f"{shown(reference, 120)} was not found in the recipe's folder {self.base_dir}")
        return str(candidate)

    def preprocessor_model(self, reference: str, where: str) -> str:
        """The gate for a preprocessor's network, which loads from a hub id or a local folder.

        A self-contained recipe may name hub ids only (they are named before they download); any other
        name is refused whether or not it exists, and so is a hub-shaped name that is also a folder here,
        since the loader would read that folder instead.
        """
        if not self.local_models and not (is_hub_id(reference) and not os.path.exists(reference)):
            raise UntrustedPath(f"{where} names the local model {shown(reference, 120)}, which a recipe from a PNG "
                                "or project may not load")
        return reference

    def unknown_keys(self) -> list[str]:
        """Keys this version does not use (kept and written back): named to the user, since a
        `loras` or `vae` the user expects to apply would otherwise be ignored without a word."""
        keys = [shown(key, 40) for key in self.extra]
        for index, lora in enumerate(self.loras):
            keys += [shown(f"loras[{index}].{key}", 60) for key in lora.extra]
        for index, condition in enumerate(self.conditions):
            keys += [shown(f"conditions[{index}].{key}", 60) for key in condition.extra if key not in _APP_KEYS]
        return keys

    def validate(self) -> "Recipe":
        """Raise InvalidRecipe naming the first field that breaks its rule."""
        for setting in RECIPE_SETTINGS:
            check_setting(setting, getattr(self, setting.key))
        _check_model_name("base_model", self.base_model)
        if len(self.conditions) > MAX_CONDITIONS:
            raise InvalidRecipe("conditions",
                                f"must hold at most {MAX_CONDITIONS} conditions, got {len(self.conditions)}")
        for index, condition in enumerate(self.conditions):
            _validate_condition(f"conditions[{index}]", condition)
        _validate_model_extras(self)
        return self

    def with_overrides(self, **changes: Any) -> "Recipe":
        """A copy with `changes`; a key set here is no longer left to the model card."""
        return replace(self, **{"unset": frozenset(self.unset - changes.keys()), **changes})

    def to_dict(self, *, embed_images: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            version=RECIPE_VERSION, **{s.key: getattr(self, s.key) for s in RECIPE_SETTINGS},
            base_model=self.base_model,
            conditions=[_condition_to_dict(c, embed_images) for c in self.conditions],
        )
        if self.loras:
            data["loras"] = [{**lora.extra, "path": lora.path, "weight": lora.weight} for lora in self.loras]
        if self.embeddings:
            data["embeddings"] = list(self.embeddings)
        if self.vae is not None:
            data["vae"] = self.vae
        return data

    def to_json(self, *, embed_images: bool = False) -> str:
        return json.dumps(self.to_dict(embed_images=embed_images), indent=2, ensure_ascii=False)


def _condition_to_dict(condition: Condition, embed_images: bool) -> dict[str, Any]:
    data: dict[str, Any] = dict(condition.extra)
    data.update(
        kind=condition.kind, image=condition.image, controlnet=condition.controlnet,
        weight=condition.weight, start=condition.start, end=condition.end,
        mode=condition.mode, enabled=condition.enabled,
    )
    if condition.preprocess is not None:
        data.update(preprocess=condition.preprocess, params=dict(condition.params))
    if condition.pose is not None:
        data["pose"] = condition.pose
    if condition.resize_mode != "just_resize" or not condition.pixel_perfect:
        data.update(resize_mode=condition.resize_mode, pixel_perfect=condition.pixel_perfect)
    if embed_images and condition.image_data is not None:
        data["image_data"] = base64.b64encode(condition.image_data).decode("ascii")
    if condition.mask_data is not None:
        data["mask_data"] = base64.b64encode(condition.mask_data).decode("ascii")
    if condition.keep_unmasked:
        data["keep_unmasked"] = True
    if condition.region_mask is not None:
        data["region_mask"] = condition.region_mask
    if condition.region_mask_data is not None:  # like an inpaint mask: part of the condition, not a source image
        data["region_mask_data"] = base64.b64encode(condition.region_mask_data).decode("ascii")
    return data


def check_size(name: str, value: Any, *, low: int = SIZE_MIN, high: int = SIZE_MAX,
               multiple_of: int = WIDTH.multiple_of) -> None:
    """Every image size the app makes, in a recipe or on the command line: the model's rule, and a bound on memory."""
    _check_int(name, value, low, high)
    if value % multiple_of:
        raise InvalidRecipe(name, f"must be a multiple of {multiple_of}, got {value}")


def setting_problem(setting: Setting, value: Any) -> str | None:
    """Why `value` breaks the schema's rule for `setting` (a message that follows its key), or None."""
    try:
        check_setting(setting, value)
    except InvalidRecipe as err:
        return str(err)[len(err.field) + 2:]  # the message without its "key: "
    return None


def check_setting(setting: Setting, value: Any, where: str = "") -> None:
    """Raise InvalidRecipe, naming the key, when `value` breaks the schema's rule for `setting`:
    its type, its bounds, its multiple, its choices."""
    name = _key(where, setting.key)
    if setting.type is bool:
        if not isinstance(value, bool):
            raise InvalidRecipe(name, f"must be true or false, got {shown(value)}")
    elif setting.type is int:
        low = -math.inf if setting.minimum is None else int(setting.minimum)
        high = math.inf if setting.maximum is None else int(setting.maximum)
        if setting.multiple_of:
            check_size(name, value, low=low, high=high, multiple_of=setting.multiple_of)
        else:
            _check_int(name, value, low, high)
    elif setting.type is float:
        _check_number(name, value, -math.inf if setting.minimum is None else setting.minimum,
                      math.inf if setting.maximum is None else setting.maximum)
    elif not isinstance(value, str):
        raise InvalidRecipe(name, f"must be text, got {type(value).__name__}")
    elif setting.choices and value not in setting.values:
        raise InvalidRecipe(name, f"must be one of {', '.join(setting.values)}, got {shown(value)}")


def recipe_from_dict(data: Any, base_dir: Path | None = None, *, self_contained: bool = False) -> Recipe:
    """Build a validated Recipe from parsed JSON; any shape error is an InvalidRecipe."""
    if not isinstance(data, dict):
        raise InvalidRecipe("recipe", "must be a JSON object")
    problem = json_problem(data)
    if problem:
        raise InvalidRecipe("recipe", problem)
    conditions_raw = data.get("conditions", [])
    if not isinstance(conditions_raw, list):
        raise InvalidRecipe("conditions", "must be a list")
    recipe = Recipe(
        **{setting.key: _get(data, setting) for setting in RECIPE_SETTINGS},
        base_model=_get_optional_str(data, "base_model"),
        conditions=[_condition_from_dict(f"conditions[{i}]", c) for i, c in enumerate(conditions_raw)],
        loras=[_lora_from_dict(f"loras[{i}]", lora) for i, lora in enumerate(_get_list(data, "loras"))],
        embeddings=_get_names(data, "embeddings"),
        vae=_get_optional_str(data, "vae"),
        extra={k: v for k, v in data.items() if k not in _RECIPE_KEYS},
        base_dir=base_dir,
        self_contained=self_contained,
        unset=frozenset(key for key in CARD_DEFAULTABLE if key not in data),
    )
    return recipe.validate()


def recipe_from_json(text: str, base_dir: Path | None = None, *, self_contained: bool = False) -> Recipe:
    try:
        data = parse_json(text)
    except ValueError as err:
        raise InvalidRecipe("recipe", str(err)) from err
    return recipe_from_dict(data, base_dir, self_contained=self_contained)


def load_recipe_file(path: str | Path) -> Recipe:
    """A user's own recipe: a regular file under the size cap; its file names start in its folder."""
    text = read_text_file(path, limit=MAX_RECIPE_BYTES, what="recipe")
    return recipe_from_json(text, base_dir=Path(path).resolve().parent)


def parse_json(text: str) -> Any:
    """json.loads for text from anyone: every failure is a ValueError whose message completes
    "recipe: ..." (the parser's own RecursionError, and its limit of 4300 digits, included)."""
    try:
        return json.loads(text)
    except RecursionError as err:
        raise ValueError("is nested too deeply") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"is not valid JSON ({err})") from err
    except ValueError as err:
        raise ValueError("holds a number with too many digits") from err


def json_problem(value: Any) -> str | None:
    """Why `value` could not be written back as UTF-8 JSON (as every recipe is, into its PNG), or None.

    JSON's `\\ud800` escape reads as a lone surrogate that UTF-8 cannot encode, and only the parser
    bounds integer length and depth: caught here, not after minutes of rendering.
    """
    if _nesting(value) > MAX_NESTING:
        return "is nested too deeply"
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "holds text with a broken character (a lone surrogate)"
    except ValueError:
        return "holds a number with too many digits"
    return None


def finite_float(value: Any) -> float | None:
    """A JSON number as a finite float, or None: JSON integers have any length (10**400 has no
    float) and 1e999 reads as infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _nesting(value: Any) -> int:
    """Depth of nested objects and lists, counted without recursion (the input may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def shown(value: Any, limit: int = 40) -> str:
    """A value in a message, cut short: a 2 MB text or a 400-digit number would flood the line."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number with too many digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def model_name_problem(value: str) -> str | None:
    """Why `value` cannot name a model, or None. Models are named on the terminal and in the app before
    they load (a stranger's file picks them): a newline or an escape sequence would break or fake that
    line, and a NUL is no path at all."""
    if len(value) > MAX_MODEL_NAME or any(unicodedata.category(c) == "Cc" for c in value):
        return "must be a hub id or a path, without control characters"
    return None


def is_hub_id(reference: str) -> bool:
    """Whether `reference` is shaped like a hub id (owner/name); the hub refuses '..' in one."""
    return HUB_ID.fullmatch(reference) is not None and ".." not in reference


def _check_model_name(name: str, value: str | None) -> None:
    problem = None if value is None else model_name_problem(value)
    if problem:
        raise InvalidRecipe(name, problem)


def _check_file_name(reference: str, where: str) -> None:
    """The operating system cannot look up a name holding a NUL character (Python raises ValueError)."""
    if "\0" in reference:
        raise InvalidRecipe(where, "is not a valid file name (it holds a NUL character)")


def _condition_from_dict(where: str, data: Any) -> Condition:
    if not isinstance(data, dict):
        raise InvalidRecipe(where, "must be a JSON object")
    return Condition(
        kind=_get(data, KIND, where),
        image=_get_optional_str(data, "image", where),
        image_data=_get_base64(data, "image_data", where),
        controlnet=_get_optional_str(data, "controlnet", where),
        weight=_get(data, WEIGHT, where),
        start=_get(data, START, where),
        end=_get(data, END, where),
        mode=_get(data, MODE, where),
        enabled=_get(data, ENABLED, where),
        preprocess=_get_optional_str(data, "preprocess", where),
        params=_get_dict(data, "params", where),
        pose=_get_pose(data, where),
        resize_mode=_get(data, RESIZE_MODE, where),
        pixel_perfect=_get(data, PIXEL_PERFECT, where),
        mask_data=_get_base64(data, "mask_data", where),
        keep_unmasked=_get(data, KEEP_UNMASKED, where),
        region_mask=_get_optional_str(data, "region_mask", where),
        region_mask_data=_get_base64(data, "region_mask_data", where),
        extra={k: v for k, v in data.items() if k not in _CONDITION_KEYS},
    )


def _validate_condition(where: str, condition: Condition) -> None:
    for setting in CONDITION:
        check_setting(setting, getattr(condition, setting.key), where)
    _check_model_name(f"{where}.controlnet", condition.controlnet)
    if not condition.start < condition.end:
        raise InvalidRecipe(f"{where}.start", f"must be below end ({condition.start} >= {condition.end})")
    if condition.keep_unmasked and condition.preprocess != "inpaint":
        raise InvalidRecipe(f"{where}.keep_unmasked", "applies only to a condition with the inpaint preprocessor")
    if condition.image is None and condition.image_data is None and condition.pose is None:
        raise InvalidRecipe(f"{where}.image", "a condition needs a control image (or, for a pose, keypoints)")


def _lora_from_dict(where: str, data: Any) -> LoraEntry:
    if not isinstance(data, dict):
        raise InvalidRecipe(where, 'must be an object like {"path": "x.safetensors", "weight": 0.8}')
    path = _get_optional_str(data, "path", where)
    if path is None:
        raise InvalidRecipe(f"{where}.path", "names no LoRA file")
    extra = {k: v for k, v in data.items() if k not in _LORA_KEYS}
    return LoraEntry(path, _get(data, LORA_WEIGHT, where), extra)


def _validate_model_extras(recipe: Recipe) -> None:
    """LoRAs and embeddings are .safetensors files, a VAE a file or a folder; a pickle is refused by its
    name, before anything opens it. An embedding's token is its file stem, so two stems must differ."""
    if len(recipe.loras) > MAX_LORAS:
        raise InvalidRecipe("loras", f"must hold at most {MAX_LORAS} LoRAs, got {len(recipe.loras)}")
    if len(recipe.embeddings) > MAX_EMBEDDINGS:
        raise InvalidRecipe("embeddings", f"must hold at most {MAX_EMBEDDINGS} files, got {len(recipe.embeddings)}")
    for index, lora in enumerate(recipe.loras):
        _check_weights_file(f"loras[{index}].path", lora.path)
        check_setting(LORA_WEIGHT, lora.weight, f"loras[{index}]")
    tokens: dict[str, int] = {}
    for index, name in enumerate(recipe.embeddings):
        _check_weights_file(f"embeddings[{index}]", name)
        token = Path(name).stem
        if token in tokens:
            raise InvalidRecipe(f"embeddings[{index}]", f"has the token {shown(token)} of embeddings[{tokens[token]}]; "
                                "an embedding's token is its file name, so rename one file")
        tokens[token] = index
    if recipe.vae is not None:
        _check_model_name("vae", recipe.vae)
        if Path(recipe.vae).suffix.lower() in PICKLE_SUFFIXES:
            raise InvalidRecipe("vae", f"{shown(recipe.vae, 120)} is a pickle file, which can run code when opened; "
                                "use a .safetensors file or a diffusers folder")


def _check_weights_file(where: str, name: str) -> None:
    _check_model_name(where, name)
    if not name.lower().endswith(WEIGHTS_SUFFIX):
        kind = "a pickle file, which can run code when opened" if Path(name).suffix.lower() in PICKLE_SUFFIXES else \
            "not a .safetensors file"
        raise InvalidRecipe(where, f"{shown(name, 120)} is {kind}; only .safetensors weights are loaded")


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecipe(name, f"must be a whole number, got {shown(value)}")
    if not low <= value <= high:
        raise InvalidRecipe(name, f"must be between {low} and {high}, got {shown(value)}")


def _check_number(name: str, value: Any, low: float, high: float) -> None:
    number = finite_float(value)
    if number is None:
        raise InvalidRecipe(name, f"must be a finite number, got {shown(value)}")
    if not low <= number <= high:
        raise InvalidRecipe(name, f"must be between {low:g} and {high:g}, got {number:g}")


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(data: dict, setting: Setting, where: str = "") -> Any:
    """The value of `setting` in a parsed object, by the setting's type (its rule is checked in validate)."""
    read = {str: _get_str, int: _get_int, float: _get_float, bool: _get_bool}[setting.type]
    return read(data, setting.key, setting.default, where)


def _get_str(data: dict, key: str, default: str, where: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidRecipe(_key(where, key), f"must be text, got {type(value).__name__}")
    return value


def _get_optional_str(data: dict, key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRecipe(_key(where, key), f"must be text, got {type(value).__name__}")
    return value


def _get_int(data: dict, key: str, default: int, where: str = "") -> int:
    value = data.get(key, default)
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecipe(_key(where, key), f"must be a whole number, got {shown(value)}")
    return value


def _get_float(data: dict, key: str, default: float, where: str = "") -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecipe(_key(where, key), f"must be a number, got {shown(value)}")
    if isinstance(value, int) and finite_float(value) is None:
        raise InvalidRecipe(_key(where, key), "must be a finite number, got a number with too many digits")
    return float(value)


def _get_list(data: dict, key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecipe(key, "must be a list")
    return value


def _get_names(data: dict, key: str) -> list[str]:
    names = _get_list(data, key)
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise InvalidRecipe(f"{key}[{index}]", f"must be a file name, got {shown(name)}")
    return names


def _get_dict(data: dict, key: str, where: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidRecipe(_key(where, key), "must be an object of name: value")
    return dict(value)


def _get_base64(data: dict, key: str, where: str) -> bytes | None:
    encoded = data.get(key)
    if encoded is None:
        return None
    if not isinstance(encoded, str):
        raise InvalidRecipe(_key(where, key), "must be base64 text")
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as err:
        raise InvalidRecipe(_key(where, key), "is not valid base64") from err


def _get_pose(data: dict, where: str) -> Any:
    value = data.get("pose")
    if value is not None and not isinstance(value, (str, dict)):
        raise InvalidRecipe(_key(where, "pose"), "must be an OpenPose JSON file name or an OpenPose object")
    return value


def _get_bool(data: dict, key: str, default: bool, where: str = "") -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidRecipe(_key(where, key), f"must be true or false, got {shown(value)}")
    return value
