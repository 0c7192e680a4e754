"""Fine-tune a sentence-transformers cross-encoder: ``BinaryCrossEntropyLoss`` on labelled (query, document) pairs.

Each `Example` gives one positive pair (label 1) and one pair per hard negative (label 0); the positives are
weighted by the number of negatives per positive (``pos_weight``), as in sentence-transformers' own reranker
training recipe, so that both classes weigh the same. The model must have one output logit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.training.base import NotTrainableError
from rankwise.training.bi_encoder import check_size
from rankwise.training.fit import Outcome, run_trainer
from rankwise.training.negatives import Example
from rankwise.training.settings import MAX_CPU_PARAMETERS, TrainSettings


def load_cross_encoder(model: str, settings: TrainSettings, *, max_parameters: int = MAX_CPU_PARAMETERS) -> Any:
    """The ``CrossEncoder`` to fine-tune (inputs cut to ``settings.max_length`` tokens); `NotTrainableError` for a
    model with other than one output, or too large to train on a CPU."""
    st = _sentence_transformers()
    encoder = st.CrossEncoder(model, max_length=settings.max_length)
    if encoder.num_labels != 1:
        raise NotTrainableError(
            f"{model} has {encoder.num_labels} outputs: rankwise train fine-tunes one-logit cross-encoders "
            "(num_labels=1, a relevance score)"
        )
    check_size(model, encoder, max_parameters)
    return encoder


def train_cross_encoder(encoder: Any, examples: list[Example], settings: TrainSettings, scratch: Path) -> Outcome:
    """Fine-tune ``encoder`` in place on ``examples``."""
    st = _sentence_transformers()
    torch = require("torch", extra="train", purpose="rankwise train")
    losses = require("sentence_transformers.cross_encoder.losses", extra="train", purpose="rankwise train")
    datasets = require("datasets", extra="train", purpose="rankwise train")
    rows: dict[str, list[Any]] = {"query": [], "document": [], "label": []}
    for example in examples:
        for text, label in [(example.positive, 1.0), *((n, 0.0) for n in example.negatives)]:
            rows["query"].append(example.query)
            rows["document"].append(text)
            rows["label"].append(label)
    negatives = len(examples[0].negatives)
    loss = losses.BinaryCrossEntropyLoss(encoder, pos_weight=torch.tensor(float(negatives)))
    return run_trainer(
        st.CrossEncoderTrainer,
        st.CrossEncoderTrainingArguments,
        encoder,
        datasets.Dataset.from_dict(rows),
        loss,
        settings,
        scratch,
    )


def _sentence_transformers() -> Any:
    return require("sentence_transformers.cross_encoder", extra="train", purpose="rankwise train")
