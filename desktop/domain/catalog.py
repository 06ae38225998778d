"""Which base model and which ControlNet each family uses by default, per kind of control image, and the
T2I-Adapters offered beside them.

Why per family: a ControlNet only steers the UNet family it was trained with. SD 1.x uses the
official ControlNet 1.1 models (REFERENCE.md); SD 2.x uses thibaud's controlnet-sd21-*-diffusers
conversions; SDXL uses the diffusers and xinsir models. A kind with no model that really serves
it in a family maps to None there, so the app asks for one instead of guessing.
"""

from __future__ import annotations

from desktop.domain.family import Family

OFFICIAL_CONTROLNETS = {
    "scribble": "lllyasviel/control_v11p_sd15_scribble",
    "canny": "lllyasviel/control_v11p_sd15_canny",
    "pose": "lllyasviel/control_v11p_sd15_openpose",
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "normal": "lllyasviel/control_v11p_sd15_normalbae",
    "seg": "lllyasviel/control_v11p_sd15_seg",
    "lines": "lllyasviel/control_v11p_sd15_mlsd",
    "lineart": "lllyasviel/control_v11p_sd15_lineart",
    "softedge": "lllyasviel/control_v11p_sd15_softedge",
    "shuffle": "lllyasviel/control_v11e_sd15_shuffle",
    "tile": "lllyasviel/control_v11f1e_sd15_tile",
    "inpaint": "lllyasviel/control_v11p_sd15_inpaint",
}
SD15_BASE = "stable-diffusion-v1-5/stable-diffusion-v1-5"

DEFAULT_BASE_MODELS: dict[Family, str] = {
    Family.SD1: SD15_BASE,
    Family.SD2: "stabilityai/stable-diffusion-2-1",
    Family.SDXL: "stabilityai/stable-diffusion-xl-base-1.0",
}

# No SD 2.1 model for M-LSD lines, shuffle, tile or inpaint ("color" is a palette, not a shuffle).
SD2_CONTROLNETS = {
    "scribble": "thibaud/controlnet-sd21-scribble-diffusers",
    "canny": "thibaud/controlnet-sd21-canny-diffusers",
    "pose": "thibaud/controlnet-sd21-openposev2-diffusers",
    "depth": "thibaud/controlnet-sd21-depth-diffusers",
    "normal": "thibaud/controlnet-sd21-normalbae-diffusers",
    "seg": "thibaud/controlnet-sd21-ade20k-diffusers",
    "lineart": "thibaud/controlnet-sd21-lineart-diffusers",
    "softedge": "thibaud/controlnet-sd21-hed-diffusers",
}

# xinsir's Union model serves the SDXL kinds no single-kind model does; its six control types (the ProMax
# file's tile and inpaint are not the repository's default weights) leave shuffle, tile and inpaint unserved.
SDXL_UNION = "xinsir/controlnet-union-sdxl-1.0"
SDXL_CONTROLNETS = {
    "scribble": "xinsir/controlnet-scribble-sdxl-1.0",
    "canny": "diffusers/controlnet-canny-sdxl-1.0",
    "pose": "xinsir/controlnet-openpose-sdxl-1.0",
    "depth": "diffusers/controlnet-depth-sdxl-1.0",
    "normal": SDXL_UNION,
    "seg": SDXL_UNION,
    "lines": SDXL_UNION,
    "lineart": SDXL_UNION,
    "softedge": SDXL_UNION,
}

_CONTROLNETS: dict[Family, dict[str, str]] = {
    Family.SD1: OFFICIAL_CONTROLNETS,
    Family.SD2: SD2_CONTROLNETS,
    Family.SDXL: SDXL_CONTROLNETS,
}


def default_controlnet_id(family: Family, kind: str) -> str | None:
    """The hub id of the ControlNet that serves `kind` for `family`, or None when there is none."""
    return _CONTROLNETS[family].get(kind)


# T2I-Adapters (TencentARC, REFERENCE.md): lighter than a ControlNet (their features are computed once per
# image, not per step), offered beside the default ControlNet of a kind. TencentARC's SD 1.5 adapters
# (t2iadapter_*_sd15v2) are published as pickles only (diffusion_pytorch_model.bin), which the app never
# opens, so none is offered for SD 1.x (a safetensors conversion in a folder still loads); none exist for SD 2.x.
SDXL_ADAPTERS = {
    "scribble": "TencentARC/t2i-adapter-sketch-sdxl-1.0",
    "canny": "TencentARC/t2i-adapter-canny-sdxl-1.0",
    "lineart": "TencentARC/t2i-adapter-lineart-sdxl-1.0",
    "pose": "TencentARC/t2i-adapter-openpose-sdxl-1.0",
    "depth": "TencentARC/t2i-adapter-depth-midas-sdxl-1.0",
}
_ADAPTERS: dict[Family, dict[str, str]] = {Family.SD1: {}, Family.SD2: {}, Family.SDXL: SDXL_ADAPTERS}


def adapter_ids(family: Family, kind: str) -> tuple[str, ...]:
    """The hub ids of the T2I-Adapters that serve `kind` for `family` (none where none is published)."""
    found = _ADAPTERS[family].get(kind)
    return (found,) if found else ()
