"""Live previews: the x0 estimate of each step, mapped to RGB by a latent-to-RGB map.

The maps for SD 1.x/2.x and SDXL latents are the published linear ones (REFERENCE.md, ComfyUI's
comfy/latent_formats.py). Any other VAE (the built-in demo model, unknown VAEs, tests) gets a map fitted
once from its own encoder and decoder (preview_fit.py: a short cascade of least-squares stages, since a
linear map is far off on small VAEs), kept on the loaded model.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .components import BaseModel
from .preview_fit import CascadeMap
from .preview_map_cache import fitted_map

SD1_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
# SDXL's VAE has SD's shapes but its own latent space; ComfyUI's fitted factors (comfy/latent_formats.py).
SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_LATENT_BIAS = (0.1084, -0.0175, -0.0011)
SD1_SCALING, SDXL_SCALING = 0.18215, 0.13025


def _is_full_size_vae(vae, scaling: float) -> bool:
    cfg = vae.config
    return (
        cfg.latent_channels == 4
        and list(cfg.block_out_channels) == [128, 256, 512, 512]
        and abs(float(cfg.scaling_factor) - scaling) < 1e-6
    )


def is_sd1_vae(vae) -> bool:
    """The VAE of SD 1.x and 2.x (same latent space)."""
    return _is_full_size_vae(vae, SD1_SCALING)


def known_latent_rgb(vae) -> tuple[np.ndarray, np.ndarray] | None:
    """The published latent-to-RGB factors for this VAE's latent space, when it is a known one."""
    if is_sd1_vae(vae):
        return np.array(SD1_LATENT_RGB), np.zeros(3)
    if _is_full_size_vae(vae, SDXL_SCALING):
        return np.array(SDXL_LATENT_RGB), np.array(SDXL_LATENT_BIAS)
    return None


@dataclass(frozen=True)
class LinearMap:
    """A published latent-to-RGB map: latents (B, C, h, w) -> RGB (B, 3, h, w) in about -1..1."""

    matrix: torch.Tensor  # (C, 3)
    bias: torch.Tensor  # (3,)

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bchw,cr->brhw", latents.float(), self.matrix) + self.bias[:, None, None]


PreviewMap = LinearMap | CascadeMap


def latent_rgb_map(base: BaseModel) -> PreviewMap:
    """The preview map of the model's VAE on the model's device, made once per loaded model: the published
    matrix for SD 1.x/2.x and SDXL latents, else one fitted from the VAE (seconds on a slow CPU: kept on
    disk by the VAE's weights, so only the first load of a VAE ever fits)."""
    kept = base.extras.get("latent_rgb")
    if kept is not None and kept[0]() is base.vae:  # a VAE override swaps base.vae: then its own map
        return kept[1]
    known = known_latent_rgb(base.vae)
    if known is not None:
        matrix, bias = known
        made: PreviewMap = LinearMap(torch.tensor(matrix, dtype=torch.float32, device=base.device),
                                     torch.tensor(bias, dtype=torch.float32, device=base.device))
    else:
        made = fitted_map(base.vae, base.vae_scale_factor, base.device)
    base.extras["latent_rgb"] = (weakref.ref(base.vae), made)  # kept on the loaded model, for its VAE
    return made


def latents_to_rgb(latents: torch.Tensor, preview_map: PreviewMap) -> torch.Tensor:
    """(1, C, h, w) latents -> (h, w, 3) uint8 on the same device."""
    rgb = preview_map(latents)[0].permute(1, 2, 0)
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def decoded_to_rgb(images: torch.Tensor) -> np.ndarray:
    """VAE output (1, 3, H, W) in -1..1 -> (H, W, 3) uint8, rounded as diffusers rounds."""
    array = (images / 2 + 0.5).clamp(0, 1).cpu().permute(0, 2, 3, 1).float().numpy()
    return (array[0] * 255).round().astype(np.uint8)


class PreviewPipe:
    """Hands previews to the host without stalling the device.

    On CUDA each preview is copied non-blocking into pinned memory and delivered once its
    event has completed; elsewhere it is delivered at once.
    """

    def __init__(self, device: torch.device, deliver: Callable[[int, np.ndarray, bool], None]) -> None:
        self._device = device
        self._deliver = deliver
        self._pending: list[tuple[int, torch.Tensor, torch.Tensor, object]] = []

    def submit(self, step: int, rgb: torch.Tensor, finite: torch.Tensor) -> None:
        if self._device.type != "cuda":
            self._deliver(step, rgb.cpu().numpy(), bool(finite))
            return
        host = torch.empty(rgb.shape, dtype=rgb.dtype, pin_memory=True)
        flag = torch.empty((), dtype=torch.bool, pin_memory=True)
        host.copy_(rgb, non_blocking=True)
        flag.copy_(finite, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._pending.append((step, host, flag, event))
        self.poll()

    def poll(self) -> None:
        while self._pending and self._pending[0][3].query():
            step, host, flag, _ = self._pending.pop(0)
            self._deliver(step, host.numpy(), bool(flag))

    def flush(self) -> None:
        while self._pending:
            step, host, flag, event = self._pending.pop(0)
            event.synchronize()
            self._deliver(step, host.numpy(), bool(flag))


def alpha_table(scheduler) -> tuple[list[float], list[float]]:
    """sqrt(a_t) and sqrt(1 - a_t) per step, computed once before the loop (no syncs inside)."""
    count = len(scheduler.timesteps)
    sigmas = getattr(scheduler, "sigmas", None)
    if sigmas is not None and len(sigmas) >= count:
        alphas = (1.0 / (1.0 + sigmas[:count].double().cpu() ** 2)).tolist()
    else:
        cumprod = scheduler.alphas_cumprod.double().cpu()
        alphas = [float(cumprod[int(t)]) for t in scheduler.timesteps.cpu()]
    return [a ** 0.5 for a in alphas], [(1 - a) ** 0.5 for a in alphas]
