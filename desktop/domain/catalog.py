"""Which official ControlNet 1.1 model (SD 1.5) each kind of control image feeds (REFERENCE.md)."""

from __future__ import annotations

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
