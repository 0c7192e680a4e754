"""Tiny sentence-transformers bi-encoders built locally (no hub), for the bi-encoder and cache tests."""

from __future__ import annotations

from pathlib import Path


def build_tiny_bi_encoder(directory: Path, seed: int, *, max_seq_length: int = 64) -> str:
    """A random 2-layer BERT with mean pooling and the tiny word-level tokenizer, saved under ``directory/st``."""
    from core_support import build_tiny_cross_encoder
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    bert = build_tiny_cross_encoder(directory / "bert", seed=seed)
    encoder = Transformer(str(bert), max_seq_length=max_seq_length)
    model = SentenceTransformer(modules=[encoder, Pooling(encoder.get_embedding_dimension()), Normalize()])
    model.save(str(directory / "st"))
    return str(directory / "st")
