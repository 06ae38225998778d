"""ControlNets shipped as one .safetensors file: what they are (from the header) and loading them.

Why: most ControlNets users hold are single files in the original ControlNet 1.0/1.1 layout
(`input_hint_block`, `zero_convs`, with or without `control_model.`), some in diffusers names with
no config beside them, some 1.0 "difference" files; a few (shuffle) need global pooling that only
their name or a yaml beside them says. The family is read from shapes, so a ControlNet of another
family is refused before any weight is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from desktop.domain.errors import (
    ArchitectureMismatch, MissingModelPart, UnreadableFile, UnsupportedModel, WrongFamily,
)
from desktop.domain.family import Family

from .checkpoint_header import TensorTable, describe_content
from .checkpoint_inspect import CONFIGS
from .checkpoint_parts import PartPlan, StateDict, empty_model, load_part
from .checkpoint_shapes import UNetShape, diffusers_unet_shape, ldm_unet_shape, structural_family, unet_like_config
from .checkpoint_sidecar import model_param, read_sidecar_yaml
from .model_family import read_json

ORIGINAL = "original"  # ControlNet 1.0/1.1 names
DIFFUSERS = "diffusers"
_HINT = "input_hint_block."
_CONFIG_FOLDERS = {Family.SD1: "controlnet_sd15", Family.SD2: "controlnet_sd2", Family.SDXL: "controlnet_sdxl"}
_CONVERTER_HINT_OUT = 14  # diffusers' converter expects the hint embedding's last conv at index 14


@dataclass(frozen=True)
class ControlNetFileInfo:
    """A ControlNet file's family, layout and the diffusers config that fits it."""

    path: Path
    family: Family
    layout: str  # ORIGINAL or DIFFUSERS
    prefix: str  # "control_model." or ""
    difference: bool  # a 1.0 "difference" file: weights relative to the base UNet's
    global_pool: bool  # shuffle: the ControlNet's outputs are averaged over the image
    config: dict[str, Any]
    config_file: Path | None  # a diffusers config beside the file, used as it is
    table: TensorTable = field(repr=False, compare=False)


def inspect_controlnet(path: Path) -> ControlNetFileInfo:
    """Read `path`'s header (and a config or yaml beside it) and say what ControlNet it is."""
    path = Path(path)
    table = TensorTable.read(path)
    layout, prefix = _layout(path.name, table)
    shape = ldm_unet_shape(table, prefix) if layout == ORIGINAL else diffusers_unet_shape(table, prefix)
    family = structural_family(shape)
    config_file = _config_beside(path) if layout == DIFFUSERS else None
    if config_file is not None:
        config = read_json(config_file)
        if config is None:
            raise UnreadableFile(f"{config_file.name} beside {path.name} is not a readable diffusers config")
        pool = bool(config.get("global_pool_conditions"))
    else:
        pool = _global_pool(path, family)
        config = _inferred_config(table, layout, prefix, shape, family, pool)
    return ControlNetFileInfo(path, family, layout, prefix, "difference" in table, pool, config, config_file, table)


def load_single_file_controlnet(path: Path, dtype: torch.dtype = torch.float32, *,
                                expected_family: Family | None = None,
                                base_unet: torch.nn.Module | None = None) -> torch.nn.Module:
    """A ControlNetModel from one file. A ControlNet of another family than `expected_family` is refused
    from the header alone; a difference file needs the `base_unet` its weights are relative to."""
    from diffusers import ControlNetModel

    info = inspect_controlnet(path)
    if expected_family is not None and info.family is not expected_family:
        raise WrongFamily(
            f"{info.path.name} is an {info.family.label} ControlNet but the base model is {expected_family.label}; "
            f"pick a ControlNet made for {expected_family.label}"
        )
    if info.difference and base_unet is None:
        raise MissingModelPart(
            f"{info.path.name} is a ControlNet difference file (weights relative to a base model's UNet); "
            "it loads only together with its base model"
        )
    config = dict(info.config)
    base_time = base_unet.config.get("addition_time_embed_dim") if base_unet is not None else None
    if info.config_file is None and base_time and config.get("addition_embed_type") == "text_time":
        config["addition_time_embed_dim"] = base_time  # no weight shows it; the base's must match
    names = _names(info)
    if info.layout == ORIGINAL:
        plan = PartPlan("ControlNet", names, lambda sd: _convert_original(sd, config))
    else:
        plan = PartPlan("ControlNet", names, lambda sd: {name: sd[name] for name in sd})
    model = empty_model(lambda: ControlNetModel.from_config(config))
    adjust = _add_base_weights(info.path.name, base_unet) if info.difference else None
    return load_part(info.path, info.table, plan, model, dtype, adjust=adjust)


