"""Loading base models and ControlNets from a hub id, a diffusers folder or a .safetensors file.

Weights load from safetensors only (`use_safetensors=True`); pickles are refused before they are
opened. Every failure becomes a typed error with one sentence. A hub id is looked up in the cache first;
the network is asked only for what is missing, and only after `require_hub` has found it answering.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from desktop.domain.errors import (
    ArchitectureMismatch, MissingModelPart, ModelDamaged, ModelNotFound, StudioError, UnsupportedModel, WrongFamily,
)
from desktop.domain.family import Family

from .compat import check_base_parts
from .components import BaseModel
from .device import DeviceChoice
from desktop.hub.downloads import BASE_FOLDERS, DownloadProgress, cached_snapshot, download_model, download_snapshot
from desktop.hub.local_cache import require_hub
from .memory import is_out_of_memory, out_of_memory
from .model_family import family_of_unet_config, info_from_folder, read_json, zero_empty_negative
from .model_ref import ModelRef
from .safetensors_check import check_folder_weights, weights_variant

CONFIGS = Path(__file__).resolve().parents[2] / "resources" / "configs"
SD15_CONFIG = CONFIGS / "sd15"
CONTROLNET_SD15_CONFIG = CONFIGS / "controlnet_sd15"


def quiet_libraries() -> None:
    """The libraries' own progress bars and warnings go nowhere a user reads; ours report instead."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def load_base_model(ref: ModelRef, device: DeviceChoice, progress: DownloadProgress | None = None) -> BaseModel:
    """Load a full Stable Diffusion model of any family (tokenizers, text encoders, UNet, VAE, scheduler)."""
    quiet_libraries()
    if ref.kind == "hub":
        folder = _hub_folder(ref.location, "base model", BASE_FOLDERS, device, progress, _base_folder_complete)
        return _guarded(f"loading {ref}", lambda: _base_from_folder(folder, str(ref), device))
    if ref.kind == "folder":
        return _guarded(f"loading {ref}", lambda: _base_from_folder(Path(ref.location), str(ref), device))
    return _guarded(f"loading {ref}", lambda: _base_from_single_file(Path(ref.location), device))


def load_controlnet(ref: ModelRef, device: DeviceChoice, progress: DownloadProgress | None = None,
                    family: Family | None = None, base_unet: torch.nn.Module | None = None):
    """Load one ControlNetModel (or a T2I-Adapter, from a diffusers folder) from any kind of reference. With
    `family`, a network made for another family is refused from its config or file header, before its
    weights are read. `base_unet` is the base model a ControlNet 1.0 "difference" file is added to."""
    quiet_libraries()
    if ref.kind == "hub":
        folder = _hub_folder(ref.location, "ControlNet", (".",), device, progress, _controlnet_folder_complete,
                             lambda configs: _check_controlnet_config(configs, ref.location, family))
        return _guarded(f"loading {ref}", lambda: _controlnet_from_folder(folder, device, family))
    if ref.kind == "folder":
        return _guarded(f"loading {ref}", lambda: _controlnet_from_folder(Path(ref.location), device, family))
    return _guarded(f"loading {ref}", lambda: _controlnet_from_file(Path(ref.location), device, family, base_unet))


def _hub_folder(repo_id: str, what: str, folders: tuple[str, ...], device: DeviceChoice,
                progress: DownloadProgress | None, complete: Callable[[Path], bool],
                check: Callable[[Path], object] | None = None) -> Path:
    """A complete cached snapshot, found without the network; otherwise the download of what is missing,
    started only once the hub is known to answer (offline: one sentence at once). `check` reads the
    configs (cached, else downloaded alone) before any weights download, so a wrong model costs no gigabytes."""
    found = cached_snapshot(repo_id)
    cached = Path(found) if found is not None else None
    if cached is not None and complete(cached):
        if check is not None:
            check(cached)
        return cached
    require_hub(repo_id, what, incomplete=cached is not None)
    if check is not None:
        check(cached if cached is not None and (cached / "config.json").is_file()
              else Path(download_snapshot(repo_id, ["config.json"], progress)))
    try:
        return Path(download_model(repo_id, folders, prefer_fp16=device.dtype == torch.float16, progress=progress))
    except ModelNotFound as err:
        if cached is None:
            raise
        raise ModelNotFound(f"the cached copy of {repo_id} is incomplete (an interrupted download?) and the hub "
                            "cannot be reached to finish it", detail=err.detail) from err


