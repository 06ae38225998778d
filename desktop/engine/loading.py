"""Loading base models and ControlNets from a hub id, a diffusers folder or a .safetensors file.

Weights load from safetensors only (`use_safetensors=True`); pickles are refused before they are
opened. Every failure becomes a typed error with one sentence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from desktop.domain.errors import ArchitectureMismatch, ModelDamaged, ModelNotFound, StudioError

from .compat import check_base_parts
from .components import BaseModel
from .device import DeviceChoice
from .hub import BASE_PATTERNS, CONTROLNET_PATTERNS, DownloadProgress, download_snapshot
from .memory import is_out_of_memory, out_of_memory
from .model_ref import ModelRef
from .safetensors_check import check_folder_weights, read_safetensors_header

CONFIGS = Path(__file__).resolve().parents[2] / "resources" / "configs"
SD15_CONFIG = CONFIGS / "sd15"
CONTROLNET_SD15_CONFIG = CONFIGS / "controlnet_sd15"
SD15_TOKENIZER_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"
_BASE_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


def quiet_libraries() -> None:
    """The libraries' own progress bars and warnings go nowhere a user reads; ours report instead."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def load_base_model(ref: ModelRef, device: DeviceChoice, progress: DownloadProgress | None = None) -> BaseModel:
    """Load a full Stable Diffusion model (tokenizer, text encoder, UNet, VAE, scheduler)."""
    quiet_libraries()
    if ref.kind == "hub":
        folder = download_snapshot(ref.location, BASE_PATTERNS, progress)
        return _guarded(f"loading {ref}", lambda: _base_from_folder(Path(folder), str(ref), device))
    if ref.kind == "folder":
        return _guarded(f"loading {ref}", lambda: _base_from_folder(Path(ref.location), str(ref), device))
    return _guarded(f"loading {ref}", lambda: _base_from_single_file(Path(ref.location), device, progress))


def load_controlnet(ref: ModelRef, device: DeviceChoice, progress: DownloadProgress | None = None):
    """Load one ControlNetModel from any kind of reference."""
    quiet_libraries()
    if ref.kind == "hub":
        folder = download_snapshot(ref.location, CONTROLNET_PATTERNS, progress)
        return _guarded(f"loading {ref}", lambda: _controlnet_from_folder(Path(folder), device))
    if ref.kind == "folder":
        return _guarded(f"loading {ref}", lambda: _controlnet_from_folder(Path(ref.location), device))
    return _guarded(f"loading {ref}", lambda: _controlnet_from_file(Path(ref.location), device))


def _guarded(during: str, load: Callable[[], Any]) -> Any:
    """Turn library exceptions into typed errors; ours pass through untouched."""
    try:
        return load()
    except StudioError:
        raise
    except Exception as err:  # noqa: BLE001 - the loaders raise many kinds; each is classified here
        if is_out_of_memory(err):
            raise out_of_memory(during, err) from err
        text = str(err)
        if any(s in text for s in ("size mismatch", "Missing key", "Unexpected key", "missing keys", "unexpected keys")):
            raise ArchitectureMismatch(f"{during}: the weights do not fit the expected architecture", detail=text) from err
        raise ModelDamaged(f"{during}: model file is damaged or incomplete", detail=text) from err


