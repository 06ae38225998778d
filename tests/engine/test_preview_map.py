"""The latent-to-RGB preview map: the published factors for SD VAEs, a fitted map for others (the demo's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.engine.preview import SD1_LATENT_RGB, alpha_table, is_sd1_vae, latent_rgb_map, latents_to_rgb
from desktop.engine.preview_fit import CascadeMap, fit_preview_map
from desktop.engine.schedulers import make_scheduler


@pytest.fixture(scope="module")
def base(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base))


def _config(**values):
    return type("Config", (), values)


class _SmoothLinearVae:
    """A VAE whose decoder is a per-pixel linear map, enlarged bilinearly, and whose encoder inverts it:
    the fit has an exact answer."""

    dtype = torch.float32

    def __init__(self, decode_matrix: torch.Tensor, decode_bias: torch.Tensor) -> None:
        self.config = _config(block_out_channels=(8, 8), scaling_factor=0.5, latent_channels=4)
        self.m, self.b = decode_matrix, decode_bias

    def encode(self, pixels):
        pooled = torch.nn.functional.avg_pool2d(pixels, 2) - self.b[:, None, None]
        mean = torch.einsum("bchw,cl->blhw", pooled, torch.linalg.pinv(self.m)) / self.config.scaling_factor
        return type("Out", (), {"latent_dist": type("Dist", (), {"mean": mean})})()

    def latent_rgb(self, latents):  # latents as the UNet sees them
        return torch.einsum("blhw,lr->brhw", latents, self.m) + self.b[:, None, None]

    def decode(self, latents):
        rgb = self.latent_rgb(latents * self.config.scaling_factor)
        return type("Out", (), {"sample": torch.nn.functional.interpolate(rgb, scale_factor=2, mode="bilinear")})()


def test_fit_recovers_a_linear_decoder():
    matrix = torch.tensor([[0.5, 0.0, 0.25], [0.0, 0.5, 0.0], [0.25, 0.0, 0.5], [-0.25, 0.1, 0.0]])
    vae = _SmoothLinearVae(matrix, torch.tensor([0.05, -0.02, 0.0]))
    fitted = fit_preview_map(vae, 2, torch.device("cpu"))
    pixels = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(9)),
                                             size=32, mode="bilinear") * 1.6 - 0.8  # smooth, inside -1..1
    latents = vae.encode(pixels).latent_dist.mean * 0.5
    torch.testing.assert_close(fitted(latents), vae.latent_rgb(latents), atol=2e-3, rtol=0)


def test_fit_is_deterministic(base):
    first, second = (fit_preview_map(base.vae, base.vae_scale_factor, base.device) for _ in range(2))
    assert first.degree == second.degree and len(first.stages) == len(second.stages) > 1
    assert all(torch.equal(a, b) for a, b in zip(first.stages, second.stages))
    assert torch.equal(first.low, second.low) and torch.equal(first.high, second.high)


def test_fitted_map_gives_latent_sized_uint8(base):
    preview_map = latent_rgb_map(base)
    assert isinstance(preview_map, CascadeMap)
    rgb = latents_to_rgb(torch.randn(1, 4, 16, 24), preview_map)
    assert rgb.shape == (16, 24, 3) and rgb.dtype == torch.uint8
    wild = latents_to_rgb(1e4 * torch.randn(1, 4, 8, 8), preview_map)  # an early step's x0 may be far out
    assert wild.shape == (8, 8, 3)


def test_map_is_fitted_once_and_kept(base):
    assert latent_rgb_map(base) is latent_rgb_map(base)


def test_a_known_sd1_vae_keeps_the_published_matrix():
    """No fit for a VAE whose latent space has published factors: the map is SD1_LATENT_RGB itself."""
    from diffusers import AutoencoderKL

    from desktop.engine.components import BaseModel
    from desktop.engine.loading import SD15_CONFIG

    class Sd1Vae:
        config = _config(**AutoencoderKL.load_config(SD15_CONFIG / "vae"))

        def encode(self, pixels):
            raise AssertionError("a known VAE is never fitted")

    model = BaseModel("sd1", None, None, None, Sd1Vae(), {}, torch.device("cpu"), torch.float32)
    preview_map = latent_rgb_map(model)
    assert torch.equal(preview_map.matrix, torch.tensor(SD1_LATENT_RGB, dtype=torch.float32))
    assert torch.equal(preview_map.bias, torch.zeros(3))
    latents = torch.randn(1, 4, 5, 7)
    expected = torch.einsum("chw,cr->hwr", latents[0], preview_map.matrix)
    assert torch.equal(latents_to_rgb(latents, preview_map), ((expected.clamp(-1, 1) + 1) * 127.5).round().byte())


def test_last_preview_shows_the_final_images_colours_on_the_demo_model(cpu_cache):
    """Issue #16: the demo's previews showed other colours than its result (~50 levels of 255 apart). On
    held-out outlines with their prompts (evaluate.py's set, 20 UniPC steps), the last x0 preview, enlarged to
    the image, is now under 10 levels of 255 from the final image on average."""
    from desktop.domain.defaults import DEMO_MODEL
    from desktop.engine.preview_fidelity import last_preview_fidelity
    from desktop.engine.sampler import ControlInput, SamplerRequest
    from desktop.train.evaluate import held_out_samples

    demo, net = cpu_cache.base(str(DEMO_MODEL)), cpu_cache.controlnet(str(DEMO_MODEL / "controlnet_scribble"))
    assert isinstance(latent_rgb_map(demo), CascadeMap)  # the demo's VAE has no published factors
    results = [
        last_preview_fidelity(demo, SamplerRequest(prompt=s.prompt, seed=i, steps=20, guidance_scale=5.0, width=64,
                                                   height=64, controls=[ControlInput(net, s.outline)]))
        for i, s in enumerate(held_out_samples(4, 64))
    ]
    differences = [r.difference for r in results]
    assert all(r.preview.shape == (16, 16, 3) and r.image.shape == (64, 64, 3) for r in results)
    assert np.mean(differences) < 10, differences
    assert max(differences) < 25, differences


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


def test_a_fitted_map_is_kept_on_disk_and_read_back_instead_of_fitting_again(base, tmp_path, monkeypatch, caplog):
    from desktop.engine import preview_map_cache

    monkeypatch.setattr(preview_map_cache, "preview_map_dir", lambda: tmp_path / "maps")
    first = preview_map_cache.fitted_map(base.vae, base.vae_scale_factor, base.device)
    assert len(list((tmp_path / "maps").glob("*.safetensors"))) == 1

    def no_fit(*_args, **_kwargs):
        raise AssertionError("fitted again although the map was on disk")

    monkeypatch.setattr(preview_map_cache, "fit_preview_map", no_fit)
    again = preview_map_cache.fitted_map(base.vae, base.vae_scale_factor, base.device)
    assert (again.degree, again.quadratic) == (first.degree, first.quadratic)
    assert all(torch.equal(a, b) for a, b in zip(first.stages, again.stages))
    latents = torch.randn(1, 4, 8, 8)
    assert torch.equal(latents_to_rgb(latents, first), latents_to_rgb(latents, again))

    (path,) = (tmp_path / "maps").glob("*.safetensors")
    path.write_bytes(b"not a safetensors file")
    monkeypatch.setattr(preview_map_cache, "fit_preview_map", lambda *a, **k: first)
    assert preview_map_cache.fitted_map(base.vae, base.vae_scale_factor, base.device) is first  # refitted
    assert "ignored" in caplog.text


def test_another_vae_gets_another_fingerprint(base):
    from desktop.engine.preview_map_cache import vae_fingerprint

    before = vae_fingerprint(base.vae, base.vae_scale_factor)
    assert before == vae_fingerprint(base.vae, base.vae_scale_factor)
    with torch.no_grad():
        weight = next(base.vae.parameters())
        weight.add_(1.0)
        try:
            assert vae_fingerprint(base.vae, base.vae_scale_factor) != before
        finally:
            weight.sub_(1.0)


def test_a_cache_that_cannot_be_written_costs_a_fit_never_a_failed_run(base, tmp_path, monkeypatch, caplog):
    from desktop.engine import preview_map_cache

    monkeypatch.setattr(preview_map_cache, "preview_map_dir", lambda: tmp_path / "maps")

    def full_disk(*_args, **_kwargs):
        from safetensors import SafetensorError

        raise SafetensorError("No space left on device")

    monkeypatch.setattr(preview_map_cache, "save_file", full_disk)
    fitted = preview_map_cache.fitted_map(base.vae, base.vae_scale_factor, base.device)
    assert isinstance(fitted, CascadeMap) and "not kept" in caplog.text
    assert list((tmp_path / "maps").iterdir()) == []  # no partial file left behind


def test_a_cached_map_whose_stages_do_not_chain_is_fitted_again(base, tmp_path, monkeypatch, caplog):
    from safetensors.torch import save_file

    from desktop.engine import preview_map_cache

    monkeypatch.setattr(preview_map_cache, "preview_map_dir", lambda: tmp_path / "maps")
    (tmp_path / "maps").mkdir()
    path = tmp_path / "maps" / f"{preview_map_cache.vae_fingerprint(base.vae, base.vae_scale_factor)}.safetensors"
    save_file({"low": -torch.ones(4), "high": torch.ones(4), "stage0": torch.zeros(5, 3)}, str(path),
              metadata={"degree": "3", "quadratic": "15"})
    refit = preview_map_cache.fitted_map(base.vae, base.vae_scale_factor, base.device)
    assert len(refit.stages) > 1 and "ignored" in caplog.text


def test_a_vae_override_gets_its_own_preview_map(base):
    import copy

    first = latent_rgb_map(base)
    original = base.vae
    try:
        base.vae = copy.deepcopy(original)
        with torch.no_grad():
            base.vae.decoder.conv_out.weight.neg_()
            base.vae.decoder.conv_out.bias.neg_()
        second = latent_rgb_map(base)
        assert second is not first and latent_rgb_map(base) is second
    finally:
        base.vae = original
        base.extras.pop("latent_rgb", None)


def test_the_demo_models_map_ships_so_a_fresh_install_never_fits_it(monkeypatch, tmp_path):
    """Whoever changes the demo model reruns tools/bundle_demo_preview_map.py; this fails until they do."""
    from desktop.engine import preview_map_cache
    from desktop.domain.defaults import DEMO_MODEL
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache

    def no_fit(*_args, **_kwargs):
        raise AssertionError("the demo's preview map was fitted: resources/preview_maps lacks it")

    monkeypatch.setattr(preview_map_cache, "fit_preview_map", no_fit)
    monkeypatch.setattr(preview_map_cache, "preview_map_dir", lambda: tmp_path / "empty")
    for precision in ("float32", "bfloat16"):  # the CPU's two precisions find the same shipped map
        demo = ModelCache(choose_device("cpu", precision)).base(str(DEMO_MODEL))
        assert isinstance(latent_rgb_map(demo), CascadeMap)
