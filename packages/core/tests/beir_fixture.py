"""A tiny BEIR-layout dataset with the traps of the real ones, written into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "cats purr and cats sleep all day", "metadata": {}},
    {"_id": "d2", "title": "Dogs", "text": "dogs bark at the mail carrier", "metadata": {}},
    {"_id": "d3", "title": "", "text": "a cat and a dog share a house", "metadata": {}},
    {"_id": "d4", "title": "Fish", "text": "fish swim in the river all day", "metadata": {}},
    {"_id": "d5", "title": "Birds", "text": "birds fly over the river and sing", "metadata": {}},
    # ArguAna-style self-match: a document with a query's id and the query's text.
    {"_id": "q1", "title": "", "text": "why do cats purr", "metadata": {}},
]
QUERIES = [
    {"_id": "q1", "text": "why do cats purr", "metadata": {}},
    # SciFact-style label leakage: the metadata names the gold document; it must never be used.
    {"_id": "q2", "text": "where fish swim", "metadata": {"d5": [{"label": "SUPPORT", "text": "birds fly"}]}},
    {"_id": "q3", "text": "dogs bark", "metadata": {}},
    {"_id": "q4", "text": "a query nobody judged", "metadata": {}},
]
# query-id, corpus-id, grade; CRLF line endings as in BEIR.
QRELS = [("q1", "d1", 2), ("q1", "d3", 1), ("q2", "d4", 1), ("q3", "d2", 1), ("q3", "d3", 1)]


def write_beir(
    root: Path,
    corpus: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    qrels: list[tuple[str, str, int]],
) -> Path:
    """Write corpus.jsonl, queries.jsonl and qrels/test.tsv (CRLF) under ``root``."""
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in qrels)]
    (root / "qrels" / "test.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return root


def write_tiny_beir(root: Path) -> Path:
    """The tiny dataset above under ``root`` (name it ``arguana`` to get ArguAna's identical-ids rule)."""
    return write_beir(root, CORPUS, QUERIES, QRELS)
