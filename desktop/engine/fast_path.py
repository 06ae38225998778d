"""The fast path: the UNet and ControlNets in channels_last and compiled with torch.compile.

Why it is shaped so:
- Modules are compiled one by one (not the whole model step): which ControlNets run changes from step to
  step (start/end, weight 0), and each module's graph stays valid whatever the others do.
- Nothing a user tweaks between runs reaches a graph as a Python number: ControlNets are called with
  scale 1.0 and scaled outside, guidance is combined outside, LoRAs are baked into the weights
  (`lora_bake.py`). So a new prompt, seed, weight or LoRA weight runs the graphs already compiled; a new
  size, batch or dtype compiles once more (`compiles` counts what the backend was handed).
- Compiling can fail (no C++ compiler, an operator inductor lacks): the first failure is one notice and
  everything runs eagerly from then on, never a crash.
- Small models (the built-in demo) are not compiled: a minute of compiling would buy milliseconds.
- On CUDA the graphs are captured (inductor's "reduce-overhead": CUDA graphs), so a step launches one
  graph instead of hundreds of kernels.
- Compiled code is cached on disk (`cache_dir`), so the next start compiles in seconds, not minutes.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .memory import is_out_of_memory

log = logging.getLogger(__name__)

_USERS_CACHE_DIR = os.environ.get("TORCHINDUCTOR_CACHE_DIR")  # set before we started: the user's choice wins
SMALL_MODEL_PARAMETERS = 50_000_000  # below this a UNet runs eagerly (compiling costs more than it saves)


@dataclass(frozen=True)
class FastPathOptions:
    compile: bool = True
    channels_last: bool = True
    cache_dir: Path | None = None  # where compiled code is kept between runs of the app
    backend: str = "inductor"  # tests count compiles with "eager" (no C++ toolchain needed)
    min_parameters: int = SMALL_MODEL_PARAMETERS


class CompileCounter:
    """A torch.compile backend that counts the graphs it is handed and passes them on."""

    def __init__(self, backend: str, cuda_graphs: bool) -> None:
        if backend == "inductor":
            mode = "reduce-overhead" if cuda_graphs else None
            self._inner: Any = torch._TorchCompileInductorWrapper(mode, None, False)
        else:
            self._inner = torch._dynamo.lookup_backend(backend)
        self.count = 0

    def __call__(self, graph, example_inputs):
        self.count += 1
        return self._inner(graph, example_inputs)


class FastPath:
    """Compiled runners for one device's models; `runner(module)` is what the sampler calls."""

    def __init__(self, device: torch.device, options: FastPathOptions = FastPathOptions()) -> None:
        self.options = options
        self._device_type = device.type
        self.cuda_graphs = device.type == "cuda" and options.backend == "inductor"
        self._counter = CompileCounter(options.backend, self.cuda_graphs) if options.compile else None
        self._compiled: dict[int, tuple[weakref.ref, Callable]] = {}
        self._warm: set[tuple] = set()
        self.failure: str | None = None
        self.notices: list[str] = []
        if options.compile and options.cache_dir is not None and _USERS_CACHE_DIR is None:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(options.cache_dir)  # inductor reads it at each compile

    @property
    def compiles(self) -> int:
        """Graphs compiled so far: the same size, batch and set of networks never adds one."""
        return self._counter.count if self._counter is not None else 0

    def adopt(self, module: torch.nn.Module) -> None:
        """Lay a freshly loaded UNet, ControlNet or VAE out for the fast path (channels_last: what oneDNN
        and cuDNN convolutions prefer; Apple's MPS is left as it is)."""
        if self.options.channels_last and self._device_type in ("cpu", "cuda"):
            module.to(memory_format=torch.channels_last)

    def compiles_module(self, module: torch.nn.Module) -> bool:
        return (self._counter is not None and self.failure is None
                and sum(p.numel() for p in module.parameters()) >= self.options.min_parameters)

    def runner(self, module: torch.nn.Module) -> Callable:
        """The module's compiled form (made on first use), or the module itself when it runs eagerly."""
        if not self.compiles_module(module):
            return module
        entry = self._compiled.get(id(module))
        if entry is None or entry[0]() is not module:
            compiled = torch.compile(module, backend=self._counter, dynamic=False)
            entry = (weakref.ref(module), _Guarded(self, module, compiled))
            self._compiled[id(module)] = entry
        return entry[1]

    def is_warm(self, key: tuple) -> bool:
        """Whether a model step of this shape (`key`: sizes, dtype, networks) has run compiled before."""
        return key in self._warm

    def mark_warm(self, key: tuple) -> None:
        self._warm.add(key)

    def step_begins(self) -> None:
        """Outputs of the previous step's captured graphs may be overwritten from here on (CUDA graphs)."""
        if self.cuda_graphs and self.failure is None:
            torch.compiler.cudagraph_mark_step_begin()

    def forget_module(self, module: torch.nn.Module) -> None:
        """Drop one module's compiled runner (a ControlNet left the cache), so its weights can be freed."""
        entry = self._compiled.get(id(module))
        if entry is not None and entry[0]() is module:
            del self._compiled[id(module)]

    def forget(self) -> None:
        """Drop every compiled graph (a model was unloaded): their guards hold the old weights alive."""
        self._compiled.clear()
        self._warm.clear()
        if self._counter is not None:
            torch._dynamo.reset()

    def _fail(self, err: BaseException) -> None:
        root = err
        while getattr(root, "inner_exception", None) is not None or root.__cause__ is not None:
            root = getattr(root, "inner_exception", None) or root.__cause__  # dynamo wraps the compiler's own error
        text = str(root).strip()
        reason = text.splitlines()[0][:200] if text else type(root).__name__
        log.warning("compiling failed, running eagerly: %s", reason, exc_info=err)
        self.failure = reason
        self.notices.append(f"optimising the model failed ({reason}); it runs without compiling, at normal speed")
        self._compiled.clear()

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices


class _Guarded:
    """A compiled module that turns a failure while compiling into eager running (once, with a notice)."""

    def __init__(self, fast: FastPath, module: torch.nn.Module, compiled: Callable) -> None:
        self._fast = fast
        self._module = weakref.ref(module)
        self._compiled = compiled

    def __call__(self, *args, **kwargs):
        module = self._module()
        if self._fast.failure is not None:
            return module(*args, **kwargs)
        before = self._fast.compiles
        try:
            return self._compiled(*args, **kwargs)
        except Exception as err:
            compiling = self._fast.compiles != before or isinstance(err, torch._dynamo.exc.TorchDynamoException)
            if is_out_of_memory(err) or not compiling:
                raise
            self._fast._fail(err)
            return module(*args, **kwargs)
