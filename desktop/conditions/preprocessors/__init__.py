"""Every preprocessor by name: what it feeds, its parameters, and how to run it.

A preprocessor turns a photo (H, W, 3 uint8) into the control image one official ControlNet 1.1
model was trained on; `feeds` names that kind (REFERENCE.md), so picking "depth" picks both.
The networks' module (torch, transformers) loads only when one runs: listing preprocessors, as the
CLI's parser does, costs no torch import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.domain.catalog import OFFICIAL_CONTROLNETS
from desktop.domain.errors import InvalidRecipe
from desktop.domain.recipe import model_name_problem, shown

from . import classic
from .networks import DEPTH_MODEL, PERSON_DETECTOR, POSE_MODEL, SEG_MODEL

if TYPE_CHECKING:
    from .neural import NetworkCache


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    names_model: bool = False  # a network to load: a hub id or a local folder

    def check(self, where: str, value: Any) -> Any:
        field = f"{where}.{self.name}"
        if isinstance(self.default, str):
            if not isinstance(value, str):
                raise InvalidRecipe(field, f"must be text, got {shown(value)}")
            problem = model_name_problem(value) if self.names_model else None
            if problem:
                raise InvalidRecipe(field, problem)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidRecipe(field, f"must be a number, got {shown(value)}")
        if not (self.minimum <= value <= self.maximum):
            raise InvalidRecipe(field, f"must be between {self.minimum:g} and {self.maximum:g}, got {shown(value)}")
        return int(value) if isinstance(self.default, int) else float(value)


def _network(name: str, default: str) -> Param:
    return Param(name, default, names_model=True)


@dataclass(frozen=True)
class Preprocessor:
    name: str
    label: str
    feeds: str
    params: tuple[Param, ...]
    run: Callable[..., np.ndarray]
    network: bool = False

    @property
    def controlnet(self) -> str | None:
        return OFFICIAL_CONTROLNETS.get(self.feeds)

    def checked_params(self, params: dict[str, Any] | None, where: str = "params") -> dict[str, Any]:
        params = dict(params or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known) - {"mask"})
        if unknown:
            raise InvalidRecipe(f"{where}.{unknown[0]}", f"is not a parameter of {self.name} "
                                f"(it takes {', '.join(known) or 'none'})")
        return {name: spec.check(where, params.get(name, spec.default)) for name, spec in known.items()}


def _depth(image: np.ndarray, networks: NetworkCache, model: str) -> np.ndarray:
    from . import neural

    return neural.depth_map(image, networks, model)


def _normal(image: np.ndarray, networks: NetworkCache, model: str, strength: float, background: float) -> np.ndarray:
    from . import neural

    return neural.normal_from_depth(neural.depth_map(image, networks, model), strength, background)


def _pose_image(image: np.ndarray, networks: NetworkCache, **params) -> np.ndarray:
    from ..pose_render import render_openpose
    from . import neural

    people = neural.detect_people(image, networks, params["detector"], params["pose_model"],
                                  params["box_threshold"], params["keypoint_threshold"])
    return render_openpose(people, image.shape[1], image.shape[0])


def _segment(image: np.ndarray, networks: NetworkCache, model: str) -> np.ndarray:
    from . import neural

    return neural.segment(image, networks, model)


PREPROCESSORS: dict[str, Preprocessor] = {p.name: p for p in (
    Preprocessor("none", "None: the image is the control image", "image", (), lambda img: img),
    Preprocessor("invert", "Invert", "scribble", (), classic.invert),
    Preprocessor("canny", "Canny edges", "canny",
                 (Param("low", 100, 0, 255), Param("high", 200, 0, 255)), classic.canny),
    Preprocessor("scribble", "Scribble (XDoG)", "scribble",
                 (Param("threshold", 32, 1, 255), Param("thickness", 1, 1, 16)), classic.scribble_xdog),
    Preprocessor("lineart", "Line art", "lineart",
                 (Param("sigma", 1.2, 0.3, 8.0), Param("strength", 6.0, 0.5, 50.0)), classic.lineart_dog),
    Preprocessor("lines", "Straight lines (M-LSD)", "lines",
                 (Param("min_length", 20.0, 0.0, 2048.0), Param("merge_distance", 4.0, 0.0, 64.0),
                  Param("thickness", 1, 1, 16)), classic.lines_lsd),
    Preprocessor("shuffle", "Shuffle", "shuffle", (Param("seed", 0, 0, 2**32 - 1), Param("flow_scale", 0.25, 0.01, 4.0)),
                 classic.shuffle),
    Preprocessor("tile", "Tile (blurred)", "tile", (Param("downscale", 4.0, 1.0, 64.0), Param("blur", 1.0, 0.0, 32.0)),
                 classic.tile),
    Preprocessor("inpaint", "Inpaint (mask)", "inpaint", (), classic.inpaint),
    Preprocessor("depth", "Depth (Depth Anything V2)", "depth", (_network("model", DEPTH_MODEL),), _depth,
                 network=True),
    Preprocessor("normal", "Normals (from depth)", "normal",
                 (_network("model", DEPTH_MODEL), Param("strength", 4.0, 0.1, 100.0),
                  Param("background", 0.1, 0.0, 1.0)),
                 _normal, network=True),
    Preprocessor("pose", "Pose (RT-DETR + ViTPose)", "pose",
                 (_network("detector", PERSON_DETECTOR), _network("pose_model", POSE_MODEL),
                  Param("box_threshold", 0.3, 0.0, 1.0), Param("keypoint_threshold", 0.3, 0.0, 1.0)),
                 _pose_image, network=True),
    Preprocessor("seg", "Segmentation (ADE20K, UperNet)", "seg", (_network("model", SEG_MODEL),), _segment,
                 network=True),
)}


def get_preprocessor(name: str, where: str = "preprocess") -> Preprocessor:
    if name not in PREPROCESSORS:
        raise InvalidRecipe(where, f"unknown preprocessor {name!r}; choose one of {', '.join(PREPROCESSORS)}")
    return PREPROCESSORS[name]


def preprocessor_models(preprocessor: str | None, params: dict[str, Any] | None,
                        where: str = "params") -> dict[str, str]:
    """The networks a preprocessor loads with these parameters, by parameter name (defaults included),
    so they can be named and checked before anything loads; raises InvalidRecipe for parameters that
    break their rule, so no unchecked name is ever shown."""
    if preprocessor in (None, "none"):
        return {}
    spec = get_preprocessor(preprocessor)
    checked = spec.checked_params(params, where)
    return {p.name: checked[p.name] for p in spec.params if p.names_model}
