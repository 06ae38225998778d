"""The demo model's quality bar, measured on samples the training never saw (issue #16, TRAINING.md).

One row per measure: outlines (the scribble ControlNet, at guidance 5 and 7.5), posed figures (the
pose ControlNet: limbs covered, IoU with the figure), and edges of photos of shapes (the edges
ControlNet, fed what an image layer makes of a photo with the Canny preprocessor, and with the
line-art one). Every row says its bar and whether it passed; an evaluation that measured nothing
did not pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.engine.components import BaseModel

from .controls import edges_of_photo, photo
from .evaluate import Fidelity, held_out_controls, held_out_samples, measure
from .shapes import ShapeSample

# The condition kinds whose ControlNet the quality bar measures (each one the card names must be there).
MEASURED = ("scribble", "pose", "canny", "lineart")
OUTLINE_GUIDANCES = (5.0, 7.5)


@dataclass(frozen=True)
class Row:
    measure: str
    value: float
    bar: float  # the value must be at least this
    shown_as_percent: bool = False

    @property
    def passed(self) -> bool:
        return self.value >= self.bar

    def text(self) -> str:
        value = f"{self.value:.1%}" if self.shown_as_percent else f"{self.value:.3f}"
        bar = f"{self.bar:.0%}" if self.shown_as_percent else f"{self.bar:.2f}"
        return f"{self.measure:<52} {value:>7}  (bar >= {bar}) {'ok' if self.passed else 'BELOW'}"


@dataclass
class Evaluation:
    rows: list[Row]
    grids: dict[str, np.ndarray]  # per measure: controls above, results below

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)


def evaluate_demo(base: BaseModel, nets: dict[str, object], count: int, steps: int = 20) -> Evaluation:
    """`nets`: condition kind (of MEASURED) -> a loaded ControlNet; each one given is measured."""
    rows: list[Row] = []
    grids: dict[str, np.ndarray] = {}
    if "scribble" in nets:
        samples = held_out_samples(count, 64)
        for guidance in OUTLINE_GUIDANCES:
            fidelity = _measure(base, nets["scribble"], samples, "outline", steps, guidance)
            rows += [Row(f"outlines: IoU with the filled outline, guidance {guidance:g}", fidelity.iou, 0.85),
                     Row(f"outlines: shape in the prompt's colour, guidance {guidance:g}",
                         fidelity.colour_accuracy, 0.90, True)]
            grids[f"outlines_{guidance:g}"] = _grid(samples, "outline", fidelity)
    if "pose" in nets:
        figures = held_out_samples(count, 64, seed=11_000, person_share=1.0)
        fidelity = _measure(base, nets["pose"], figures, "pose", steps, 5.0)
        rows += [Row("pose: share of the limbs' capsules the figure covers", fidelity.coverage, 0.80, True),
                 Row("pose: IoU with the mannequin", fidelity.iou, 0.60),
                 Row("pose: figure in the prompt's colour", fidelity.colour_accuracy, 0.90, True)]
        grids["pose"] = _grid(figures, "pose", fidelity)
    for preprocessor in ("canny", "lineart"):
        if preprocessor not in nets:
            continue
        shapes = held_out_samples(count, 64, seed=12_000)
        photos = [edges_of_photo(photo(s, np.random.default_rng(20_000 + i)), preprocessor, 64)
                  for i, s in enumerate(shapes)]
        controls = dict(zip(map(id, shapes), photos))
        fidelity = measure(base, [nets[preprocessor]], shapes, steps=steps, guidance=5.0,
                           controls_for=lambda s: [controls[id(s)]])
        rows += [Row(f"{preprocessor} of a photo of shapes: IoU with the shape", fidelity.iou, 0.80),
                 Row(f"{preprocessor} of a photo of shapes: prompt's colour", fidelity.colour_accuracy, 0.90, True)]
        grids[f"{preprocessor}_of_photos"] = _grid_of(photos, fidelity)
    return Evaluation(rows, grids)


def _measure(base: BaseModel, net, samples: list[ShapeSample], kind: str, steps: int, guidance: float) -> Fidelity:
    controls = dict(zip(map(id, samples), held_out_controls(samples, kind)))
    return measure(base, [net], samples, steps=steps, guidance=guidance, controls_for=lambda s: [controls[id(s)]])


def _grid(samples: list[ShapeSample], kind: str, fidelity: Fidelity, columns: int = 12) -> np.ndarray:
    return _grid_of(held_out_controls(samples[:columns], kind), fidelity, columns)


def _grid_of(controls: list[np.ndarray], fidelity: Fidelity, columns: int = 12) -> np.ndarray:
    return np.concatenate([np.concatenate(controls[:columns], 1), np.concatenate(fidelity.images[:columns], 1)], 0)
