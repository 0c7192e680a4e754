"""A wall-clock budget for a trainer: `BudgetCallback` stops training once it is spent, and
`budget_schedule` anneals the learning rate to zero by then.

A Hugging Face ``Trainer`` plans its linear learning-rate decay in steps; on a CPU whose speed depends on
what else runs, a time budget then cuts training at an arbitrary point of that plan, with the learning rate
still high. `budget_schedule` decays by whichever runs out first, the planned steps or the budget, so the
last step runs at a learning rate near zero however fast the machine is:

    factor(step) = min(1, (step + 1) / warmup) * max(0, min(1 - step / planned, 1 - elapsed / budget))

>>> clock = iter([0.0, 0.0, 30.0, 61.0]).__next__
>>> budget = BudgetCallback(60.0, clock=clock)
>>> budget.start()
>>> budget.fraction_left(), budget.fraction_left(), budget.spent()
(1.0, 0.5, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rankwise._optional import require


def _callback_base() -> type:
    """``transformers.TrainerCallback`` (imported when a callback is made: training needs transformers anyway)."""
    try:
        return require("transformers", extra="train", purpose="rankwise train").TrainerCallback  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - a doctest of this module without transformers
        return object


class BudgetCallback:
    """Stops the trainer at the end of the first step after ``seconds`` of training (from its first step).

    A ``transformers.TrainerCallback`` (see `make_callback`); it records what happened for the report:
    ``steps`` run, whether the budget ``stopped`` training, and ``seconds`` of training.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not seconds > 0:
            raise ValueError(f"the time budget must be a positive number of seconds, got {seconds!r}")
        self.budget, self._clock = float(seconds), clock
        self.started: float | None = None
        self.steps, self.stopped, self.seconds = 0, False, 0.0

    def start(self) -> None:
        if self.started is None:
            self.started = self._clock()

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self._clock() - self.started

    def fraction_left(self) -> float:
        """The share of the budget still to spend, in [0, 1]."""
        return max(0.0, 1.0 - self.elapsed() / self.budget)

    def spent(self) -> bool:
        return self.elapsed() >= self.budget

    # ---- the TrainerCallback hooks (``args``, ``state``, ``control`` are transformers' objects)
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.steps = int(state.global_step)
        if self.spent() and state.global_step < state.max_steps:
            self.stopped = True
            control.should_training_stop = True
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.steps, self.seconds = int(state.global_step), self.elapsed()


def make_callback(seconds: float) -> BudgetCallback:
    """A `BudgetCallback` that is also a ``transformers.TrainerCallback`` (what a trainer's ``callbacks`` take)."""
    cls = type("TrainerBudgetCallback", (BudgetCallback, _callback_base()), {})
    callback: BudgetCallback = cls(seconds)
    return callback


def budget_schedule(optimizer: Any, budget: BudgetCallback, *, planned_steps: int, warmup_steps: int) -> Any:
    """A ``torch.optim.lr_scheduler.LambdaLR``: linear warm-up, then linear decay to zero at the planned
    last step or when the budget is spent, whichever comes first (the formula in the module docstring).

    >>> import torch
    >>> optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> times = iter([0.0] + [50.0] * 10).__next__
    >>> budget = BudgetCallback(100.0, clock=times); budget.start()
    >>> scheduler = budget_schedule(optimizer, budget, planned_steps=10, warmup_steps=2)
    >>> optimizer.step(); scheduler.step(); round(scheduler.get_last_lr()[0], 3)  # step 1: warm-up done, half the budget left
    0.5
    """
    torch = require("torch", extra="train", purpose="rankwise train")
    planned, warmup = max(1, planned_steps), max(1, warmup_steps)

    def factor(step: int) -> float:
        ramp = min(1.0, (step + 1) / warmup)
        return ramp * max(0.0, min(1.0 - step / planned, budget.fraction_left()))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
