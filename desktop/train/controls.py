"""The control image each demo ControlNet learns from, made by the app's own code paths.

- outline: the sample's outline, white on black (the scribble ControlNet);
- pose: the official OpenPose rendering of the mannequin's skeleton (`pose_render.py`, what a pose
  layer sends);
- edges: a photo-like rendering of the sample (lit unevenly, noisy, off-palette colours, 4x the size)
  put through exactly what an image layer does with a photo: fitted to the output size, then the
  Canny or line-art preprocessor, so the edges of a user's photo look like what the network saw.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.conditions.pose_render import render_openpose
from desktop.conditions.prepare import PreprocessCache, feed_for_kind, fit_image, preprocess

from .mannequin import draw_mannequin
from .shapes import PALETTE, ShapeSample

CONTROL_KINDS = ("outline", "pose", "edges")
EDGE_PREPROCESSORS = (("canny", 0.6), ("lineart", 0.4))  # the app's preprocessor name, its share


def control_image(sample: ShapeSample, kind: str, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 control image of `kind` for `sample`."""
    size = sample.image.shape[0]
    if kind == "outline":
        return sample.outline
    if kind == "pose":
        if sample.person is None:
            raise ValueError("a pose control needs a person sample")
        return render_openpose([sample.person], size, size)
    if kind == "edges":
        names, shares = zip(*EDGE_PREPROCESSORS)
        name = names[rng.choice(len(names), p=np.array(shares) / sum(shares))]
        return edges_of_photo(photo(sample, rng), name, size)
    raise ValueError(f"unknown control kind {kind!r}; one of {', '.join(CONTROL_KINDS)}")


def edges_of_photo(pixels: np.ndarray, preprocessor: str, size: int) -> np.ndarray:
    """A photo's control image as an image layer makes it (pixel perfect, just resize)."""
    image = preprocess(preprocessor, fit_image(pixels, size, size), cache=PreprocessCache())
    return feed_for_kind(preprocessor, image)


def photo(sample: ShapeSample, rng: np.random.Generator, scale: int = 4) -> np.ndarray:
    """The sample's scene as a camera might see it: colours a little off, light from one side, noise."""
    size = sample.image.shape[0] * scale
    subject, background = (_jittered(PALETTE[name], rng) for name in (sample.colour, sample.background))
    canvas = np.empty((size, size, 3), np.float32)
    canvas[:] = background
    if sample.person is not None:
        draw_mannequin(canvas, sample.person, subject, scale=scale)
    else:
        points = np.round(sample.polygon * scale * 16).astype(np.int32)
        cv2.fillPoly(canvas, [points], subject, lineType=cv2.LINE_AA, shift=4)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    light = 1.0 + rng.uniform(0.05, 0.25) * (np.cos(angle) * xs + np.sin(angle) * ys)
    canvas = canvas * light[:, :, None] + rng.normal(0.0, rng.uniform(2.0, 10.0), canvas.shape)
    canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 1.5))
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _jittered(rgb: tuple[int, int, int], rng: np.random.Generator) -> tuple[float, float, float]:
    return tuple(float(np.clip(c + rng.uniform(-18, 18), 0, 255)) for c in rgb)
