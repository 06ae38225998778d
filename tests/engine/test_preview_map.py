"""The latent-to-RGB preview map: SD 1.x factors for SD VAEs, a fitted map for others."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.engine.preview import SD1_LATENT_RGB, alpha_table, is_sd1_vae, latent_rgb_map, latents_to_rgb
from desktop.engine.schedulers import make_scheduler


@pytest.fixture(scope="module")
def base(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base))


class _LinearVae:
    """A VAE whose decoder is exactly linear per pixel, so the fit has a known answer."""

    dtype = torch.float32

    def __init__(self, decode_matrix: torch.Tensor, decode_bias: torch.Tensor) -> None:
        self.config = type("Config", (), {"block_out_channels": (8, 8), "scaling_factor": 0.5, "latent_channels": 4})
        self.m, self.b = decode_matrix, decode_bias
        self.encoder = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))

    def encode(self, pixels):
        pooled = torch.nn.functional.avg_pool2d(pixels, 2)
        mean = torch.einsum("bchw,cl->blhw", pooled, self.encoder) * self.config.scaling_factor
        return type("Out", (), {"latent_dist": type("Dist", (), {"mean": mean})})()

    def decode(self, latents):
        rgb = torch.einsum("blhw,lr->brhw", latents * self.config.scaling_factor, self.m) + self.b[:, None, None]
        return type("Out", (), {"sample": torch.nn.functional.interpolate(rgb, scale_factor=2)})()


def test_fit_recovers_a_linear_decoder():
    from desktop.engine.components import BaseModel
    from desktop.engine.preview import fit_latent_rgb_map

    matrix = torch.tensor([[0.1, 0.0, 0.05], [0.0, 0.1, 0.0], [0.05, 0.0, 0.1], [-0.05, 0.02, 0.0]])
    bias = torch.tensor([0.05, -0.02, 0.0])
    base = BaseModel("fake", None, None, None, _LinearVae(matrix, bias), {}, torch.device("cpu"), torch.float32)
    fitted_matrix, fitted_bias = fit_latent_rgb_map(base)
    fresh = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(9)) * 2 - 1
    latents = base.vae.encode(fresh).latent_dist.mean
    decoded = torch.nn.functional.avg_pool2d(base.vae.decode(latents / 0.5).sample, 2)
    predicted = torch.einsum("blhw,lr->brhw", latents, torch.tensor(fitted_matrix, dtype=torch.float32))
    predicted = predicted + torch.tensor(fitted_bias, dtype=torch.float32)[:, None, None]
    torch.testing.assert_close(predicted, decoded, atol=1e-3, rtol=0)


def test_fitted_map_gives_latent_sized_uint8(base):
    matrix, bias = latent_rgb_map(base)
    assert matrix.shape == (4, 3) and bias.shape == (3,)
    rgb = latents_to_rgb(torch.randn(1, 4, 16, 24), matrix, bias)
    assert rgb.shape == (16, 24, 3) and rgb.dtype == torch.uint8


def test_map_is_fitted_once_and_kept(base):
    assert latent_rgb_map(base) is latent_rgb_map(base)


def test_sd1_vae_is_recognised_from_its_config():
    from diffusers import AutoencoderKL

    from desktop.engine.loading import SD15_CONFIG

    config = AutoencoderKL.load_config(SD15_CONFIG / "vae")
    vae = type("Vae", (), {"config": type("C", (), config)})()
    assert is_sd1_vae(vae)
    assert np.array(SD1_LATENT_RGB).shape == (4, 3)


@pytest.mark.parametrize("name", ["unipc", "ddim", "euler", "euler_a", "dpmpp_2m_karras"])
def test_x0_estimate_recovers_a_known_clean_latent(base, name):
    """x_t built from a known x0 and noise, scaled as the model sees it, gives x0 back."""
    scheduler = make_scheduler(name, base.scheduler_config)
    scheduler.set_timesteps(10)
    sqrt_alpha, sqrt_one_minus = alpha_table(scheduler)
    x0, eps = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    i = 4
    scaled = sqrt_alpha[i] * x0 + sqrt_one_minus[i] * eps
    torch.testing.assert_close((scaled - sqrt_one_minus[i] * eps) / sqrt_alpha[i], x0)
    cumprod = scheduler.alphas_cumprod.double()
    t = float(scheduler.timesteps[i])
    expected = float(np.interp(t, np.arange(len(cumprod)), cumprod.numpy()))
    assert sqrt_alpha[i] ** 2 == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize(("family", "expected"), [("sd15", "SD1_LATENT_RGB"), ("sd2_v", "SD1_LATENT_RGB"),
                                                  ("sdxl", "SDXL_LATENT_RGB")])
def test_each_family_vae_gets_its_published_preview_factors(family, expected):
    from diffusers import AutoencoderKL

    from desktop.engine import preview
    from desktop.engine.loading import CONFIGS

    config = AutoencoderKL.load_config(CONFIGS / family / "vae")
    vae = type("Vae", (), {"config": type("C", (), config)})()
    matrix, bias = preview.known_latent_rgb(vae)
    assert np.array_equal(matrix, np.array(getattr(preview, expected)))
    assert (np.count_nonzero(bias) > 0) == (family == "sdxl")
