"""Fitted preview maps kept on disk, by the VAE's weights: fitting takes seconds on a slow CPU, and a
user's first preview of each session should not wait for it. The built-in demo model's map ships in
resources/preview_maps (same name, same format), so a fresh install never fits it.

The file is ours (the app's cache folder), read as safetensors only; one that cannot be read or does not
fit the VAE is fitted again and rewritten. Deleting the folder costs one fit per VAE, nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .compile_cache import compile_cache_dir
from .preview_fit import FIT_VERSION, CascadeMap, fit_preview_map

log = logging.getLogger(__name__)


def preview_map_dir() -> Path:
    return compile_cache_dir().parent / "preview_maps"


BUNDLED_MAPS = Path(__file__).resolve().parents[2] / "resources" / "preview_maps"


def fitted_map(vae, factor: int, device: torch.device) -> CascadeMap:
    """The VAE's fitted map: shipped with the app or kept from an earlier fit, else fitted now and kept."""
    name = f"{vae_fingerprint(vae, factor)}.safetensors"
    path = preview_map_dir() / name
    for known in (BUNDLED_MAPS / name, path):
        cached = _load(known, vae.config.latent_channels)
        if cached is not None:
            return cached.to(device)
    fitted = fit_preview_map(vae, factor, device)
    save_map(fitted, path)
    return fitted


def vae_fingerprint(vae, factor: int) -> str:
    """Its weights, its scaling and the fitting method's version: any change fits again. Weights are hashed
    at bfloat16 precision, so the same VAE loaded in float32, float16 or bfloat16 finds the same map."""
    digest = hashlib.sha256(f"v{FIT_VERSION} f{factor} s{float(vae.config.scaling_factor)!r}".encode())
    for name, tensor in sorted(vae.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.bfloat16).view(torch.int16).contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def save_map(fitted: CascadeMap, path: Path) -> None:
    """Write the map beside its final name and rename it there; any failure only costs a fit next time."""
    tensors = {"low": fitted.low, "high": fitted.high, **{f"stage{i}": w for i, w in enumerate(fitted.stages)}}
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".partial")
        os.close(handle)
        temporary = Path(name)
        save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, name,
                  metadata={"degree": str(fitted.degree), "quadratic": str(fitted.quadratic)})
        temporary.replace(path)
        temporary = None
    except (OSError, SafetensorError) as err:  # a read-only or full cache (safetensors has its own error type)
        log.warning("preview map not kept in %s: %s", path.parent, err)
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _load(path: Path, channels: int) -> CascadeMap | None:
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
        stages = tuple(tensors[f"stage{i}"] for i in range(sum(k.startswith("stage") for k in tensors)))
        degree, quadratic = int(metadata["degree"]), int(metadata["quadratic"])
        if not (1 <= degree <= 4 and 1 <= quadratic <= 1000) or not stages:
            raise ValueError("its shape is not one this version fits")
        fitted = CascadeMap(degree, quadratic, tensors["low"], tensors["high"], stages)
        if fitted.low.shape != (channels,) or fitted.high.shape != (channels,):
            raise ValueError("it does not fit this VAE")
        rgb = fitted(torch.zeros(1, channels, 4, 4))  # every stage must fit the one before it
        if rgb.shape != (1, 3, 4, 4) or not bool(torch.isfinite(rgb).all()):
            raise ValueError("it does not give an image")
        return fitted
    except (OSError, SafetensorError, KeyError, ValueError, RuntimeError) as err:
        log.warning("preview map %s ignored (%s): fitting again", path, err)
        return None
