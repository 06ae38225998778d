"""What a single-file Stable Diffusion checkpoint is, decided from its header alone.

Why header only: the family, the prediction type, the parts present and the diffusers configs
are all fixed by tensor names and shapes, so a file that cannot run (a refiner, an inpainting
UNet, a LoRA, a checkpoint without its VAE) is refused in one sentence before any weight is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.domain.errors import ArchitectureMismatch, MissingModelPart, UnsupportedModel
from desktop.domain.family import EPSILON, V_PREDICTION, Family, ModelInfo, native_size

from .checkpoint_header import TensorTable, describe_content
from .checkpoint_reader import TensorReader
from .checkpoint_shapes import (
    UNetShape, clip_config, ldm_unet_shape, open_clip_config, structural_family, unet_config, vae_config,
)
from .checkpoint_sidecar import model_param, read_sidecar_yaml

CONFIGS = Path(__file__).resolve().parents[2] / "resources" / "configs"
UNET = "model.diffusion_model."
VAE = "first_stage_model."
SD1_TEXT = "cond_stage_model.transformer."
SD2_TEXT = "cond_stage_model.model."
SDXL_TEXT = "conditioner.embedders.0.transformer."
SDXL_TEXT_2 = "conditioner.embedders.1.model."
REFINER_TEXT = "conditioner.embedders.0.model."
# ComfyUI's SD 2.x rule (comfy/supported_models.py, SD20.model_type): a v-prediction UNet's last
# output attention has a first norm1 bias with a population std above 0.09; an eps one stays below.
_V_STD = 0.09
_PART_NAMES = {"text_encoder": "text encoder", "text_encoder_2": "second text encoder (OpenCLIP bigG)"}


@dataclass(frozen=True)
class TextSource:
    """Where one text encoder sits in the file and how its keys are laid out."""

    prefix: str
    layout: str  # "clip" (OpenAI CLIP, transformers names) or "open_clip" (OpenCLIP names)
    drop_last_layer: bool = False  # SD 2.x reads the penultimate layer: diffusers' encoder stops there


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint's kind and the diffusers configs that fit its weights."""

    path: Path
    info: ModelInfo
    parts: tuple[str, ...]  # "unet", "vae", "text_encoder"[, "text_encoder_2"]
    configs: dict[str, dict[str, Any]]
    text_sources: dict[str, TextSource]
    scheduler_config: dict[str, Any]
    table: TensorTable = field(repr=False, compare=False)


def inspect_checkpoint(path: Path) -> CheckpointInfo:
    """Read `path`'s header and say what it is; raise a typed, one-sentence error when it cannot run."""
    path = Path(path)
    table = TensorTable.read(path)
    if not table.has_prefix(UNET):
        raise ArchitectureMismatch(f"{path.name} is not a full Stable Diffusion checkpoint ({describe_content(table)})")
    shape = ldm_unet_shape(table, UNET)
    _refuse_unet(path.name, shape)
    family = _family(path.name, table, shape)
    texts = _text_sources(family)
    _require_parts(path.name, table, texts)
    prediction = _prediction(path, table, family)
    model = ModelInfo(family, prediction, native_size(family, prediction), inpainting=False)
    folder = CONFIGS / _config_folder(family, prediction)
    configs = {name: _text_config(table, source, _base(folder, name)) for name, source in texts.items()}
    _check_widths(path.name, shape, configs)
    scale = 2 ** (len(table.indices(VAE + "encoder.down.")) - 1)
    configs["unet"] = unet_config(
        shape, family, _base(folder, "unet"), sample_size=model.native_size // scale,
        time_embed_dim=_time_embed_dim(path.name, shape, configs),
    )
    configs["vae"] = vae_config(table, VAE, _base(folder, "vae"), sample_size=model.native_size)
    scheduler = _base(folder, "scheduler", "scheduler_config.json") | {"prediction_type": prediction}
    return CheckpointInfo(path, model, ("unet", "vae", *texts), configs, texts, scheduler, table)


def _refuse_unet(name: str, shape: UNetShape) -> None:
    if shape.in_channels == 9:
        raise UnsupportedModel(
            f"{name} is an inpainting model (9-channel UNet); use a regular checkpoint with the inpaint ControlNet"
        )
    if shape.in_channels != 4:
        raise UnsupportedModel(
            f"{name}'s UNet reads {shape.in_channels} input channels (a depth, pix2pix or upscaler model); "
            "only 4-channel text-to-image checkpoints run"
        )


