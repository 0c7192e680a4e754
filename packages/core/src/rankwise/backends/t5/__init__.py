"""Sequence-to-sequence rerankers: MonoT5 (pointwise) and DuoT5 (pairwise)."""