def _read_class_name(config_file: Path) -> str | None:
    try:
        return json.loads(config_file.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None


def _base_from_folder(folder: Path, source: str, device: DeviceChoice) -> BaseModel:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    if (folder / "config.json").exists() and not (folder / "unet").exists():
        kind = _read_class_name(folder / "config.json") or "single component"
        raise ArchitectureMismatch(f"{folder.name} holds a {kind}, not a full Stable Diffusion model")
    missing = [part for part in _BASE_PARTS if not (folder / part).is_dir()]
    if missing:
        raise ModelNotFound(f"{folder} is not a Stable Diffusion model folder: it has no {missing[0]}/ folder")
    for part in ("unet", "vae", "text_encoder"):
        check_folder_weights(folder / part)
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", use_safetensors=True, torch_dtype=device.dtype)
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", use_safetensors=True, torch_dtype=device.dtype)
    text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", use_safetensors=True, dtype=device.dtype)
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    scheduler_config = _scheduler_config(folder / "scheduler")
    return _finish_base(source, tokenizer, text_encoder, unet, vae, scheduler_config, device)


def _scheduler_config(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "scheduler_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelDamaged(f"model file is damaged: {folder}/scheduler_config.json cannot be read") from err


def _base_from_single_file(path: Path, device: DeviceChoice, progress: DownloadProgress | None) -> BaseModel:
    """An original-format checkpoint (what most users have), converted by diffusers."""
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTokenizer

    keys = read_safetensors_header(path)
    if not any(k.startswith("model.diffusion_model.") for k in keys):
        raise ArchitectureMismatch(f"{path.name} is not a full Stable Diffusion checkpoint ({_guess_content(keys)})")
    if any(k.startswith("conditioner.") for k in keys):
        raise ArchitectureMismatch(f"{path.name} is an SDXL checkpoint; ControlNet Studio runs SD 1.x models")
    tokenizer_folder = download_snapshot(SD15_TOKENIZER_REPO, ["tokenizer/*"], progress)
    tokenizer = CLIPTokenizer.from_pretrained(Path(tokenizer_folder) / "tokenizer")
    pipe = StableDiffusionPipeline.from_single_file(
        str(path), config=str(SD15_CONFIG), tokenizer=tokenizer, safety_checker=None,
        feature_extractor=None, requires_safety_checker=False, torch_dtype=device.dtype, local_files_only=True,
    )
    return _finish_base(
        str(path), pipe.tokenizer, pipe.text_encoder, pipe.unet, pipe.vae, dict(pipe.scheduler.config), device
    )


def _finish_base(source, tokenizer, text_encoder, unet, vae, scheduler_config, device: DeviceChoice) -> BaseModel:
    for module in (text_encoder, unet, vae):
        module.to(device.device)
        module.eval()
        module.requires_grad_(False)
    base = BaseModel(source, tokenizer, text_encoder, unet, vae, dict(scheduler_config), device.device, device.dtype)
    check_base_parts(base)
    return base


def _controlnet_from_folder(folder: Path, device: DeviceChoice):
    from diffusers import ControlNetModel

    if (folder / "controlnet").is_dir() and not (folder / "config.json").exists():
        folder = folder / "controlnet"
    class_name = _read_class_name(folder / "config.json")
    if class_name is None:
        raise ModelNotFound(f"{folder} is not a ControlNet folder: it has no readable config.json")
    if class_name != "ControlNetModel":
        raise ArchitectureMismatch(f"{folder.name} holds a {class_name}, not a ControlNet")
    check_folder_weights(folder)
    net = ControlNetModel.from_pretrained(folder, use_safetensors=True, torch_dtype=device.dtype)
    return _finish_net(net, device)


def _controlnet_from_file(path: Path, device: DeviceChoice):
    """A diffusers-layout file (config beside it, or the SD 1.5 one) or an original ControlNet 1.1 file."""
    from diffusers import ControlNetModel
    from safetensors.torch import load_file

    keys = read_safetensors_header(path)
    if any(k.startswith("controlnet_cond_embedding.") for k in keys):
        config_file = next((p for p in (path.with_suffix(".json"), path.parent / "config.json") if p.exists()), None)
        config_dir = CONTROLNET_SD15_CONFIG if config_file is None else None
        config = ControlNetModel.load_config(str(config_file) if config_file else str(config_dir))
        net = ControlNetModel.from_config(config)
        result = net.load_state_dict(load_file(str(path)), strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ArchitectureMismatch(
                f"{path.name} does not fit the ControlNet layout of its config "
                f"({len(result.missing_keys)} weights missing, {len(result.unexpected_keys)} unexpected)"
            )
        return _finish_net(net, device)
    if any("input_hint_block" in k for k in keys):
        net = ControlNetModel.from_single_file(
            str(path), config=str(CONTROLNET_SD15_CONFIG), torch_dtype=device.dtype, local_files_only=True
        )
        return _finish_net(net, device)
    raise ArchitectureMismatch(f"{path.name} is not a ControlNet ({_guess_content(keys)})")


def _finish_net(net, device: DeviceChoice):
    if net.dtype != device.dtype:
        net.to(dtype=device.dtype)
    net.to(device.device)
    net.eval()
    net.requires_grad_(False)
    return net


def _guess_content(keys: dict) -> str:
    names = list(keys)
    if any(k.startswith(("encoder.down", "decoder.up", "first_stage_model.")) for k in names) and not any(
        "diffusion_model" in k for k in names
    ):
        return "it looks like a VAE"
    if any(k.startswith(("text_model.", "cond_stage_model.")) for k in names):
        return "it looks like a text encoder"
    if any(k.startswith(("down_blocks.", "conv_in.")) for k in names):
        return "it looks like a UNet"
    if any(k.startswith("model.diffusion_model.") for k in names):
        return "it looks like a full Stable Diffusion checkpoint"
    return "its weights match no known model part"
