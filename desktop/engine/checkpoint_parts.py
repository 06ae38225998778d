"""Loading one model part (UNet, VAE, text encoder, ControlNet) out of a single file.

Why this way: the part is built on the meta device (no memory), its conversion is first run on
shape-only meta tensors so that a file that does not fit is refused with counts before any weight
is read, and then only that part's tensors are read, cast and handed to the model as its
parameters (`assign=True`). Peak memory stays near one copy of the model, whatever the file holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from desktop.domain.errors import ArchitectureMismatch, ModelDamaged

from .checkpoint_header import TensorTable
from .checkpoint_reader import TensorReader

StateDict = dict[str, torch.Tensor]
Converter = Callable[[Mapping[str, torch.Tensor]], StateDict]


class FileTensors(Mapping[str, torch.Tensor]):
    """A part's tensors under the names its converter reads, each read from the file only when asked."""

    def __init__(self, read: Callable[[str], torch.Tensor], names: dict[str, str]) -> None:
        self._read, self._names = read, names
        self.reads: set[str] = set()

    def __getitem__(self, name: str) -> torch.Tensor:
        source = self._names[name]
        self.reads.add(source)
        return self._read(source)

    def __contains__(self, name: object) -> bool:  # Mapping's default would read the tensor
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class PartPlan:
    """One part of a file: its name for messages, the file tensors it takes and how they convert."""

    label: str  # "UNet", "VAE", "text encoder", "ControlNet"
    names: dict[str, str]  # name the converter reads -> name in the file
    convert: Converter


def empty_model(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """`build()` with its parameters on the meta device: no memory until the weights are assigned."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        return build()


def load_part(path: Path, table: TensorTable, plan: PartPlan, model: torch.nn.Module, dtype: torch.dtype, *,
              adjust: Callable[[StateDict], StateDict] | None = None) -> torch.nn.Module:
    """Check that the file fits the empty `model`, then fill it."""
    check_fit(path.name, table, plan, model.state_dict())
    return fill_part(path, table, plan, model, dtype, adjust=adjust)


def fill_part(path: Path, table: TensorTable, plan: PartPlan, model: torch.nn.Module, dtype: torch.dtype, *,
              adjust: Callable[[StateDict], StateDict] | None = None) -> torch.nn.Module:
    """Read the part's tensors (cast to `dtype`), convert them and make them the empty model's weights."""
    state = _read_converted(path, table, plan, dtype)
    if adjust is not None:
        state = adjust(state)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def check_fit(file: str, table: TensorTable, plan: PartPlan, expected: Mapping[str, torch.Tensor]) -> None:
    """Convert shape-only meta tensors and compare with the model's own: every weight present, in
    its shape, and every tensor of the part used; else ArchitectureMismatch naming the part and counts."""
    made: dict[str, torch.Tensor] = {}

    def meta(name: str) -> torch.Tensor:
        if name not in made:
            made[name] = torch.empty(table.shape(name), device="meta")
        return made[name]

    inputs = FileTensors(meta, plan.names)
    converted = plan.convert(inputs)
    missing = [k for k in expected if converted.get(k) is None]
    unexpected = [k for k in converted if k not in expected]
    misshapen = [
        k for k in expected if converted.get(k) is not None and tuple(converted[k].shape) != tuple(expected[k].shape)
    ]
    unused = _unused(made, converted, inputs.reads, plan.names.values())
    counts = [(missing, "missing"), (unexpected, "unexpected"), (misshapen, "of the wrong shape"),
              (unused, "in the file that the model does not use")]
    problems = [f"{len(names)} weight{'' if len(names) == 1 else 's'} {what}" for names, what in counts if names]
    if problems:
        raise ArchitectureMismatch(
            f"{file}: its {plan.label} does not fit the architecture its shapes describe ({', '.join(problems)})",
            detail="; ".join(f"{what}: {', '.join(names[:5])}" for names, what in counts if names),
        )


def _unused(made: dict[str, torch.Tensor], converted: StateDict, reads: set[str], names) -> list[str]:
    """File tensors that reached no converted weight. A tensor is used when it, or a view of it, is in
    the result; when a converter builds new tensors (OpenCLIP's q/k/v split) it reads only what it maps,
    so there every tensor it read counts as used."""
    sources = {id(tensor): name for name, tensor in made.items()}
    used: set[str] = set()
    built = False
    for tensor in converted.values():
        if tensor is None:
            continue
        root = tensor._base if tensor._base is not None else tensor
        if id(root) in sources:
            used.add(sources[id(root)])
        else:
            built = True
    if built:
        used |= reads
    return [name for name in names if name not in used]


def _read_converted(path: Path, table: TensorTable, plan: PartPlan, dtype: torch.dtype) -> StateDict:
    try:
        with TensorReader(path, table) as reader:
            return plan.convert(FileTensors(lambda name: reader.read(name, dtype), plan.names))
    except OSError as err:
        raise ModelDamaged(
            f"model file is damaged: the {plan.label} in {path.name} cannot be read", detail=str(err)
        ) from err
