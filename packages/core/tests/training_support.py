"""A tiny labelled BEIR folder with train and test splits, for the `rankwise train` tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from core_support import WORDS

# Content words of the tiny models' vocabulary (`core_support.WORDS`), so that the tiny tokenizer knows them.
TOPICS = WORDS[WORDS.index("meat") :]


def write_labelled_beir(root: Path, *, train_queries: int = 30, test_queries: int = 8, seed: int = 0) -> Path:
    """corpus.jsonl (two documents per query: the relevant one and a near miss), queries.jsonl, qrels/train.tsv
    and qrels/test.tsv under ``root``; each query is judged relevant to one document."""
    rng = random.Random(seed)
    corpus, queries, qrels = [], [], {"train": [], "test": []}
    for i in range(train_queries + test_queries):
        a, b, c, d = rng.sample(TOPICS, 4)
        corpus.append({"_id": f"d{i}", "title": "", "text": f"the {a} and the {b} {c} in the {d}"})
        corpus.append({"_id": f"n{i}", "title": "", "text": f"the {a} of the {d} with {rng.choice(TOPICS)}"})
        qid = f"q{i}"
        queries.append({"_id": qid, "text": f"{a} {b} {c}"})
        qrels["train" if i < train_queries else "test"].append((qid, f"d{i}", 1))
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    for split, rows in qrels.items():
        lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in rows)]
        (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
