"""Training checkpoints in safetensors only: model weights, optimizer moments, and a JSON
state (step, settings), so a run resumes exactly where it stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from desktop.domain.atomic import write_text_atomic


def save_checkpoint(folder: Path, step: int, models: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer,
                    extra: dict[str, Any] | None = None) -> Path:
    target = folder / f"step-{step:06d}"
    target.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(target / f"{name}.safetensors"))
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    save_file(tensors or {"_empty": torch.zeros(1)}, str(target / "optimizer.safetensors"))
    write_text_atomic(target / "state.json", json.dumps(
        {"step": step, "param_groups": state["param_groups"], "scalars": scalars, "extra": extra or {}}, indent=1))
    write_text_atomic(folder / "latest.json", json.dumps({"step": step, "path": target.name}))
    return target


def latest_checkpoint(folder: Path) -> Path | None:
    marker = folder / "latest.json"
    if not marker.exists():
        return None
    try:
        name = json.loads(marker.read_text(encoding="utf-8"))["path"]
    except (ValueError, KeyError):
        return None
    path = folder / name
    return path if (path / "state.json").exists() else None


def load_checkpoint(path: Path, models: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer | None) -> dict:
    for name, model in models.items():
        model.load_state_dict(load_file(str(path / f"{name}.safetensors")))
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if optimizer is not None:
        tensors = load_file(str(path / "optimizer.safetensors"))
        slots: dict[int, dict[str, Any]] = {}
        for key, value in list(tensors.items()) + list(state["scalars"].items()):
            if key == "_empty":
                continue
            index, name = key.split(".", 1)
            slots.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
    return state
