"""Prompt tokens for training, padded exactly as the engine pads them at inference."""

from __future__ import annotations

import numpy as np
import torch


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                     return_tensors="pt").input_ids


def drop_prompts(prompts: list[str], rate: float, rng: np.random.Generator) -> list[str]:
    """The paper's prompt dropout: each prompt replaced by the empty prompt with probability `rate`."""
    return ["" if rng.random() < rate else p for p in prompts]
