"""Training batches: the synthetic shapes and figures with one kind of control image, or a fill50k-style
folder of (control, target, prompt)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from desktop.conditions.image_io import read_image
from desktop.domain.errors import InvalidRecipe

from .controls import control_image
from .shapes import make_sample


@dataclass
class Batch:
    images: torch.Tensor  # (B, 3, H, W) in -1..1
    controls: torch.Tensor  # (B, 3, H, W) in 0..1
    prompts: list[str]


def to_tensor(images: list[np.ndarray], signed: bool) -> torch.Tensor:
    array = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))
    tensor = torch.from_numpy(array).float() / 255.0
    return tensor * 2 - 1 if signed else tensor


class ShapesData:
    """Synthetic samples (`shapes.py`) with the control image of `control` (`controls.py`)."""

    def __init__(self, resolution: int, seed: int, control: str = "outline", person_share: float = 0.0) -> None:
        self.resolution = resolution
        self.rng = np.random.default_rng(seed)
        self.control = control
        self.person_share = 1.0 if control == "pose" else person_share

    def batch(self, size: int) -> Batch:
        samples = [make_sample(self.rng, self.resolution, person_share=self.person_share) for _ in range(size)]
        controls = [control_image(s, self.control, self.rng) for s in samples]
        return Batch(to_tensor([s.image for s in samples], True), to_tensor(controls, False),
                     [s.prompt for s in samples])


class FolderData:
    """fill50k layout: `prompt.json` lines {"source": control path, "target": image path, "prompt": text}."""

    def __init__(self, folder: str | Path, resolution: int, seed: int) -> None:
        self.folder = Path(folder)
        index = self.folder / "prompt.json"
        if not index.exists():
            raise InvalidRecipe("data", f"{self.folder} has no prompt.json (fill50k layout)")
        self.items = []
        for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self.items.append((entry["source"], entry["target"], str(entry.get("prompt", ""))))
            except (ValueError, KeyError, TypeError) as err:
                raise InvalidRecipe("data", f"prompt.json line {number} is not a source/target/prompt object") from err
        if not self.items:
            raise InvalidRecipe("data", "prompt.json lists no samples")
        self.resolution = resolution
        self.rng = np.random.default_rng(seed)

    def _read(self, name: str) -> np.ndarray:
        pixels = read_image(self.folder / name)
        return cv2.resize(pixels, (self.resolution, self.resolution), interpolation=cv2.INTER_AREA)

    def batch(self, size: int) -> Batch:
        picks = self.rng.integers(len(self.items), size=size)
        items = [self.items[i] for i in picks]
        return Batch(to_tensor([self._read(t) for _, t, _ in items], True),
                     to_tensor([self._read(s) for s, _, _ in items], False), [p for _, _, p in items])


def batches(data, size: int) -> Iterator[Batch]:
    while True:
        yield data.batch(size)
