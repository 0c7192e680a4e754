"""Test support shared across the core tests: paths and tiny models built locally (no hub)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DATASETS = REPO_ROOT.parent / "shared" / "datasets"

WORDS = [
    "the",
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


def build_tiny_cross_encoder(directory: Path, *, seed: int = 0, num_labels: int = 1) -> Path:
    """A random 2-layer BERT sequence classifier with a word-level vocab, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789.,?!")
    (directory / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True, model_max_length=128)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
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
