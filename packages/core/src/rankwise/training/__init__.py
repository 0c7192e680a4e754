"""Fine-tuning a reranker on a labelled BEIR folder: ``rankwise train`` (`train`), see docs/training.md.

The base (``embedded``, ``bi-encoder:X`` or ``cross-encoder:X``, `resolve_base`) is fine-tuned on the train
split with BM25-mined hard negatives (`mine_examples`) through sentence-transformers' own trainers, under a
wall-clock budget (`BudgetCallback`), and evaluated on the test split before and after on the same BM25
candidates. The output directory is a model spec (``bi-encoder:DIR``, ``cross-encoder:DIR``); for an
embedded-style base it also holds the calibration of the fused spec (``DIR/calibration.json``).

>>> resolve_base("cross-encoder:path/to/model").after_spec("out")
'cross-encoder:out'
"""

from rankwise.training.base import NotTrainableError, TrainBase, resolve_base
from rankwise.training.budget import BudgetCallback, budget_schedule
from rankwise.training.fit import Outcome
from rankwise.training.negatives import Example, Mined, labelled_queries, mine_examples
from rankwise.training.run import (
    CALIBRATION_FILE,
    MIN_LABELLED_QUERIES,
    REPORT_FILE,
    TrainingDataError,
    TrainReport,
    train,
    trained_reranker,
)
from rankwise.training.settings import TrainSettings

__all__ = [
    "CALIBRATION_FILE",
    "MIN_LABELLED_QUERIES",
    "REPORT_FILE",
    "BudgetCallback",
    "Example",
    "Mined",
    "NotTrainableError",
    "Outcome",
    "TrainBase",
    "TrainReport",
    "TrainSettings",
    "TrainingDataError",
    "budget_schedule",
    "labelled_queries",
    "mine_examples",
    "resolve_base",
    "train",
    "trained_reranker",
]
