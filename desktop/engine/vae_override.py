"""A VAE used instead of the base model's own: a diffusers folder or one .safetensors file.

Why: many checkpoints ship a washed-out VAE and users pair them with a better one (vae-ft-mse,
sdxl-vae-fp16-fix). A single file may hold diffusers keys or the original `encoder.`/`decoder.`
keys (with or without `first_stage_model.`); diffusers' `from_single_file` reads both, with the base
model's own VAE config, as A1111 swaps only the weights. Its latent channels are checked from the
header or config before a weight loads: a VAE for other latents is refused by name.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from desktop.domain.errors import ArchitectureMismatch, ModelNotFound

from .device import DeviceChoice
from .extra_files import explained, read_header
from .model_family import read_json
from .safetensors_check import check_folder_weights, weights_variant

_PREFIXES = ("first_stage_model.", "vae.", "")


def load_vae_override(reference: str, own_vae, device: DeviceChoice):
    """An AutoencoderKL from `reference`, on the device, that fits where `own_vae` sits."""
    from diffusers import AutoencoderKL

    path = Path(reference)
    if path.is_dir():
        folder = path / "vae" if (path / "vae" / "config.json").is_file() else path
        _check_config(folder, own_vae)
        check_folder_weights(folder)
        vae = explained(f"loading VAE {path.name}", lambda: AutoencoderKL.from_pretrained(
            folder, variant=weights_variant(folder), use_safetensors=True, torch_dtype=device.dtype))
    else:
        _check_file(path, own_vae)
        with tempfile.TemporaryDirectory() as config_folder:
            own_vae.save_config(config_folder)
            vae = explained(f"loading VAE {path.name}", lambda: AutoencoderKL.from_single_file(
                str(path), config=config_folder, torch_dtype=device.dtype, local_files_only=True))
    vae.to(device.device)
    if device.dtype == torch.float16 and vae.config.get("force_upcast", False):
        vae.to(torch.float32)  # as the base's own: this VAE overflows in half precision
    vae.eval()
    vae.requires_grad_(False)
    return vae


def _check_config(folder: Path, own_vae) -> None:
    config = read_json(folder / "config.json")
    if config is None:
        raise ModelNotFound(f"{folder} is not a VAE folder: it has no readable config.json")
    if config.get("_class_name") != "AutoencoderKL":
        raise ArchitectureMismatch(f"{folder.name} holds a {config.get('_class_name')}, not a VAE")
    _check_latents(folder.name, config.get("latent_channels"), own_vae)
    blocks, own_blocks = len(config.get("block_out_channels", ())), len(own_vae.config.block_out_channels)
    if blocks != own_blocks:
        raise ArchitectureMismatch(f"VAE {folder.name} scales images by {2 ** (blocks - 1)}, but the base model's "
                                   f"VAE by {2 ** (own_blocks - 1)}")


def _check_file(path: Path, own_vae) -> None:
    header = read_header(str(path), "VAE")
    if any(key.startswith("model.diffusion_model.") for key in header):
        raise ArchitectureMismatch(f"{path.name} is a full Stable Diffusion checkpoint, not a VAE; use it as the "
                                   "base model, or pick a VAE file")
    shape = next((header[p + "encoder.conv_out.weight"].get("shape") for p in _PREFIXES
                  if p + "encoder.conv_out.weight" in header), None)
    if not shape:
        raise ArchitectureMismatch(f"{path.name} is not a VAE: it has no encoder.conv_out weight")
    _check_latents(path.name, shape[0] // 2, own_vae)  # the encoder outputs a mean and a variance per channel


def _check_latents(name: str, channels, own_vae) -> None:
    own = own_vae.config.latent_channels
    if channels != own:
        raise ArchitectureMismatch(f"VAE {name} makes {channels}-channel latents, but the base model works "
                                   f"on {own}; pick a VAE made for this model's family")
