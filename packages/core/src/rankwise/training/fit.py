"""Run one sentence-transformers trainer under the time budget: `run_trainer` and its `Outcome`.

The trainer class (``SentenceTransformerTrainer`` or ``CrossEncoderTrainer``) does the loop, the batching and
the progress bar; this adds what `rankwise train` promises on top: a fixed seed, bf16 only where native,
AdamW with the budget-aware schedule of `rankwise.training.budget`, no checkpoints, and the trainer's own
printing sent to stderr (standard output carries the report).
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.training.budget import budget_schedule, make_callback
from rankwise.training.settings import TrainSettings, use_bf16


@dataclass(frozen=True)
class Outcome:
    """What a training run did: steps run of those planned, whether the budget stopped it, how long it took."""

    steps: int
    planned_steps: int
    examples: int
    stopped_by_budget: bool
    seconds: float
    budget_seconds: float
    bf16: bool
    train_loss: float | None
    batch_size: int = 32

    def summary(self) -> str:
        """One line for the console.

        >>> Outcome(12, 75, 900, True, 1201.0, 1200.0, True, 0.41).summary()
        'trained 12 of 75 planned steps (0.43 passes over 900 examples, bf16) in 1201 s: stopped by the 1200 s budget'
        """
        passes = self.steps * self.batch_size / max(1, self.examples)
        how = f"stopped by the {self.budget_seconds:g} s budget" if self.stopped_by_budget else "all planned steps"
        precision = "bf16" if self.bf16 else "fp32"
        return (
            f"trained {self.steps} of {self.planned_steps} planned steps ({passes:.2f} passes over {self.examples} examples, "
            f"{precision}) in {self.seconds:.0f} s: {how}"
        )


def planned_steps(examples: int, settings: TrainSettings) -> int:
    """Steps for ``settings.epochs`` passes over ``examples`` rows in batches of ``settings.batch_size``.

    >>> planned_steps(900, TrainSettings(epochs=3, batch_size=32))
    87
    """
    return max(1, math.ceil(math.ceil(examples / settings.batch_size) * settings.epochs))


def _arguments(settings: TrainSettings, scratch: Path, steps: int, bf16: bool, device: str) -> dict[str, Any]:
    """The training arguments both trainers take: no checkpoints, no evaluation, no reporting to a service."""
    return {
        "output_dir": str(scratch),
        "per_device_train_batch_size": settings.batch_size,
        "max_steps": steps,
        "learning_rate": settings.learning_rate,
        "seed": settings.seed,
        "data_seed": settings.seed,
        "bf16": bf16,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": "none",
        "logging_steps": max(1, steps // 10),
        "disable_tqdm": not settings.progress,
        "dataloader_pin_memory": False,
        "use_cpu": device == "cpu",
    }


def run_trainer(
    trainer_class: Any,
    arguments_class: Any,
    model: Any,
    dataset: Any,
    loss: Any,
    settings: TrainSettings,
    scratch: Path,
    **arguments: Any,
) -> Outcome:
    """Train ``model`` on ``dataset`` with ``loss``; ``arguments`` go to the trainer's arguments class.

    ``scratch`` is the trainer's ``output_dir`` (nothing is saved there: no checkpoints).
    """
    torch = require("torch", extra="train", purpose="rankwise train")
    transformers = require("transformers", extra="train", purpose="rankwise train")
    device = str(model.device)
    bf16 = use_bf16(device)
    steps = planned_steps(len(dataset), settings)
    budget = make_callback(settings.budget_seconds)
    args = arguments_class(**_arguments(settings, scratch, steps, bf16, device), **arguments)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.0)
    warmup = max(1, round(settings.warmup_ratio * steps))
    scheduler = budget_schedule(optimizer, budget, planned_steps=steps, warmup_steps=warmup)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        callbacks=[budget],
        optimizers=(optimizer, scheduler),
    )
    if not settings.progress:
        trainer.remove_callback(transformers.PrinterCallback)
    with contextlib.redirect_stdout(sys.stderr):
        result = trainer.train()
    return Outcome(
        steps=budget.steps,
        planned_steps=steps,
        examples=len(dataset),
        stopped_by_budget=budget.stopped,
        seconds=budget.seconds,
        budget_seconds=settings.budget_seconds,
        bf16=bf16,
        train_loss=float(result.training_loss) if result.training_loss is not None else None,
        batch_size=settings.batch_size,
    )
