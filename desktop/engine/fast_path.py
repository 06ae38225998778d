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
- On a CPU the weights are frozen into the compiled code (inductor's "freezing": oneDNN lays them out for
  its kernels once, not every step): 1.3x over uncompiled bfloat16 on a Stable Diffusion UNet, where plain
  compiling gains 3 %. A frozen graph never sees its weights change, so a UNet carrying baked LoRAs runs
  an unfrozen graph (compiled once when the first LoRA comes, kept while their weights move).
- On CUDA the graphs are captured (inductor's "reduce-overhead": CUDA graphs), so a step launches one
  graph instead of hundreds of kernels.
- Compiled code is cached on disk (`cache_dir`), so the next start compiles in seconds, not minutes.
"""

from __future__ import annotations

import logging
import os
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch._inductor.config  # noqa: F401 - patched around every compiled call (freezing)

from .memory import is_out_of_memory

log = logging.getLogger(__name__)

_cache_dir_chosen = "TORCHINDUCTOR_CACHE_DIR" in os.environ  # set before we started: the user's choice wins
SMALL_MODEL_PARAMETERS = 50_000_000  # below this a UNet runs eagerly (compiling costs more than it saves)
# Compiled variants kept per function. diffusers' UNet and ControlNet share one wrapper function, and each
# size adds two or three variants (with and without residuals, conditional-only ControlNets): torch's
# default of 8 would run the fifth size eagerly without a word. Past this many, everything starts over.
RECOMPILE_LIMIT = 64


@dataclass(frozen=True)
class FastPathOptions:
    compile: bool = True
    channels_last: bool = True
    cache_dir: Path | None = None  # where compiled code is kept between runs of the app
    backend: str = "inductor"  # tests count compiles with "eager" (no C++ toolchain needed)
    min_parameters: int = SMALL_MODEL_PARAMETERS
    freeze: bool | None = None  # weights frozen into the code; None: on a CPU with inductor


class CompileCounter:
    """A torch.compile backend that counts the graphs it is handed and passes them on."""

    def __init__(self, backend: str, cuda_graphs: bool, freeze: bool = False) -> None:
        if backend == "inductor":
            mode = "reduce-overhead" if cuda_graphs else None
            self._inner: Any = torch._TorchCompileInductorWrapper(mode, {"freezing": True} if freeze else None, False)
        else:
            self._inner = torch._dynamo.lookup_backend(backend)
        self.count = 0

    def __call__(self, graph, example_inputs):
        self.count += 1
        return self._inner(graph, example_inputs)

    def reset(self) -> None:
        """Called by `torch._dynamo.reset()`: inductor frees its captured CUDA graphs here."""
        reset = getattr(self._inner, "reset", None)
        if reset is not None:
            reset()


class FastPath:
    """Compiled runners for one device's models; `runner(module)` is what the sampler calls."""

    def __init__(self, device: torch.device, options: FastPathOptions = FastPathOptions()) -> None:
        self.options = options
        self._device_type = device.type
        self.cuda_graphs = device.type == "cuda" and options.backend == "inductor"
        self._counter = CompileCounter(options.backend, self.cuda_graphs) if options.compile else None
        freeze = options.freeze if options.freeze is not None else device.type == "cpu" and options.backend == "inductor"
        self._frozen_counter = CompileCounter(options.backend, self.cuda_graphs, True) if options.compile and freeze else None
        self._changing: set[int] = set()  # modules whose weights change in place (LoRAs baked): never frozen
        self._compiled: dict[int, tuple[weakref.ref, Callable]] = {}
        self._warm: set[tuple] = set()
        self._sizes: dict[int, int] = {}  # parameters per module id
        self._eager: set[int] = set()  # modules held eager for now (a UNet with LoRAs that cannot be baked)
        self.failure: str | None = None
        self.notices: list[str] = []
        if options.compile:
            _configure_dynamo(options.cache_dir)

    @property
    def compiles(self) -> int:
        """Graphs compiled so far: the same size, batch and set of networks never adds one."""
        return sum(counter.count for counter in (self._counter, self._frozen_counter) if counter is not None)

    def frozen(self, module: torch.nn.Module) -> bool:
        """Whether `module` runs with its weights frozen into the compiled code."""
        return self._frozen_counter is not None and id(module) not in self._changing

    def weights_change(self, module: torch.nn.Module, changing: bool) -> None:
        """`module`'s weights are (or no longer are) rewritten in place between runs: a frozen graph would
        keep the old ones, so it then runs unfrozen (compiled once more, the first time)."""
        if changing == (id(module) in self._changing):
            return
        (self._changing.add if changing else self._changing.discard)(id(module))
        self._compiled.pop(id(module), None)  # made again with the other backend on next use

    def adopt(self, module: torch.nn.Module) -> None:
        """Lay a freshly loaded UNet, ControlNet or VAE out for the fast path (channels_last: what oneDNN
        and cuDNN convolutions prefer; Apple's MPS is left as it is)."""
        if self.options.channels_last and self._device_type in ("cpu", "cuda"):
            module.to(memory_format=torch.channels_last)

    def compiles_module(self, module: torch.nn.Module) -> bool:
        return self._worth_compiling(module) and self.failure is None and id(module) not in self._eager

    def hold_eager(self, module: torch.nn.Module, reason: str | None) -> None:
        """Run `module` uncompiled while `reason` holds (said once), or compiled again when it is None."""
        if reason is None:
            self._eager.discard(id(module))
        elif id(module) not in self._eager:
            self._eager.add(id(module))
            if self._worth_compiling(module) and self.failure is None:
                self.notices.append(reason)

    def _worth_compiling(self, module: torch.nn.Module) -> bool:
        if self._counter is None:
            return False
        size = self._sizes.get(id(module))
        if size is None:  # asked every step for every module: counted once
            size = self._sizes[id(module)] = sum(p.numel() for p in module.parameters())
        return size >= self.options.min_parameters

    def runner(self, module: torch.nn.Module) -> Callable:
        """The module's compiled form (made on first use), or the module itself when it runs eagerly."""
        if not self.compiles_module(module):
            return module
        entry = self._compiled.get(id(module))
        if entry is None or entry[0]() is not module:
            frozen = self.frozen(module)
            compiled = torch.compile(module, backend=self._frozen_counter if frozen else self._counter, dynamic=False)
            entry = (weakref.ref(module), _Guarded(self, module, compiled, frozen))
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
        self._sizes.pop(id(module), None)  # its id may be reused by the next module loaded
        entry = self._compiled.get(id(module))
        if entry is not None and entry[0]() is module:
            del self._compiled[id(module)]

    def forget(self) -> None:
        """Drop every compiled graph (a model was unloaded, or too many variants piled up); captured
        CUDA graphs and their memory go with them."""
        self._compiled.clear()
        self._warm.clear()
        self._sizes.clear()
        self._eager.clear()  # (which modules' weights change is the models' state, not the graphs': kept)
        if self._counter is not None:
            torch._dynamo.reset()

    def _fail(self, err: BaseException) -> None:
        root = _root_cause(err)
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
    """A compiled module whose compiler failing turns into eager running (once, with a notice).

    Only the compiler's own failures do: an error in the model's inputs is raised as the eager module
    raises it, and out of memory stays out of memory (compiling is not switched off for it)."""

    def __init__(self, fast: FastPath, module: torch.nn.Module, compiled: Callable, frozen: bool) -> None:
        self._fast = weakref.ref(fast)  # the fast path holds its runners: no cycle keeps models alive
        self._module = weakref.ref(module)
        self._compiled = compiled
        # Freezing is read by dynamo too (it lifts weights as constants only when the global flag is on
        # while it traces): the backend's own option alone compiled an unfrozen graph, 3 % faster, not 30 %.
        self._config = {"freezing": frozen}

    def __call__(self, *args, **kwargs):
        fast, module = self._fast(), self._module()
        if fast is None or fast.failure is not None:
            return module(*args, **kwargs)
        try:
            with torch._inductor.config.patch(self._config):
                return self._compiled(*args, **kwargs)
        except torch._dynamo.exc.FailOnRecompileLimitHit:
            fast.forget()  # too many sizes and variants: start over (the disk cache makes it quick)
            return fast.runner(module)(*args, **kwargs)
        except (torch._dynamo.exc.BackendCompilerFailed, torch._dynamo.exc.InternalTorchDynamoError) as err:
            if is_out_of_memory(_root_cause(err)):
                raise _root_cause(err) from err
            fast._fail(err)
            return module(*args, **kwargs)
        except torch._dynamo.exc.TorchRuntimeError as err:
            result = module(*args, **kwargs)  # the inputs' own error is raised here, as the plain module raises it
            fast._fail(err)  # it ran: the fault was the compiler's
            return result


def _root_cause(err: BaseException) -> BaseException:
    """The compiler's own error inside dynamo's wrappers."""
    while getattr(err, "inner_exception", None) is not None or err.__cause__ is not None:
        err = getattr(err, "inner_exception", None) or err.__cause__
    return err


def _configure_dynamo(cache_dir: Path | None) -> None:
    """Process-wide compiler settings, made by the first fast path that compiles."""
    global _cache_dir_chosen
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    torch._dynamo.config.fail_on_recompile_limit_hit = True
    # diffusers asks is_torch_version() inside its upsampling blocks; dynamo traces it and says so on every
    # compile: harmless (a version check), and not the user's business
    warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`-wrapped function")
    if cache_dir is not None and not _cache_dir_chosen:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)  # inductor reads it at each compile
        _cache_dir_chosen = True
