"""`TrainSettings`: the knobs of `rankwise train`, with CPU-friendly defaults, and the precision they run in.

>>> TrainSettings().max_length, TrainSettings(budget_minutes=0.5).budget_seconds
(256, 30.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from rankwise.cpu_features import native_bf16

# Longer inputs are cut to this many tokens while training: the cost of a step grows with the length, and
# all-MiniLM-L6-v2 (the embedded default) truncates at 256 itself (its model card: trained on 128-token inputs).
MAX_LENGTH = 256
# A model with more parameters than this is refused on a CPU. A forward and backward pass of all-MiniLM-L6-v2
# (22.7 M parameters) over 32 sequences of 256 tokens took 8.7 s of CPU time in bf16 (10.7 s in fp32) on this
# project's 2-core Xeon, so a step of 32 (query, positive, negative) triples takes ~10 s with both cores free
# (benchmarks/results/training/). The cost grows about with the parameters of the encoder layers (MiniLM-L6:
# ~11 M besides its embeddings, bge-large ~300 M): a model that size would run a handful of steps in 20 minutes.
MAX_CPU_PARAMETERS = 150_000_000


@dataclass(frozen=True)
class TrainSettings:
    """How to fine-tune: steps, learning rate, negatives, the time budget and the seed.

    ``epochs`` passes over the examples are planned; the ``budget_minutes`` of wall clock (counted from the
    first training step) stop it earlier on a slow or busy CPU, with the learning rate annealed to zero by
    then either way (`rankwise.training.budget`). ``learning_rate`` 2e-5 with 10% warm-up: the rate of
    sentence-transformers' own MS MARCO bi-encoder and cross-encoder recipes for MiniLM models.
    """

    budget_minutes: float = 20.0
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    negatives: int = 1
    mining_depth: int = 30
    seed: int = 13
    max_length: int = MAX_LENGTH
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("budget_minutes", "epochs", "learning_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("batch_size", "negatives", "mining_depth", "max_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must lie in [0, 1), got {self.warmup_ratio!r}")

    @property
    def budget_seconds(self) -> float:
        return 60.0 * float(self.budget_minutes)


def use_bf16(device: str) -> bool:
    """bf16 mixed precision only where it is native: a CUDA GPU that supports it, or a CPU with AVX512-BF16/AMX.

    Emulated bf16 made each step ~40x slower on an AVX2-only EPYC (benchmarks/build_model.py), so elsewhere fp32.
    """
    if device.startswith("cuda"):
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return native_bf16()
