"""Test support shared across the core tests: paths and tiny models built locally (no hub)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def load_module(path: Path, name: str) -> ModuleType:
    """Import the file ``path`` once as module ``name`` (pytest's importlib mode puts no test folder on the path)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


WORDS = [
    "the",
    "do",
    "at",
    "are",
    "it",
    "can",
    "if",
    "will",
    "when",
    "they",
    "by",
    "over",
    "about",
    "meat",
    "sun",
    "happy",
    "little",
    "grow",
    "trees",
    "birds",
    "cells",
    "runs",
    "past",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "with",
    "what",
    "how",
    "why",
    "cat",
    "cats",
    "dog",
    "dogs",
    "purr",
    "bark",
    "sleep",
    "eat",
    "fish",
    "bird",
    "fly",
    "sky",
    "blue",
    "red",
    "green",
    "apple",
    "pear",
    "fruit",
    "tree",
    "water",
    "river",
    "sea",
    "boat",
    "car",
    "road",
    "city",
    "house",
    "music",
    "play",
    "song",
    "sing",
    "read",
    "book",
    "paper",
    "science",
    "protein",
    "cell",
    "gene",
    "cancer",
    "drug",
    "study",
    "result",
]


def tiny_vocab() -> dict[str, int]:
    """The word-level vocabulary of the tiny models: BERT's special tokens, `WORDS`, letters as a fallback."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]]
    tokens += list("abcdefghijklmnopqrstuvwxyz0123456789.,?!:")
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def check_word_level(tokenizer: Any) -> None:
    """Fail loudly if the tokenizer does not know the vocabulary's words (every word ``[UNK]``: a broken fixture)."""
    ids = tokenizer("cats eat fish", add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    if len(ids) != 3 or unk in ids:
        raise AssertionError(f"tiny tokenizer does not know its words: 'cats eat fish' -> {ids} (unk id {unk})")


def build_tiny_cross_encoder(directory: Path, *, seed: int = 0, num_labels: int = 1) -> Path:
    """A random 2-layer BERT sequence classifier with a word-level vocab, saved like a hub model.

    ``initializer_range=0.5`` (BERT's default is 0.02) so that a random model's scores differ by content:
    with small weights every pair scores about the same.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    # ``vocab=`` (a dict): the installed transformers ignores ``vocab_file=`` and builds a 5-token vocabulary.
    tokenizer = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=128)
    check_word_level(tokenizer)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
        initializer_range=0.5,
    )
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def u8s8_saturates_here() -> bool:
    """True on a CPU where ONNX Runtime's u8s8 int8 kernels saturate (x86 without VNNI): this CPU's own int8
    format is then another one, and an explicit ``int8_format="u8s8"`` warns instead of promising accuracy."""
    from rankwise.backends.encoders.onnx_cross_encoder import int8_format_for
    from rankwise.cpu_features import cpu_features

    return int8_format_for(cpu_features()).name != "u8s8"
