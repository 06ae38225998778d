"""Do the live previews show the result's colours? The figures behind docs/TRAINING.md, "Previews".

On the built-in demo model, for held-out outlines with their prompts (desktop/train/evaluate.py's evaluation
set: the scribble ControlNet, 20 UniPC steps, guidance 5, float32 on the CPU), the mean absolute difference
in levels of 255 between each run's last x0 preview and its final image, for three preview maps:

  before        the affine map fitted before issue #16 (random colour blocks, least squares)
  affine        an affine map fitted on the same content as the fitted map (the best an affine map does)
  fitted        the map the app uses now (desktop/engine/preview_fit.py)

Usage: python tools/measure_previews.py [--samples 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.domain.defaults import DEMO_MODEL  # noqa: E402
from desktop.engine.device import choose_device  # noqa: E402
from desktop.engine.model_cache import ModelCache  # noqa: E402
from desktop.engine.preview import LinearMap, latent_rgb_map  # noqa: E402
from desktop.engine.preview_fidelity import last_preview_fidelity  # noqa: E402
from desktop.engine.preview_fit import FIT_RIDGE, EnlargedLeastSquares, fitting_pairs  # noqa: E402
from desktop.engine.sampler import ControlInput, SamplerRequest  # noqa: E402
from desktop.train.evaluate import held_out_samples  # noqa: E402


@torch.no_grad()
def affine_before_issue_16(base, samples: int = 48, seed: int = 0) -> LinearMap:
    """The map the app fitted before: random 4x4 colour blocks, encoded and decoded, least squares."""
    factor = base.vae_scale_factor
    side = 8 * factor
    blocks = np.random.default_rng(seed).uniform(-1, 1, size=(samples, 3, 4, 4))
    images = np.kron(blocks, np.ones((1, 1, side // 4, side // 4)))
    pixels = torch.tensor(images, dtype=base.vae.dtype, device=base.device)
    latents = base.vae.encode(pixels).latent_dist.mean * base.vae.config.scaling_factor
    decoded = base.vae.decode(latents / base.vae.config.scaling_factor).sample
    target = torch.nn.functional.avg_pool2d(decoded.float().clamp(-1, 1), factor)
    return _affine(latents.float(), target)


def affine_on_content(base) -> LinearMap:
    """The best affine map for the fitted map's content and objective (one least-squares stage on [1, z])."""
    latents, decoded = fitting_pairs(base.vae, base.vae_scale_factor, base.device)
    features = torch.cat([torch.ones_like(latents[:, :1]), latents], 1)
    weights = EnlargedLeastSquares(latents.shape[-2:], decoded, FIT_RIDGE).solve(features)
    return LinearMap(weights[1:].to(base.device), weights[0].to(base.device))


def _affine(latents: torch.Tensor, targets: torch.Tensor) -> LinearMap:
    x = latents.permute(0, 2, 3, 1).reshape(-1, latents.shape[1]).double().cpu()
    y = targets.permute(0, 2, 3, 1).reshape(-1, 3).double().cpu()
    solution = torch.linalg.lstsq(torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1), y).solution
    return LinearMap(solution[:-1].float(), solution[-1].float())


def requests(net, count: int) -> list[SamplerRequest]:
    """evaluate.measure's runs: one per held-out outline, seed = index, its prompt, guidance 5, 20 steps."""
    return [SamplerRequest(prompt=s.prompt, seed=i, steps=20, guidance_scale=5.0, width=64, height=64,
                           controls=[ControlInput(net, s.outline)])
            for i, s in enumerate(held_out_samples(count, 64))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = ModelCache(choose_device("cpu", "float32"))
    base, net = cache.base(str(DEMO_MODEL)), cache.controlnet(str(DEMO_MODEL / "controlnet_scribble"))
    runs = requests(net, args.samples)
    started = time.perf_counter()
    fitted = latent_rgb_map(base)
    fit_seconds = time.perf_counter() - started
    maps = {"before": affine_before_issue_16(base), "affine": affine_on_content(base), "fitted": fitted}
    print(f"demo model, {len(runs)} held-out outlines, 20 UniPC steps; fitting the map took {fit_seconds:.2f} s")
    for name, preview_map in maps.items():
        base.extras["latent_rgb"] = (weakref.ref(base.vae), preview_map)
        differences = np.array([last_preview_fidelity(base, r).difference for r in runs])
        print(f"{name:8s} mean {differences.mean():5.1f}  first 4 {differences[:4].mean():5.1f}  "
              f"max {differences.max():5.1f}  (levels of 255)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
