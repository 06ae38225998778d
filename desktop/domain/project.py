"""Project files: one JSON file holding settings, every layer (strokes, poses, images) and the
history's recipes. Written atomically. Reading recovers what it can and reports the rest.

What is read must save again: text JSON escapes into a lone surrogate, and a number no float
holds, are treated as damage here rather than failing at the next save or render."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .document import DocState, Document, GenerationSettings, HistoryItem
from .errors import InvalidProject, UnreadableFile
from .layers import MAX_LAYERS, Fill, ImageLayer, Layer, PoseLayer, ScribbleLayer, Stroke
from .png_chunks import without_text
from .pose import MAX_COORDINATE, Person
from .recipe import (
    CONDITION_KINDS, MAX_LORAS, RECIPE_KEY, WEIGHTS_SUFFIX, finite_float, json_problem, model_name_problem, parse_json,
    setting_problem,
)
from .settings_schema import END, ENABLED, GENERATION, LORA_WEIGHT, MODE, OPACITY, RESIZE_MODE, START, WEIGHT, Setting
from .safe_files import MAX_PROJECT_BYTES, read_text_file

PROJECT_FORMAT = "controlnet-studio-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".cnstudio"


@dataclass
class LoadedProject:
    document: Document
    warnings: list[str]


# -- writing -------------------------------------------------------------------------------------
def project_to_dict(doc: Document) -> dict[str, Any]:
    return saved_state_to_dict(saved_state(doc))


@dataclass(frozen=True)
class SavedState:
    """What a project file holds, taken from a document in microseconds (its layers and results are values
    the document replaces, never changes), so another thread can turn it into a file while the user edits."""

    state: DocState
    history: tuple[HistoryItem, ...]


def saved_state(doc: Document) -> SavedState:
    return SavedState(doc.snapshot(), tuple(doc.history))


def saved_state_to_dict(saved: SavedState) -> dict[str, Any]:
    settings = saved.state.settings
    return {
        "format": PROJECT_FORMAT, "version": PROJECT_VERSION,
        "settings": {**{f.name: getattr(settings, f.name) for f in fields(GenerationSettings)},
                     "loras": [{"path": path, "weight": weight} for path, weight in settings.loras]},
        "layers": [_layer_to_dict(layer) for layer in saved.state.layers],
        # a result PNG made by this app also holds its recipe, control images and all: stored once, beside it
        "history": [{"recipe": h.recipe, "image": _b64(without_text(h.image_png, RECIPE_KEY))} for h in saved.history],
    }


def save_project(doc: Document, path: str | Path) -> None:
    write_text_atomic(path, json.dumps(project_to_dict(doc), ensure_ascii=False))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _layer_to_dict(layer: Layer) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": layer.id, "name": layer.name, "kind": layer.kind, "enabled": layer.enabled,
        "weight": layer.weight, "start": layer.start, "end": layer.end, "mode": layer.mode,
        "controlnet": layer.controlnet, "opacity": layer.opacity,
        "region_operations": _operations_to_list(layer.region_operations),
    }
    if isinstance(layer, ScribbleLayer):
        data["operations"] = _operations_to_list(layer.operations)
    elif isinstance(layer, PoseLayer):
        data["people"] = [
            {"body": [list(p) if p else None for p in person.body], "hidden": sorted(person.hidden),
             "left_hand": _points(person.left_hand), "right_hand": _points(person.right_hand),
             "face": _points(person.face)}
            for person in layer.people
        ]
    elif isinstance(layer, ImageLayer):
        data.update(png=_b64(layer.png), preprocessor=layer.preprocessor, condition_kind=layer.condition_kind,
                    params=dict(layer.params), resize_mode=layer.resize_mode,
                    mask_operations=_operations_to_list(layer.mask_operations), keep_unmasked=layer.keep_unmasked)
    return data


def _operations_to_list(operations) -> list[dict[str, Any]]:
    return [
        {"type": "stroke", "points": [list(p) for p in op.points], "size": op.size, "erase": op.erase}
        if isinstance(op, Stroke) else {"type": "fill", "x": op.x, "y": op.y, "erase": op.erase}
        for op in operations
    ]


def _points(points):
    return None if points is None else [list(p) if p else None for p in points]


# -- reading --------------------------------------------------------------------------------------
def load_project(path: str | Path) -> LoadedProject:
    return project_from_dict(read_project_json(path), Path(path).name)


def read_project_json(path: str | Path) -> Any:
    """The parsed JSON of a project file: a regular file under the project cap (a device or FIFO
    named as a project is refused at once); for callers that also read keys of their own."""
    try:
        text = read_text_file(path, limit=MAX_PROJECT_BYTES, what="project")
    except UnreadableFile as err:
        raise InvalidProject(str(err)) from err
    return _parse(text, Path(path).name)


def project_from_text(text: str, name: str = "project") -> LoadedProject:
    return project_from_dict(_parse(text, name), name)


def _parse(text: str, name: str) -> Any:
    try:
        return parse_json(text)
    except ValueError as err:
        raise InvalidProject(f"cannot open {name}: the file is damaged; it {err}") from err


def project_from_dict(data: Any, name: str = "project") -> LoadedProject:
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        raise InvalidProject(f"cannot open {name}: it is not a ControlNet Studio project")
    warnings: list[str] = []
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > PROJECT_VERSION:
        warnings.append(f"{name} was written by a newer version ({version}); parts it added were skipped")
    settings = _settings(data.get("settings"), warnings)
    layers: list[Layer] = []
    raw_layers = data.get("layers") if isinstance(data.get("layers"), list) else []
    if not isinstance(data.get("layers"), list):
        warnings.append("the layer list was missing or damaged")
    if len(raw_layers) > MAX_LAYERS:  # hidden layers are kept too: only a hostile file has this many
        warnings.append(f"only the first {MAX_LAYERS} layers were opened; "
                        f"{len(raw_layers) - MAX_LAYERS} more were left out")
        raw_layers = raw_layers[:MAX_LAYERS]
    for index, raw in enumerate(raw_layers):
        try:
            layers.append(_layer(raw))
        except (KeyError, TypeError, ValueError) as err:
            label = raw.get("name") if isinstance(raw, dict) and _text(raw.get("name")) else f"#{index + 1}"
            warnings.append(f"layer {label} could not be read ({err}) and was left out")
        else:
            if raw.get("controlnet") is not None and layers[-1].controlnet is None:
                warnings.append(f"layer {layers[-1].name}: its ControlNet name was damaged and was cleared")
            if raw.get("region_operations") and not layers[-1].region_operations:
                warnings.append(f"layer {layers[-1].name}: its region was damaged and was cleared")
    history = []
    for raw in data.get("history") if isinstance(data.get("history"), list) else []:
        if isinstance(raw, dict) and isinstance(raw.get("recipe"), dict) and not json_problem(raw["recipe"]):
            history.append(HistoryItem(raw["recipe"], _bytes(raw.get("image"))))
    return LoadedProject(Document(settings, layers, history), warnings)


def _settings(raw: Any, warnings: list[str]) -> GenerationSettings:
    settings = GenerationSettings()
    if not isinstance(raw, dict):
        warnings.append("the settings were missing or damaged; defaults are used")
        return settings
    checks = {
        **{setting.key: (lambda v, s=setting: _setting_ok(s, v)) for setting in GENERATION},
        "base_model": lambda v: v is None or _model_name(v), "loras": _loras_ok,
    }
    for key, ok in checks.items():
        if key not in raw:
            continue
        if ok(raw[key]):
            setattr(settings, key, raw[key])
        else:
            warnings.append(f"setting {key} had an invalid value and was reset")
    settings.loras = tuple((lora["path"], float(lora["weight"])) for lora in settings.loras)  # the file's objects as pairs
    return settings


def _setting_ok(setting: Setting, v: Any) -> bool:
    """A value the recipe takes for `setting` (the schema's type, bounds and choices) that saves again."""
    return setting_problem(setting, v) is None and json_problem(v) is None


def _loras_ok(v: Any) -> bool:
    """At most MAX_LORAS .safetensors files (a pickle is never named onward), each once, with a weight in range."""
    if not isinstance(v, list) or len(v) > MAX_LORAS or not all(_lora_ok(lora) for lora in v):
        return False
    return len({lora["path"] for lora in v}) == len(v)


def _lora_ok(v: Any) -> bool:
    path, weight = (v.get("path"), v.get("weight")) if isinstance(v, dict) else (None, None)
    return (_model_name(path) and path.lower().endswith(WEIGHTS_SUFFIX)
            and _setting_ok(LORA_WEIGHT, weight))


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return finite_float(v) is not None


def _text(v: Any) -> bool:
    """Text that can be saved again: JSON's \\ud800 escape gives a lone surrogate UTF-8 cannot write."""
    return isinstance(v, str) and json_problem(v) is None


def _model_name(v: Any) -> bool:
    """A model name the app can show and look up: a NUL or an escape sequence in one is damage."""
    return _text(v) and model_name_problem(v) is None


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return b""


def _layer(raw: Any) -> Layer:
    if not isinstance(raw, dict):
        raise TypeError("not an object")
    common = dict(
        name=_require_text(raw, "name"), enabled=bool(raw.get("enabled", ENABLED.default)),
        weight=_clamped_setting(raw, WEIGHT), start=_clamped_setting(raw, START), end=_clamped_setting(raw, END),
        mode=_choice(raw, MODE),
        controlnet=raw.get("controlnet") if _model_name(raw.get("controlnet")) else None,
        opacity=_clamped_setting(raw, OPACITY), region_operations=_region_operations(raw.get("region_operations")),
    )
    if _text(raw.get("id")):
        common["id"] = raw["id"]
    if common["start"] >= common["end"]:
        common["start"], common["end"] = START.default, END.default
    kind = raw.get("kind")
    if kind == "scribble":
        return ScribbleLayer(**common, operations=tuple(_operation(op) for op in raw.get("operations", [])))
    if kind == "pose":
        return PoseLayer(**common, people=tuple(_person(p) for p in raw.get("people", [])))
    if kind == "image":
        png = _bytes(raw.get("png"))
        if not png:
            raise ValueError("its image is missing")
        condition = raw.get("condition_kind") if raw.get("condition_kind") in CONDITION_KINDS else "image"
        preprocessor = raw.get("preprocessor") if _text(raw.get("preprocessor")) else "none"
        params = raw.get("params") if isinstance(raw.get("params"), dict) and not json_problem(raw["params"]) else {}
        resize = _choice(raw, RESIZE_MODE)
        mask = tuple(_operation(op) for op in raw.get("mask_operations") or [])
        return ImageLayer(**common, png=png, preprocessor=preprocessor, condition_kind=condition, params=params,
                          resize_mode=resize, mask_operations=mask,
                          keep_unmasked=raw.get("keep_unmasked") is not False)
    raise ValueError(f"unknown layer kind {kind!r}")


def _require_text(raw: dict, key: str) -> str:
    value = raw.get(key)
    if not _text(value):
        raise ValueError(f"{key} is missing or damaged")
    return value


def _clamped_setting(raw: dict, setting: Setting) -> float:
    """A layer's number, pulled into the schema's bounds (a number out of range was edited by hand)."""
    return _clamped(raw.get(setting.key, setting.default), setting.minimum, setting.maximum)


def _choice(raw: dict, setting: Setting) -> str:
    """A layer's choice, or what a new layer starts with when the file's is not one of the schema's."""
    value = raw.get(setting.key)
    return value if value in setting.values else setting.initial


def _clamped(value: Any, low: float, high: float) -> float:
    if not _num(value):
        raise ValueError(f"value {value!r} is not a number")
    return float(min(high, max(low, value)))


def _point(value: Any):
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) >= 2 and _num(value[0]) and _num(value[1])
            and abs(value[0]) <= MAX_COORDINATE and abs(value[1]) <= MAX_COORDINATE):
        raise ValueError("a point is damaged")
    return (float(value[0]), float(value[1]))