def _layout(name: str, table: TensorTable) -> tuple[str, str]:
    if "lora_controlnet" in table:
        raise UnsupportedModel(f"{name} is a Control-LoRA, which ControlNet Studio does not run; use a full ControlNet")
    if table.has_prefix("control_add_embedding.") or "task_embedding" in table:
        raise UnsupportedModel(
            f"{name} is a ControlNet Union (many modes in one), which ControlNet Studio does not run"
        )
    if "control_model.input_hint_block.0.weight" in table:
        return ORIGINAL, "control_model."
    if "input_hint_block.0.weight" in table:
        return ORIGINAL, ""
    if "controlnet_cond_embedding.conv_in.weight" in table:
        return DIFFUSERS, ""
    raise ArchitectureMismatch(f"{name} is not a ControlNet ({describe_content(table)})")


def _config_beside(path: Path) -> Path | None:
    return next((p for p in (path.with_suffix(".json"), path.parent / "config.json") if p.is_file()), None)


def _global_pool(path: Path, family: Family) -> bool:
    """sd-webui-controlnet's rule: the LDM yaml beside the file sets `global_average_pooling`
    (ControlNet 1.1 shuffle's does), else an SD 1.x/2.x file whose name has "shuffle" in it pools."""
    sidecar = read_sidecar_yaml(path)
    if sidecar is not None and model_param(sidecar, "global_average_pooling") is not None:
        return bool(model_param(sidecar, "global_average_pooling"))
    return family is not Family.SDXL and "shuffle" in path.stem.lower()


def _inferred_config(table: TensorTable, layout: str, prefix: str, shape: UNetShape, family: Family,
                     pool: bool) -> dict[str, Any]:
    base = json.loads((CONFIGS / _CONFIG_FOLDERS[family] / "config.json").read_text(encoding="utf-8"))
    config = unet_like_config(shape, family, base, base.get("addition_time_embed_dim"))
    in_channels, embedding = _hint_channels(table, layout, prefix)
    config.update(conditioning_channels=in_channels, conditioning_embedding_out_channels=embedding,
                  global_pool_conditions=pool)
    return config


def _hint_channels(table: TensorTable, layout: str, prefix: str) -> tuple[int, list[int]]:
    """The control image's channels and the widths of the embedding that reads it (diffusers'
    `conditioning_embedding_out_channels`: the first conv's, then every second one's)."""
    if layout == ORIGINAL:
        convs = [table.shape(f"{prefix}{_HINT}{i}.weight") for i in table.indices(prefix + _HINT)]
        return convs[0][1], [conv[0] for conv in convs[:-1]][0::2]
    embed = prefix + "controlnet_cond_embedding."
    blocks = table.indices(embed + "blocks.")
    first = table.shape(embed + "conv_in.weight")
    return first[1], [first[0], *(table.shape(f"{embed}blocks.{k}.weight")[0] for k in blocks[1::2])]


def _names(info: ControlNetFileInfo) -> dict[str, str]:
    """Converter name -> file name: the prefix dropped, and in small original files the hint
    embedding's last conv renumbered to where diffusers' converter looks for it."""
    table, prefix = info.table, info.prefix
    names = {n[len(prefix):]: n for n in table.under(prefix) if n != "difference"}
    if info.layout == ORIGINAL:
        last = table.indices(prefix + _HINT)[-1]
        if last < _CONVERTER_HINT_OUT:
            for kind in ("weight", "bias"):
                names[f"{_HINT}{_CONVERTER_HINT_OUT}.{kind}"] = names.pop(f"{_HINT}{last}.{kind}")
    return names


def _convert_original(state, config: dict[str, Any]) -> StateDict:
    """diffusers' converter, plus SDXL's text-time embedding (`label_emb`), which it leaves out for
    ControlNets although its own key table maps it."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING, convert_controlnet_checkpoint

    converted = convert_controlnet_checkpoint(state, config)
    if config.get("addition_embed_type") == "text_time":
        for new, old in DIFFUSERS_TO_LDM_MAPPING["controlnet"]["addition_embed_type"].items():
            converted[new] = state.get(old)
    return converted


def _add_base_weights(name: str, base_unet: torch.nn.Module):
    """As A1111's ControlNet extension applies a difference file: every weight the base UNet also has
    (same name, diffusers names matching where the original ones do) gets the base's added. A UNet
    carrying LoRAs contributes its own weights, not the LoRA's (peft keeps them under `base_layer`)."""
    base = {key.replace(".base_layer.", "."): value for key, value in base_unet.state_dict().items()
            if ".lora_" not in key}

    def adjust(state: StateDict) -> StateDict:
        for key, value in state.items():
            if key not in base:
                continue
            if tuple(base[key].shape) != tuple(value.shape):
                raise ArchitectureMismatch(f"{name} is a difference file for another base model ({key} differs)")
            state[key] = (value.float() + base[key].detach().float().cpu()).to(value.dtype)
        return state

    return adjust
