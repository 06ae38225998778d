"""A latent-to-RGB preview map fitted from a VAE's own encoder and decoder, for VAEs without a published one.

Why not an affine map: on the built-in demo VAE (and small VAEs like it) the decoder is far from linear and a
pixel's colour depends on its neighbourhood. Measured for issue #16 (docs/TRAINING.md, "Previews"), the best
affine map is ~37 levels of 255 off the final image, a 3x3-neighbourhood linear map ~33, the best per-pixel
nonlinear maps (polynomial, radial basis, nearest neighbour) 18-25. What does match the decoder is a short
cascade of least-squares stages (an "auto-context" fit): stage 0 maps cubic monomials of each latent pixel to
RGB; each later stage maps the latents and the previous stage's RGB (its 3x3 neighbourhood, two blurs of it,
its image mean, its own monomials) to a better RGB. Each stage is one linear solve, so the fit is closed-form
and deterministic, and applying it is a few dozen small tensor ops (~3 ms on a CPU, at 16 x 16 latents).

The fitting content is generic, nothing from a model's training set: shapes in random colours on random
backgrounds, so that it serves any small VAE. A VAE trained on a narrow domain (the demo knows eight colours)
encodes colours it never saw to latents its sampler never produces, so the latents are taken two round trips
(decode, encode again), which pulls them onto the VAE's own manifold; copies with noise added cover the
neighbourhood where a sampler's x0 estimates lie. The targets are the decoded images, since the preview stands
in for the decoder, and the fit minimises the error of the preview as it is seen: enlarged (bilinearly) to the
image's size.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

FIT_VERSION = 1  # bump when the fitting changes: maps kept on disk (preview_map_cache.py) are fitted again
FIT_LATENT_SIDE = 16  # fitting images are this many latents wide (64 px for the demo's factor-4 VAE)
FIT_IMAGES = 96
FIT_ROUND_TRIPS = 2
FIT_NOISE = 0.3  # of each latent channel's standard deviation
FIT_STAGES = 8
FIT_RIDGE = 1e-5
BLUR_SIGMAS = (1.0, 2.0)  # the previous RGB, blurred at these widths (latent pixels), is read by the next stage
STAGE_CLAMP = 1.2  # a stage's RGB (-1..1) is clamped to this before the next stage reads it


@dataclass(frozen=True)
class CascadeMap:
    """Latents (B, C, h, w), scaled as the UNet sees them -> RGB (B, 3, h, w) in about -1..1."""

    degree: int  # of the per-pixel polynomial in the latents
    quadratic: int  # how many of its monomials (those of degree <= 2) later stages read again
    low: torch.Tensor  # (C,) latents are clamped to the range the fit saw, widened a little
    high: torch.Tensor
    stages: tuple[torch.Tensor, ...]  # (features, 3) weights of each stage

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        z = torch.maximum(torch.minimum(latents.float(), self.high[:, None, None]), self.low[:, None, None])
        terms = _monomials(z, self.degree)
        rgb = _apply(terms, self.stages[0])
        for weights in self.stages[1:]:
            rgb = _apply(_context_features(terms[:, :self.quadratic], rgb), weights)
        return rgb

    def to(self, device: torch.device) -> CascadeMap:
        return CascadeMap(self.degree, self.quadratic, self.low.to(device), self.high.to(device),
                          tuple(w.to(device) for w in self.stages))


def fit_preview_map(vae, factor: int, device: torch.device, seed: int = 0) -> CascadeMap:
    """The fitted preview map of a VAE (one pixel per `factor` x `factor` image pixels), on `device`."""
    latents, decoded = fitting_pairs(vae, factor, device, seed=seed)
    return fit_cascade(latents, decoded).to(device)


def fit_cascade(latents: torch.Tensor, decoded: torch.Tensor, stages: int = FIT_STAGES,
                ridge: float = FIT_RIDGE) -> CascadeMap:
    """Fit the map to latents (N, C, h, w) and their decoded images (N, 3, H, W), float32 on the CPU."""
    degree = degree_for(latents.shape[1])
    low, high = latents.amin((0, 2, 3)), latents.amax((0, 2, 3))
    margin = 0.1 * (high - low)
    quadratic = _monomial_count(latents.shape[1], min(degree, 2))
    terms = _monomials(latents, degree)
    solver = EnlargedLeastSquares(latents.shape[-2:], decoded, ridge)
    weights = [solver.solve(terms)]
    rgb = _apply(terms, weights[0])
    for _ in range(stages - 1):
        features = _context_features(terms[:, :quadratic], rgb)
        weights.append(solver.solve(features))
        rgb = _apply(features, weights[-1])
    return CascadeMap(degree, quadratic, low - margin, high + margin, tuple(weights))


def degree_for(channels: int) -> int:
    """Cubic for 4-channel latents; lower for wider ones, so that a stage stays a few hundred features."""
    return 3 if channels <= 6 else 2 if channels <= 16 else 1


class EnlargedLeastSquares:
    """Ridge least squares for latent-sized feature maps whose product, enlarged bilinearly to image size
    (as cv2.INTER_LINEAR and Qt do), should match the image: || up(F) W - Y ||^2, with a ridge relative to
    each feature's energy.

    Enlarging is linear and separable, up(X) = U_h X U_w^T, so the normal equations need no image-sized
    features: the Gram matrix is sum <X, (U_h^T U_h) X (U_w^T U_w)> and the right side <X, U_h^T Y U_w>.
    Float64 on the CPU, so that the same inputs always give the same weights."""

    def __init__(self, size: tuple[int, int], images: torch.Tensor, ridge: float) -> None:
        up_h, up_w = (_enlarging_matrix(n, images.shape[axis]) for n, axis in zip(size, (2, 3)))
        self._ah, self._aw = up_h.T @ up_h, up_w.T @ up_w
        self._reduced = torch.einsum("ij,ncjk,kl->ncil", up_h.T, images.double().cpu(), up_w)
        self._ridge = ridge

    def solve(self, features: torch.Tensor) -> torch.Tensor:
        x = features.double().cpu()
        count = x.shape[1]
        flat = x.transpose(0, 1).reshape(count, -1)
        gram = flat @ (self._ah @ x @ self._aw).transpose(0, 1).reshape(count, -1).T
        gram += torch.diag(self._ridge * gram.diagonal())  # relative to each feature's energy: scale-free
        right = flat @ self._reduced.transpose(0, 1).reshape(self._reduced.shape[1], -1).T
        return torch.linalg.solve(gram, right).float()


def _enlarging_matrix(small: int, large: int) -> torch.Tensor:
    """(large, small): bilinear resizing along one axis, half-pixel centres and edges clamped."""
    identity = torch.eye(small, dtype=torch.float64)[None]
    return F.interpolate(identity, size=large, mode="linear", align_corners=False)[0].T


def _apply(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bfhw,fr->brhw", features, weights)


def _monomials(z: torch.Tensor, degree: int) -> torch.Tensor:
    """1, then every product of up to `degree` channels (with repeats): 35 features for 4 channels at degree 3."""
    terms = [torch.ones_like(z[:, :1]), z]
    for d in range(2, degree + 1):
        terms.append(z[:, _combinations(z.shape[1], d, z.device)].prod(2))
    return torch.cat(terms, 1)


@functools.cache
def _combinations(channels: int, degree: int, device: torch.device) -> torch.Tensor:
    combos = list(itertools.combinations_with_replacement(range(channels), degree))
    return torch.tensor(combos, dtype=torch.long, device=device)


def _monomial_count(channels: int, degree: int) -> int:
    return sum(math.comb(channels + d - 1, d) for d in range(degree + 1))


def _context_features(terms: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """A later stage's input: the latents' low monomials, the previous RGB around each pixel (3x3
    neighbourhood and two Gaussian blurs, edges replicated; its image mean) and its products of degree 2, 3."""
    p = rgb.clamp(-STAGE_CLAMP, STAGE_CLAMP)
    batch, channels, height, width = p.shape
    around = F.unfold(F.pad(p, (1, 1, 1, 1), mode="replicate"), 3).view(batch, 9 * channels, height, width)
    rows, columns = _blurring(height, p.device, p.dtype), _blurring(width, p.device, p.dtype)
    blurred = torch.einsum("syY,bcYX,sxX->bscyx", rows, p, columns).reshape(batch, -1, height, width)
    mean = p.mean((2, 3), keepdim=True).expand_as(p)
    return torch.cat([terms, around, blurred, mean, _monomials(p, 3)[:, 1 + channels:]], 1)


@functools.cache
def _blurring(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(len(BLUR_SIGMAS), size, size): Gaussian blurs along one axis as matrices, edges replicated."""
    matrices = torch.zeros(len(BLUR_SIGMAS), size, size, dtype=torch.float64)
    for k, sigma in enumerate(BLUR_SIGMAS):
        radius = max(1, round(2.5 * sigma))
        taps = torch.arange(-radius, radius + 1)
        weights = torch.exp(-taps.double() ** 2 / (2 * sigma ** 2))
        weights /= weights.sum()
        for y in range(size):
            matrices[k, y].index_add_(0, (y + taps).clamp(0, size - 1), weights)
    return matrices.to(device, dtype)


