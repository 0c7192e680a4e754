"""Workloads cut from SciFact abstracts (read from ../shared/datasets), deterministic for a given seed."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"
SCIFACT = DATASETS / "scifact"
SEED = 7


@dataclass(frozen=True)
class Workload:
    """``queries[i]`` is reranked over ``documents[i]``; ``describe`` says how the texts were cut."""

    name: str
    describe: str
    queries: list[str]
    documents: list[list[str]]

    @property
    def pairs(self) -> int:
        return sum(len(d) for d in self.documents)


def corpus_texts() -> list[str]:
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        return [(d["title"] + ". " + d["text"]).strip() for d in map(json.loads, f)]


def test_queries() -> list[tuple[str, str]]:
    """SciFact test queries (id, text), in qrels order."""
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        text = {q["_id"]: q["text"] for q in map(json.loads, f)}
    ids: list[str] = []
    with open(SCIFACT / "qrels" / "test.tsv", encoding="utf-8") as f:
        for line in list(f)[1:]:
            qid = line.rstrip("\r\n").split("\t")[0]
            if qid not in ids:
                ids.append(qid)
    return [(qid, text[qid]) for qid in ids]


def qrels() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with open(SCIFACT / "qrels" / "test.tsv", encoding="utf-8") as f:
        for line in list(f)[1:]:
            qid, did, score = line.rstrip("\r\n").split("\t")
            out.setdefault(qid, {})[did] = int(score)
    return out


def _cut(words: list[str], rng: random.Random, n: int, pool: list[list[str]]) -> str:
    """``n`` words: this abstract, continued with random other abstracts when it is shorter."""
    out = list(words)
    while len(out) < n:
        out += pool[rng.randrange(len(pool))]
    return " ".join(out[:n])


def _documents(rng: random.Random, pool: list[list[str]], count: int, low: int, high: int) -> list[str]:
    return [_cut(pool[rng.randrange(len(pool))], rng, rng.randint(low, high), pool) for _ in range(count)]


def workloads() -> dict[str, Workload]:
    """The four workloads; ``RANKWISE_BENCH_SMOKE=1`` cuts each to 2 queries x 8 documents (a harness check)."""
    full = _workloads()
    if not os.environ.get("RANKWISE_BENCH_SMOKE"):
        return full
    return {
        k: Workload(w.name, w.describe + " [smoke]", w.queries[:2], [d[:8] for d in w.documents[:2]])
        for k, w in full.items()
    }


def _workloads() -> dict[str, Workload]:
    rng = random.Random(SEED)
    pool = [t.split() for t in corpus_texts()]
    queries = [q for _, q in test_queries()]
    rng.shuffle(queries)
    return {
        "mixed-1x100": Workload(
            "mixed-1x100", "1 query x 100 documents of 20-400 words", queries[:1], [_documents(rng, pool, 100, 20, 400)]
        ),
        "150w-1x100": Workload(
            "150w-1x100",
            "1 query x 100 documents of ~150 words (140-160)",
            queries[1:2],
            [_documents(rng, pool, 100, 140, 160)],
        ),
        "32x100": Workload(
            "32x100",
            "32 queries x 100 documents of 20-400 words each",
            queries[2:34],
            [_documents(rng, pool, 100, 20, 400) for _ in range(32)],
        ),
        "1x1000": Workload(
            "1x1000",
            "1 query x 1,000 documents of 20-400 words",
            queries[34:35],
            [_documents(rng, pool, 1000, 20, 400)],
        ),
    }
