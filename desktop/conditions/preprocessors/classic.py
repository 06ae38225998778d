"""Preprocessors with no network weights: OpenCV and numpy only.

Each takes an (H, W, 3) uint8 RGB photo and returns the control image its ControlNet was
trained on (white on black for edges and lines).
"""

from __future__ import annotations

import cv2
import numpy as np


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _rgb(mask: np.ndarray) -> np.ndarray:
    return np.repeat(mask[:, :, None], 3, axis=2)


def canny(image: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    """OpenCV Canny edges, white on black (the canny model's thresholds ~100/200)."""
    return _rgb(cv2.Canny(image, int(low), int(high)))


def scribble_xdog(image: np.ndarray, threshold: int = 32, thickness: int = 1) -> np.ndarray:
    """Sketch-like strokes: the difference of two Gaussians (XDoG), thresholded, thickened."""
    grey = image.astype(np.float32)
    dog = cv2.GaussianBlur(grey, (0, 0), 0.5) - cv2.GaussianBlur(grey, (0, 0), 5.0)
    strokes = (np.min(dog, axis=2) < -float(threshold)).astype(np.uint8) * 255
    if thickness > 1:
        strokes = cv2.dilate(strokes, np.ones((thickness, thickness), np.uint8))
    return _rgb(strokes)


def lineart_dog(image: np.ndarray, sigma: float = 1.2, strength: float = 6.0) -> np.ndarray:
    """Line art as the user sees it: dark lines on white (the lineart model is fed the inverse)."""
    grey = _grey(image).astype(np.float32)
    dog = cv2.GaussianBlur(grey, (0, 0), sigma) - cv2.GaussianBlur(grey, (0, 0), sigma * 1.6)
    lines = np.clip(-dog * float(strength), 0, 255)
    return _rgb((255 - lines).astype(np.uint8))


def lines_lsd(image: np.ndarray, min_length: float = 20.0, merge_distance: float = 4.0, thickness: int = 1) -> np.ndarray:
    """Straight segments (for the M-LSD model) from OpenCV's line segment detector, white on black.

    Segments shorter than `min_length` are dropped; nearly collinear segments whose ends lie
    within `merge_distance` are joined into one.
    """
    detector = cv2.createLineSegmentDetector()
    found = detector.detect(_grey(image))[0]
    segments = [] if found is None else [tuple(map(float, s)) for s in np.asarray(found).reshape(-1, 4)]
    segments = _merge_segments(segments, float(merge_distance))
    canvas = np.zeros(image.shape[:2], np.uint8)
    for x1, y1, x2, y2 in segments:
        if np.hypot(x2 - x1, y2 - y1) >= float(min_length):
            cv2.line(canvas, (round(x1), round(y1)), (round(x2), round(y2)), 255, int(thickness), cv2.LINE_AA)
    return _rgb(canvas)


def _merge_segments(segments: list[tuple[float, float, float, float]], distance: float):
    merged = list(segments)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                joined = _join(merged[i], merged[j], distance)
                if joined is not None:
                    merged[i] = joined
                    merged.pop(j)
                    changed = True
                    break
            if changed:
                break
    return merged


def _join(a, b, distance: float):
    """One segment spanning a and b if they are nearly collinear and end near each other."""
    da = np.array([a[2] - a[0], a[3] - a[1]])
    db = np.array([b[2] - b[0], b[3] - b[1]])
    norm_a, norm_b = np.linalg.norm(da), np.linalg.norm(db)
    if norm_a == 0 or norm_b == 0 or abs(float(np.dot(da, db)) / (norm_a * norm_b)) < 0.995:
        return None
    ends_a = [np.array(a[:2]), np.array(a[2:])]
    ends_b = [np.array(b[:2]), np.array(b[2:])]
    if min(np.linalg.norm(p - q) for p in ends_a for q in ends_b) > distance:
        return None
    points = ends_a + ends_b
    pairs = [(p, q) for p in points for q in points]
    p, q = max(pairs, key=lambda pq: np.linalg.norm(pq[0] - pq[1]))
    return (float(p[0]), float(p[1]), float(q[0]), float(q[1]))


def shuffle(image: np.ndarray, seed: int = 0, flow_scale: float = 0.25) -> np.ndarray:
    """The shuffle model's random-flow shuffle: the image remapped along a smooth random flow."""
    height, width = image.shape[:2]
    rng = np.random.default_rng(int(seed))
    size = max(height, width)
    coarse = max(2, int(size * float(flow_scale) / 16))
    flow_x = cv2.resize(rng.uniform(0, width, (coarse, coarse)).astype(np.float32), (width, height),
                        interpolation=cv2.INTER_CUBIC)
    flow_y = cv2.resize(rng.uniform(0, height, (coarse, coarse)).astype(np.float32), (width, height),
                        interpolation=cv2.INTER_CUBIC)
    return cv2.remap(image, flow_x, flow_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def tile(image: np.ndarray, downscale: float = 4.0, blur: float = 1.0) -> np.ndarray:
    """The image itself, downscaled and blurred (the tile model adds the detail back)."""
    height, width = image.shape[:2]
    factor = max(1.0, float(downscale))
    small = cv2.resize(image, (max(1, int(width / factor)), max(1, int(height / factor))), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), float(blur)) if blur > 0 else big


def invert(image: np.ndarray) -> np.ndarray:
    return 255 - image


def inpaint(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The inpaint model's input: the image in 0..1 with masked pixels set to -1 (float32).
    A pixel is masked above half grey, so anti-aliased brush edges and JPEG noise do not spread it."""
    control = image.astype(np.float32) / 255.0
    masked = (mask if mask.ndim == 2 else mask.max(axis=2)) > 127
    control[masked] = -1.0
    return control