def _has_weights(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.safetensors"))


def _base_folder_complete(folder: Path) -> bool:
    index = read_json(folder / "model_index.json") or {}
    parts = [p for p in ("unet", "vae", "text_encoder", "text_encoder_2") if index.get(p, [None])[0]]
    return bool(parts) and all(_has_weights(folder / p) for p in parts)


def _controlnet_folder_complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and _has_weights(folder)


def _guarded(during: str, load: Callable[[], Any]) -> Any:
    """Turn library exceptions into typed errors; ours pass through untouched."""
    try:
        return load()
    except StudioError:
        raise
    except Exception as err:  # noqa: BLE001 - the loaders raise many kinds; each is classified here
        if is_out_of_memory(err):
            raise out_of_memory(during, err) from err
        raise classify_load_error(during, err) from err


_MISFIT = ("size mismatch", "Missing key", "Unexpected key", "missing keys", "unexpected keys")
_DAMAGE = ("deserializ", "incomplete metadata", "unexpected end", "invalid header", "HeaderTooLarge", "MetadataIncomplete")


def classify_load_error(during: str, err: Exception) -> StudioError:
    """The real cause of a library failure: weights that do not fit, damaged bytes, a missing file, or
    (anything else) a model this version cannot load. Only damage says "damaged": a user told that
    deletes and downloads again, which cures nothing else."""
    text = str(err)
    first_line = text.strip().splitlines()[0][:200] if text.strip() else type(err).__name__
    if any(s in text for s in _MISFIT):
        return ArchitectureMismatch(f"{during}: the weights do not fit the expected architecture", detail=text)
    if any(s in text for s in _DAMAGE) or type(err).__name__ == "SafetensorError" or isinstance(err, ValueError) and (
        "JSON" in text
    ):
        return ModelDamaged(f"{during}: model file is damaged or incomplete", detail=text)
    if isinstance(err, FileNotFoundError) or "no file named" in text:
        return MissingModelPart(f"{during}: a file the model needs is missing ({first_line})", detail=text)
    return UnsupportedModel(f"{during}: this model cannot be loaded: {first_line}", detail=text)


def _read_class_name(config_file: Path) -> str | None:
    return (read_json(config_file) or {}).get("_class_name")


def _base_from_folder(folder: Path, source: str, device: DeviceChoice) -> BaseModel:
    from diffusers import AutoencoderKL, UNet2DConditionModel

    if (folder / "config.json").exists() and not (folder / "unet").exists():
        kind = _read_class_name(folder / "config.json") or "single component"
        raise ArchitectureMismatch(f"{folder.name} holds a {kind}, not a full Stable Diffusion model")
    if not (folder / "unet").is_dir():
        raise ModelNotFound(f"{folder} is not a Stable Diffusion model folder: it has no unet/ folder")
    info = info_from_folder(folder)
    if info.inpainting:
        raise UnsupportedModel(
            f"{folder.name} is an inpainting model (9-channel UNet); use a regular {info.family.label} model "
            "with the inpaint ControlNet instead"
        )
    weights = ["unet", "vae", "text_encoder"] + (["text_encoder_2"] if info.family is Family.SDXL else [])
    for part in [*weights, "scheduler"]:
        if not (folder / part).is_dir():
            raise MissingModelPart(f"{folder.name} is a {info.family.label} model without its {part}/ folder")
    for part in weights:
        check_folder_weights(folder / part)
    dtype = device.dtype
    unet = UNet2DConditionModel.from_pretrained(
        folder, subfolder="unet", variant=weights_variant(folder / "unet"), use_safetensors=True, torch_dtype=dtype)
    vae = AutoencoderKL.from_pretrained(
        folder, subfolder="vae", variant=weights_variant(folder / "vae"), use_safetensors=True, torch_dtype=dtype)
    text_encoder, tokenizer = _text_part(folder, "", info.family, dtype)
    text_encoder_2 = tokenizer_2 = None
    if info.family is Family.SDXL:
        text_encoder_2, tokenizer_2 = _text_part(folder, "_2", info.family, dtype)
    base = BaseModel(source, tokenizer, text_encoder, unet, vae, _scheduler_config(folder / "scheduler"),
                     device.device, dtype, info=info, tokenizer_2=tokenizer_2, text_encoder_2=text_encoder_2,
                     zero_empty_negative=zero_empty_negative(folder, info.family))
    return _finish_base(base, device)


def _text_part(folder: Path, suffix: str, family: Family, dtype: torch.dtype):
    """A text encoder and its tokenizer; a folder without tokenizer files gets the bundled CLIP one."""
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    encoder_folder = folder / f"text_encoder{suffix}"
    architectures = (read_json(encoder_folder / "config.json") or {}).get("architectures") or []
    kind = CLIPTextModelWithProjection if "CLIPTextModelWithProjection" in architectures else CLIPTextModel
    encoder = kind.from_pretrained(encoder_folder, variant=weights_variant(encoder_folder), use_safetensors=True, dtype=dtype)
    tokenizer_folder = folder / f"tokenizer{suffix}"
    if any((tokenizer_folder / name).is_file() for name in ("vocab.json", "tokenizer.json")):
        tokenizer = CLIPTokenizer.from_pretrained(tokenizer_folder)
    else:
        from .tokenizers import PAD_TOKENS, load_clip_tokenizer

        tokenizer = load_clip_tokenizer(PAD_TOKENS[family][1 if suffix else 0])
    return encoder, tokenizer


def _scheduler_config(folder: Path) -> dict[str, Any]:
    config = read_json(folder / "scheduler_config.json")
    if config is None:
        raise ModelDamaged(f"model file is damaged: {folder}/scheduler_config.json cannot be read")
    return config


def _base_from_single_file(path: Path, device: DeviceChoice) -> BaseModel:
    """An original-format checkpoint (what most users have): every family, read part by part."""
    from .single_file_base import load_single_file_base

    parts = load_single_file_base(path, device.dtype, device.device)
    base = BaseModel(
        str(path), parts.tokenizer, parts.text_encoder, parts.unet, parts.vae, dict(parts.scheduler_config),
        device.device, device.dtype, info=parts.info, tokenizer_2=parts.tokenizer_2,
        text_encoder_2=parts.text_encoder_2, zero_empty_negative=parts.info.family is Family.SDXL,
    )
    return _finish_base(base, device)


def _finish_base(base: BaseModel, device: DeviceChoice) -> BaseModel:
    for module in (*base.text_encoders, base.unet, base.vae):
        module.to(device.device)
        module.eval()
        module.requires_grad_(False)
    if device.dtype == torch.float16 and base.vae.config.get("force_upcast", False):
        base.vae.to(torch.float32)  # this VAE overflows in half precision (SDXL's): decode in float32, chosen once
    check_base_parts(base)
    return base


# What a layer's network may be (the loop tells them apart): a ControlNet, a Union ControlNet (diffusers' name,
# or the name of the class xinsir trained it with), a T2I-Adapter.
CONTROL_NETWORK_CLASSES = ("ControlNetModel", "ControlNetUnionModel", "ControlNetModel_Union", "T2IAdapter")


def network_class_name(config: dict[str, Any]) -> str | None:
    """Which of diffusers' classes reads this config: a Union model is told by its control types, whatever
    class name its config was saved under."""
    name = config.get("_class_name")
    if name == "ControlNetModel_Union" or (name == "ControlNetModel" and "num_control_type" in config):
        return "ControlNetUnionModel"
    return name


def _check_controlnet_config(folder: Path, name: str, family: Family | None) -> dict[str, Any]:
    config = read_json(folder / "config.json")
    if config is None:
        raise ModelNotFound(f"{folder} is not a ControlNet folder: it has no readable config.json")
    class_name = network_class_name(config)
    if class_name not in CONTROL_NETWORK_CLASSES:
        raise ArchitectureMismatch(f"{Path(name).name} holds a {class_name}, not a ControlNet or T2I-Adapter")
    if family is not None and family not in control_network_families(config):
        what = {"T2IAdapter": "T2I-Adapter", "ControlNetUnionModel": "ControlNet Union"}.get(class_name, "ControlNet")
        raise WrongFamily(
            f"{what} {name} is made for {describe_control_network(config)} models, but the base model is "
            f"{family.label}; pick a {what} trained for this base model"
        )
    return config


def control_network_families(config: dict[str, Any]) -> tuple[Family, ...]:
    """The families a ControlNet or T2I-Adapter config fits. An adapter's config names no text width:
    the XL kind fits SDXL, the others SD 1.x and SD 2.x alike (their UNets have the same blocks)."""
    if config.get("_class_name") == "T2IAdapter":
        return (Family.SDXL,) if config.get("adapter_type") == "full_adapter_xl" else (Family.SD1, Family.SD2)
    return (family_of_unet_config(config),)


def describe_control_network(config: dict[str, Any]) -> str:
    return " and ".join(family.label for family in control_network_families(config))


def _controlnet_from_folder(folder: Path, device: DeviceChoice, family: Family | None):
    from diffusers import ControlNetModel, ControlNetUnionModel, T2IAdapter

    if (folder / "controlnet").is_dir() and not (folder / "config.json").exists():
        folder = folder / "controlnet"
    config = _check_controlnet_config(folder, folder.name, family)
    check_folder_weights(folder)
    model_class = {"ControlNetModel": ControlNetModel, "ControlNetUnionModel": ControlNetUnionModel,
                   "T2IAdapter": T2IAdapter}[network_class_name(config)]
    net = model_class.from_pretrained(folder, variant=weights_variant(folder), use_safetensors=True,
                                      torch_dtype=device.dtype)
    return _finish_net(net, device)


def _controlnet_from_file(path: Path, device: DeviceChoice, family: Family | None, base_unet):
    """A diffusers-layout file (config beside it, or inferred) or an original ControlNet 1.0/1.1 file."""
    from .single_file_controlnet import load_single_file_controlnet

    net = load_single_file_controlnet(path, device.dtype, expected_family=family, base_unet=base_unet)
    return _finish_net(net, device)


def _finish_net(net, device: DeviceChoice):
    if net.dtype != device.dtype:
        net.to(dtype=device.dtype)
    net.to(device.device)
    net.eval()
    net.requires_grad_(False)
    return net
