"""Loading an original-layout checkpoint (one .safetensors file) as diffusers parts, offline.

Why our own loader rather than `from_single_file`: that one takes its configs and tokenizers from
the hub, fails on SD 1.x files with the older CLIP key names, and keeps the weights memory-mapped at
the file's byte alignment. Here the configs are inferred from the file's shapes on top of the
bundled family configs, the tokenizers are the bundled CLIP one, and each part is checked, read and
converted (with diffusers' own converters) in turn into a model built on the meta device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from desktop.domain.family import ModelInfo

from .checkpoint_inspect import UNET, VAE, CheckpointInfo, TextSource, inspect_checkpoint
from .checkpoint_parts import PartPlan, StateDict, check_fit, empty_model, fill_part
from .tokenizers import family_tokenizers

_TEXT_LABELS = {"text_encoder": "text encoder", "text_encoder_2": "second text encoder"}


@dataclass
class SingleFileParts:
    """Everything a base model needs, loaded from one checkpoint file."""

    info: ModelInfo
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: Any
    scheduler_config: dict[str, Any]
    text_encoder_2: torch.nn.Module | None = None
    tokenizer_2: Any = None


def load_single_file_base(path: Path, dtype: torch.dtype = torch.float32,
                          device: torch.device | str = "cpu") -> SingleFileParts:
    """Inspect `path` and check every part against its shapes (refusing what cannot run before any
    weight is read), then read its text encoders, UNet and VAE in turn, each moved to `device` before
    the next is read (on a GPU the process then holds at most one part in memory)."""
    checkpoint = inspect_checkpoint(Path(path))
    parts = {name: _text_part(checkpoint, name) for name in checkpoint.text_sources} | _image_parts(checkpoint)
    for plan, model in parts.values():
        check_fit(checkpoint.path.name, checkpoint.table, plan, model.state_dict())
    loaded = {name: fill_part(checkpoint.path, checkpoint.table, plan, model, dtype).to(device)
              for name, (plan, model) in parts.items()}
    tokenizers = family_tokenizers(checkpoint.info.family)
    return SingleFileParts(
        info=checkpoint.info, unet=loaded["unet"], vae=loaded["vae"], text_encoder=loaded["text_encoder"],
        tokenizer=tokenizers[0], scheduler_config=dict(checkpoint.scheduler_config),
        text_encoder_2=loaded.get("text_encoder_2"), tokenizer_2=tokenizers[1] if len(tokenizers) > 1 else None,
    )


def _image_parts(checkpoint: CheckpointInfo) -> dict[str, tuple[PartPlan, torch.nn.Module]]:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    table, configs = checkpoint.table, checkpoint.configs
    unet = PartPlan("UNet", _same(table.under(UNET)), lambda sd: convert_ldm_unet_checkpoint(sd, configs["unet"]))
    vae = PartPlan("VAE", _same(table.under(VAE)), lambda sd: convert_ldm_vae_checkpoint(sd, configs["vae"]))
    return {"unet": (unet, empty_model(lambda: UNet2DConditionModel.from_config(configs["unet"]))),
            "vae": (vae, empty_model(lambda: AutoencoderKL.from_config(configs["vae"])))}


def _text_part(checkpoint: CheckpointInfo, name: str) -> tuple[PartPlan, torch.nn.Module]:
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint, convert_open_clip_checkpoint
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    source = checkpoint.text_sources[name]
    config = CLIPTextConfig.from_dict(checkpoint.configs[name])
    model_class = CLIPTextModelWithProjection if name == "text_encoder_2" else CLIPTextModel
    model = empty_model(lambda: model_class(config))
    # transformers >= 5.6 saves CLIPTextModel without its `text_model.` level; the converters still add it.
    wrapped = any(key.startswith("text_model.") for key in model.state_dict())
    if source.layout == "clip":
        def convert(sd) -> StateDict:
            return _fit_text_names(convert_ldm_clip_checkpoint(sd), wrapped)
    else:
        holder = SimpleNamespace(config=config)  # the converter reads only the width from it

        def convert(sd) -> StateDict:
            return _fit_text_names(convert_open_clip_checkpoint(holder, sd, prefix=source.prefix), wrapped)

    return PartPlan(_TEXT_LABELS[name], _same(_text_names(checkpoint, source)), convert), model


def _text_names(checkpoint: CheckpointInfo, source: TextSource) -> list[str]:
    """The encoder's tensors, less those no diffusers encoder holds: CLIP's position ids and logit
    scale, and for SD 2.x the last layer and the projection it never reads (its text is the
    penultimate layer's)."""
    table, prefix = checkpoint.table, source.prefix
    skipped = {prefix + "logit_scale", prefix + "attn_mask", prefix + "text_projection.weight"}
    if source.drop_last_layer:
        last = table.indices(prefix + "transformer.resblocks.")[-1]
        skipped |= {prefix + "text_projection", *table.under(f"{prefix}transformer.resblocks.{last}.")}
    return [n for n in table.under(prefix) if n not in skipped and not n.endswith("embeddings.position_ids")]


def _fit_text_names(state: StateDict, wrapped: bool) -> StateDict:
    """Old SD 1.x files lack `text_model.`, newer ones have it: name each weight as the model does."""
    if wrapped:
        return {k if k.startswith("text_model.") or k == "text_projection.weight" else f"text_model.{k}": v
                for k, v in state.items()}
    return {k.removeprefix("text_model."): v for k, v in state.items()}


def _same(names: list[str]) -> dict[str, str]:
    return {name: name for name in names}
