"""Condition fidelity on held-out shapes and figures: does the generated shape fill the outline (or
the posed figure cover its skeleton's limbs), in the prompt's colour? Generation goes through the
engine's own sampler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.engine.components import BaseModel
from desktop.engine.sampler import ControlInput, SamplerRequest, sample

from .controls import control_image
from .mannequin import limb_capsules
from .shapes import PALETTE, ShapeSample, make_sample


@dataclass
class Fidelity:
    iou: float
    colour_accuracy: float
    images: list[np.ndarray]
    coverage: float = float("nan")  # figures only: the share of the limbs' capsules the figure covers


def held_out_samples(count: int, resolution: int, seed: int = 10_000, person_share: float = 0.0) -> list[ShapeSample]:
    """Samples the training never saw: a seed range training does not use."""
    rng = np.random.default_rng(seed)
    return [make_sample(rng, resolution, person_share=person_share) for _ in range(count)]


def held_out_controls(samples: list[ShapeSample], kind: str, seed: int = 20_000) -> list[np.ndarray]:
    """Each sample's control image of `kind`, the same every time (edges come from a seeded photo)."""
    return [control_image(s, kind, np.random.default_rng(seed + i)) for i, s in enumerate(samples)]


def shape_mask(image: np.ndarray, colour: str, background: str) -> np.ndarray:
    """Pixels nearer the shape's colour than the background's."""
    pixels = image.astype(np.float32)
    to_shape = np.linalg.norm(pixels - np.array(PALETTE[colour], np.float32), axis=2)
    to_background = np.linalg.norm(pixels - np.array(PALETTE[background], np.float32), axis=2)
    return to_shape < to_background


def foreground_mask(image: np.ndarray, threshold: float = 60.0) -> np.ndarray:
    """Colour-agnostic: pixels far from the background, taken as the median border colour."""
    pixels = image.astype(np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = np.median(border, axis=0)
    return np.linalg.norm(pixels - background, axis=2) > threshold


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def nearest_palette_colour(rgb: np.ndarray) -> str:
    names = list(PALETTE)
    distances = [np.linalg.norm(rgb - np.array(PALETTE[n], np.float32)) for n in names]
    return names[int(np.argmin(distances))]


def colour_matches(image: np.ndarray, sample: ShapeSample) -> bool:
    """The median colour inside the true outline is, of all palette colours, the prompt's."""
    inside = image[sample.mask]
    if inside.size == 0:
        return False
    return nearest_palette_colour(np.median(inside.astype(np.float32), axis=0)) == sample.colour


def measure(base: BaseModel, controlnets: list, samples: list[ShapeSample], *, steps: int = 20,
            guidance: float = 5.0, with_prompt: bool = True, weights: list[float] | None = None,
            seed: int = 0, controls_for=None, fast=None) -> Fidelity:
    """Mean IoU and colour accuracy over `samples` (one image each); with `fast` (a FastPath), on the fast path."""
    ious, hits, images, covered = [], [], [], []
    for index, sample_ in enumerate(samples):
        outlines = controls_for(sample_) if controls_for else [sample_.outline] * len(controlnets)
        controls = [ControlInput(net, outline, weight=(weights or [1.0] * len(controlnets))[k])
                    for k, (net, outline) in enumerate(zip(controlnets, outlines))]
        size = sample_.image.shape[0]
        request = SamplerRequest(
            prompt=sample_.prompt if with_prompt else "", seed=seed + index, steps=steps,
            guidance_scale=guidance if with_prompt else 1.0, width=size, height=size, controls=controls,
            preview_every=0,
        )
        image = sample(base, request, fast=fast).image
        images.append(image)
        mask = shape_mask(image, sample_.colour, sample_.background) if with_prompt else foreground_mask(image)
        ious.append(iou(mask, sample_.mask))
        hits.append(colour_matches(image, sample_))
        if sample_.person is not None:
            limbs = limb_capsules(sample_.person, size)
            covered.append(float(np.logical_and(mask, limbs).sum() / max(1, limbs.sum())))
    coverage = float(np.mean(covered)) if covered else float("nan")
    return Fidelity(float(np.mean(ious)), float(np.mean(hits)), images, coverage)
