"""Fine-tune a sentence-transformers bi-encoder: ``MultipleNegativesRankingLoss`` over (query, positive, negatives).

Each row is a query, one relevant document and its hard negatives (`rankwise.training.negatives`); the loss
is the cross-entropy of the positive against the row's negatives and every other document of the batch
(in-batch negatives), on cosine similarities scaled by 20 (sentence-transformers' defaults). The
``NO_DUPLICATES`` batch sampler keeps a query with several relevant documents from meeting itself in a batch,
where its other positives would count as negatives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.training.base import NotTrainableError
from rankwise.training.fit import Outcome, run_trainer
from rankwise.training.negatives import Example
from rankwise.training.settings import MAX_CPU_PARAMETERS, TrainSettings


def load_bi_encoder(model: str, settings: TrainSettings, *, max_parameters: int = MAX_CPU_PARAMETERS) -> Any:
    """The ``SentenceTransformer`` to fine-tune, inputs cut to ``settings.max_length`` tokens (or the model's own
    shorter limit); `NotTrainableError` for a model too large to train on a CPU."""
    st = _sentence_transformers()
    encoder = st.SentenceTransformer(model)
    encoder.max_seq_length = min(settings.max_length, encoder.max_seq_length or settings.max_length)
    check_size(model, encoder, max_parameters)
    return encoder


def train_bi_encoder(encoder: Any, examples: list[Example], settings: TrainSettings, scratch: Path) -> Outcome:
    """Fine-tune ``encoder`` in place on ``examples``."""
    st = _sentence_transformers()
    losses = require("sentence_transformers.sentence_transformer.losses", extra="train", purpose="rankwise train")
    sampler = require("sentence_transformers.base.sampler", extra="train", purpose="rankwise train")
    datasets = require("datasets", extra="train", purpose="rankwise train")
    columns: dict[str, list[str]] = {"anchor": [e.query for e in examples], "positive": [e.positive for e in examples]}
    for i in range(len(examples[0].negatives)):
        columns[f"negative_{i + 1}"] = [e.negatives[i] for e in examples]
    loss = losses.MultipleNegativesRankingLoss(encoder)
    return run_trainer(
        st.SentenceTransformerTrainer,
        st.SentenceTransformerTrainingArguments,
        encoder,
        datasets.Dataset.from_dict(columns),
        loss,
        settings,
        scratch,
        batch_sampler=sampler.BatchSamplers.NO_DUPLICATES,
    )


def check_size(model: str, network: Any, max_parameters: int) -> None:
    """`NotTrainableError` when ``network`` has more than ``max_parameters`` parameters and no GPU is there."""
    count = sum(p.numel() for p in network.parameters())
    if count > max_parameters and str(network.device) == "cpu":
        raise NotTrainableError(
            f"{model} has {count / 1e6:.0f} M parameters: too many to fine-tune on a CPU in a time budget "
            f"(the limit is {max_parameters / 1e6:.0f} M); start from a smaller model such as the embedded default"
        )


def _sentence_transformers() -> Any:
    return require("sentence_transformers", extra="train", purpose="rankwise train")
