"""Runs the generations being compared side by side, one step each in turn, on one OS thread.

A shared machine changes speed over seconds (other tenants, turbo, caches). Comparing whole
runs done one after another lets that drift land on one side; stepping every variant in turn
makes both sides of a comparison sample the machine at the same moments.

The generations are greenlets, not threads: torch's OpenMP runtime gives each OS thread that
computes its own worker team, and once two teams exist on a machine with as many threads as
cores, libgomp stops spinning between parallel regions and small ops run about twice as slow
(measured: 0.46 ms -> 1.03 ms for a small conv/matmul/norm block on 2 cores). One OS thread
keeps one team, as in the app's single worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from greenlet import greenlet

StepHook = Callable[[], None]
Generation = Callable[[StepHook], None]  # runs one generation, calling the hook after every step


class LockstepError(RuntimeError):
    """A generation failed or stopped before the others."""


class _Runner:
    def __init__(self, name: str, generation: Generation) -> None:
        self.name = name
        self.generation = generation
        self.durations: list[float] = []  # each turn's step (setup, the first step and the end are not counted)
        self.turns = 0
        self.finished = False
        self.released = False  # once set, steps run on without handing over
        self.error: BaseException | None = None
        self._started: float | None = None
        self._greenlet = greenlet(self._body)

    def _hook(self) -> None:
        if self._started is not None:
            self.durations.append(time.perf_counter() - self._started)
            self._started = None
        if not self.released:
            self._greenlet.parent.switch()
            self._started = time.perf_counter()

    def _body(self) -> None:
        try:
            self.generation(self._hook)
        except BaseException as err:  # noqa: BLE001 - handed to the coordinator
            self.error = err
        finally:
            self.finished = True

    def advance(self) -> None:
        """Run this generation until its next step ends (or it ends)."""
        self._greenlet.switch()
        if self.error is not None:
            raise LockstepError(f"{self.name} failed: {self.error}") from self.error

    def run_out(self) -> None:
        """Let a started generation finish (its last steps and decode), untimed."""
        self.released = True
        if self._greenlet and not self.finished:
            self._greenlet.switch()


def lockstep(generations: dict[str, Generation], steps: int) -> dict[str, list[float]]:
    """Seconds each generation spent on each of its steps 2..`steps`, run one step each in turn
    (the order reverses every turn: A B, B A, ...). Setup, the first step and the VAE decode run
    alone and are not counted."""
    runners = [_Runner(name, generation) for name, generation in generations.items()]
    try:
        for runner in runners:  # setup and the first step, one generation at a time
            runner.advance()
            if runner.finished:
                raise LockstepError(f"{runner.name} ended before its first step")
        for k in range(steps - 1):
            for runner in runners if k % 2 == 0 else reversed(runners):
                runner.advance()
                runner.turns += 1
                if runner.finished:
                    raise LockstepError(f"{runner.name} stopped after {runner.turns} of {steps} steps")
    finally:
        for runner in runners:
            runner.run_out()
    return {runner.name: runner.durations for runner in runners}