def _operation(raw: Any) -> Stroke | Fill:
    if not isinstance(raw, dict):
        raise TypeError("a stroke is damaged")
    if raw.get("type") == "fill":
        return Fill(float(_point([raw.get("x"), raw.get("y")])[0]), float(raw["y"]), bool(raw.get("erase", False)))
    points = []
    for p in raw.get("points", []):
        x, y = _point(p)
        pressure = float(p[2]) if len(p) > 2 and _num(p[2]) else 1.0
        points.append((x, y, pressure))
    return Stroke(tuple(points), _clamped(raw.get("size", 6.0), 0.5, 512.0), bool(raw.get("erase", False)))


def _region_operations(raw: Any) -> tuple[Stroke | Fill, ...]:
    """A layer's region (none in a project older than regions). A damaged one is dropped, not the layer:
    the layer then steers the whole image, as it did before it had a region."""
    try:
        return tuple(_operation(op) for op in raw or [])
    except (KeyError, TypeError, ValueError):
        return ()


def _person(raw: Any) -> Person:
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), list):
        raise TypeError("a person is damaged")
    body = [_point(p) for p in raw["body"]][:18]
    body += [None] * (18 - len(body))
    hidden = {int(i) for i in raw.get("hidden", []) if _int(i) and 0 <= i < 18}

    def optional(key):
        value = raw.get(key)
        return None if value is None else [_point(p) for p in value]

    return Person(body, hidden, optional("left_hand"), optional("right_hand"), optional("face"))