@torch.no_grad()
def fitting_pairs(vae, factor: int, device: torch.device, images: np.ndarray | None = None,
                  round_trips: int = FIT_ROUND_TRIPS, noise: float = FIT_NOISE,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents as the UNet sees them (N, C, h, w) and their decoded images (N, 3, H, W), float32 on the CPU.

    The images (by default `fitting_images`) are encoded and taken `round_trips` times through decode and
    encode again. The pairs are the latents of every round trip after the first with their decodes (which the
    next trip needed anyway), and the last latents with Gaussian noise (`noise` of each channel's spread)."""
    if images is None:
        images = fitting_images(side=FIT_LATENT_SIDE * factor, seed=seed)
    scale = float(vae.config.scaling_factor)
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    latents = _encode(vae, pixels, device)
    inputs, decoded = [], []
    for trip in range(round_trips):
        pixels = _decode(vae, latents, device)
        if trip > 0:
            inputs.append(latents)
            decoded.append(pixels)
        latents = _encode(vae, pixels, device)
    spread = latents.std((0, 2, 3), keepdim=True)
    noisy = latents + noise * spread * torch.randn(latents.shape, generator=torch.Generator().manual_seed(seed))
    inputs.append(noisy)
    decoded.append(_decode(vae, noisy, device))
    return torch.cat(inputs) * scale, torch.cat(decoded)


def fitting_images(count: int = FIT_IMAGES, side: int = 64, seed: int = 0) -> np.ndarray:
    """(count, side, side, 3) uint8: one or two filled shapes (disc, box, triangle) in random colours on a
    background of another. Generic on purpose: no model's palette or subjects, so it serves any VAE."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, side, side, 3), np.uint8)
    for image in images:
        image[:] = _random_colour(rng)
        for _ in range(rng.integers(1, 3)):
            cv2.fillPoly(image, [_random_polygon(rng, side)], _random_colour(rng), lineType=cv2.LINE_AA, shift=4)
    return images


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _random_polygon(rng: np.random.Generator, side: int) -> np.ndarray:
    radius = rng.uniform(0.15, 0.38) * side
    cx, cy = rng.uniform(radius, side - radius, 2)
    corners = (64, 4, 3)[rng.integers(3)]
    angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, 2 * np.pi)
    points = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
    return np.round(points * 16).astype(np.int32)  # 4 fractional bits (cv2's shift=4)


def _encode(vae, pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    return _chunked(lambda x: vae.encode(x).latent_dist.mean, vae, pixels, device)


def _decode(vae, latents: torch.Tensor, device: torch.device) -> torch.Tensor:
    return _chunked(lambda x: vae.decode(x).sample, vae, latents, device)


def _chunked(run, vae, inputs: torch.Tensor, device: torch.device, chunk: int = 16) -> torch.Tensor:
    """`run` over `inputs` a chunk at a time, in the VAE's dtype on `device`, gathered in float32 on the CPU;
    a half-precision result that overflows is redone in float32 (as the sampler's decode does)."""
    dtype = vae.dtype
    outputs = []
    for part in inputs.split(chunk):
        out = run(part.to(device, dtype))
        if not bool(torch.isfinite(out).all()) and dtype != torch.float32:
            vae.to(torch.float32)
            try:
                out = run(part.to(device, torch.float32))
            finally:
                vae.to(dtype)
        outputs.append(out.float().cpu())
    return torch.cat(outputs)