def _family(name: str, table: TensorTable, shape: UNetShape) -> Family:
    refiner_text = table.has_prefix(REFINER_TEXT) and not table.has_prefix(SDXL_TEXT_2)
    if refiner_text or (shape.context_dim == 1280 and shape.add_embedding_in is not None):
        raise UnsupportedModel(
            f"{name} is an SDXL refiner (OpenCLIP bigG text encoder only, 1280-wide context); "
            "it only refines images, pick an SDXL base model"
        )
    if "edm_mean" in table:  # ComfyUI and diffusers read these as Playground v2.5's EDM latents
        raise UnsupportedModel(f"{name} is a Playground v2.5 (EDM) model, which ControlNet Studio does not run")
    if table.has_prefix("conditioner.embedders."):
        family = Family.SDXL
    elif table.has_prefix(SD2_TEXT):
        family = Family.SD2
    elif table.has_prefix(SD1_TEXT):
        family = Family.SD1
    else:
        family = structural_family(shape)
    if family is Family.SDXL and shape.add_embedding_in is None:
        raise ArchitectureMismatch(f"{name} has SDXL's text encoders but its UNet lacks SDXL's text-time embedding")
    if family is not Family.SDXL and shape.add_embedding_in is not None:
        raise UnsupportedModel(
            f"{name}'s {family.label} UNet takes an extra image or class embedding (an unCLIP-like variant), "
            "which ControlNet Studio does not run"
        )
    return family


def _text_sources(family: Family) -> dict[str, TextSource]:
    if family is Family.SD1:
        return {"text_encoder": TextSource(SD1_TEXT, "clip")}
    if family is Family.SD2:
        return {"text_encoder": TextSource(SD2_TEXT, "open_clip", drop_last_layer=True)}
    return {"text_encoder": TextSource(SDXL_TEXT, "clip"), "text_encoder_2": TextSource(SDXL_TEXT_2, "open_clip")}


def _require_parts(name: str, table: TensorTable, texts: dict[str, TextSource]) -> None:
    has_vae = table.has_prefix(VAE)
    missing_text = [part for part, source in texts.items() if not table.has_prefix(source.prefix)]
    if not has_vae and len(missing_text) == len(texts):
        raise ArchitectureMismatch(
            f"{name} is a UNet alone, without VAE and text encoder; use a full checkpoint (UNet, VAE and text encoder)"
        )
    if not has_vae:
        raise MissingModelPart(f"{name} has no VAE (no {VAE}* weights); use a checkpoint that includes its VAE")
    if missing_text:
        part = _PART_NAMES[missing_text[0]]
        prefix = texts[missing_text[0]].prefix
        raise MissingModelPart(f"{name} has no {part} (no {prefix}* weights); use a checkpoint that includes it")


def _prediction(path: Path, table: TensorTable, family: Family) -> str:
    """A sidecar `<stem>.yaml` first (as A1111 reads it), then SDXL's `v_pred` marker key, then
    ComfyUI's weight statistic for SD 2.x; everything else predicts noise (epsilon)."""
    sidecar = read_sidecar_yaml(path)
    if sidecar is not None:  # ldm's LatentDiffusion defaults to "eps"
        return V_PREDICTION if model_param(sidecar, "parameterization", "eps") == "v" else EPSILON
    if "v_pred" in table:
        return V_PREDICTION
    if family is Family.SD2:
        return _sd2_statistic(path, table)
    return EPSILON


def _sd2_statistic(path: Path, table: TensorTable) -> str:
    """ComfyUI's rule, reading that one small tensor (in real SD 2.x files: output_blocks.11)."""
    blocks = table.indices(UNET + "output_blocks.")
    name = f"{UNET}output_blocks.{blocks[-1]}.1.transformer_blocks.0.norm1.bias" if blocks else ""
    if name not in table:
        return EPSILON
    with TensorReader(path, table) as reader:
        bias = reader.read(name).float()
    return V_PREDICTION if float(bias.std(unbiased=False)) > _V_STD else EPSILON


def _config_folder(family: Family, prediction: str) -> str:
    if family is Family.SD1:
        return "sd15"
    if family is Family.SD2:
        return "sd2_v" if prediction == V_PREDICTION else "sd2"
    return "sdxl"


def _base(folder: Path, part: str, file: str = "config.json") -> dict[str, Any]:
    return json.loads((folder / part / file).read_text(encoding="utf-8"))


def _text_config(table: TensorTable, source: TextSource, base: dict[str, Any]) -> dict[str, Any]:
    if source.layout == "clip":
        return clip_config(table, source.prefix, base)
    layers = len(table.indices(source.prefix + "transformer.resblocks.")) - int(source.drop_last_layer)
    return open_clip_config(table, source.prefix, base, layers_used=layers)


def _check_widths(name: str, shape: UNetShape, configs: dict[str, dict[str, Any]]) -> None:
    width = sum(config["hidden_size"] for config in configs.values())
    if width != shape.context_dim:
        raise ArchitectureMismatch(
            f"{name}'s UNet reads {shape.context_dim}-wide text but its text encoders make {width}-wide text"
        )


def _time_embed_dim(name: str, shape: UNetShape, configs: dict[str, dict[str, Any]]) -> int | None:
    """SDXL's add-embedding reads the pooled text (the second encoder's projection) plus six sinusoidal
    size/crop numbers; their width is what remains."""
    if shape.add_embedding_in is None:
        return None
    extra = shape.add_embedding_in - configs["text_encoder_2"]["projection_dim"]
    if extra <= 0 or extra % 6:
        raise ArchitectureMismatch(
            f"{name}'s UNet text-time embedding ({shape.add_embedding_in} wide) fits no SDXL layout"
        )
    return extra // 6
