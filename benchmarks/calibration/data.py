"""Candidates and raw term scores of the embedded default, per collection and split, cached on disk.

For each judged query: BM25's top ``depth`` (`rankwise.evaluation.first_stage`, the candidates
`rankwise eval` reranks), each candidate's BM25 score (the first-stage score `rankwise eval`
passes) and raw MiniLM cosine (the embedded default's bi-encoder, ``--precision`` bf16 by default,
texts cut the way the `Reranker` cuts them), and its relevance label. Document embeddings go to the
bi-encoder's disk store (``--embedding-cache-dir``, shared with ``make eval``); the collected
arrays go to ``--out``/<precision> (one ``.npz`` per collection/split), so fitting and measuring rerun in seconds.

    .venv/bin/python benchmarks/calibration/data.py            # every collection the measures use

Collections (``/work/shared/datasets``, or ``--datasets``):

- ``scifact-train`` (809 queries), ``scifact-test`` (300),
- ``squad-train``: SQuAD's train split restricted to 48 evenly spaced articles (of 442; the dev
  split has 48 articles too, so candidate lists look like the test's), 1,000 evenly spaced questions,
- ``squad-test`` (the 500-question sample of ``make eval``), ``cranfield-test`` (225),
  ``arguana-test`` (the 300-argument sample of ``make eval``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rankwise.chunking import truncate_words
from rankwise.embedded import embedded_model_path
from rankwise.evaluation import BeirDataset, BM25FirstStage, Document, load_beir
from rankwise.evaluation.beir import read_qrels

DATASETS = Path("/work/shared/datasets")
CACHE = Path("/tmp/rankwise-calibration")
EMBEDDINGS = "/tmp/rankwise-embeddings"
DEPTH = 100
# The encoder's precision. The embedded default encodes in fp32 (rankwise.embedded.BACKEND_OPTIONS); the
# collections of the shipped calibration were encoded in bf16 (then the default's "auto" on this AMX CPU,
# twice as fast): cosines differ by ~1e-3, see docs/calibration.md. measure.py --precision fp32 rechecks.
PRECISION = "bf16"

# name -> (folder, split, max_queries)
COLLECTIONS: dict[str, tuple[str, str, int | None]] = {
    "scifact-train": ("scifact", "train", None),
    "scifact-test": ("scifact", "test", None),
    "squad-train": ("squad", "train", 1000),
    "squad-test": ("squad", "test", 500),
    "cranfield-test": ("cranfield", "test", None),
    "arguana-test": ("arguana", "test", 300),
}
SQUAD_TRAIN_ARTICLES = 48


@dataclass
class Collected:
    """One collection's candidates: flat arrays with ``offsets`` delimiting each query's list."""

    name: str
    query_ids: list[str]
    queries: list[str]
    offsets: np.ndarray  # int64, len(queries) + 1
    doc_ids: list[str]
    bm25: np.ndarray
    cosine: np.ndarray
    labels: np.ndarray  # relevance grade (0 = not relevant)
    judged_relevant: np.ndarray  # per query: relevant documents in the qrels (found or not)

    def lists(self) -> list[slice]:
        return [slice(int(a), int(b)) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]


def _gz_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def squad_train(root: Path, articles: int, max_queries: int) -> BeirDataset:
    """SQuAD train restricted to ``articles`` evenly spaced articles (the dev split's size)."""
    corpus_rows = _gz_lines(root / "train" / "corpus.jsonl.gz")
    names = list(dict.fromkeys(str(r["_id"]).rpartition("#")[0] for r in corpus_rows))
    kept_articles = {names[(i * len(names)) // articles] for i in range(articles)}
    corpus = {
        str(r["_id"]): Document(str(r["_id"]), r.get("title") or "", r.get("text") or "")
        for r in corpus_rows
        if str(r["_id"]).rpartition("#")[0] in kept_articles
    }
    with gzip.open(root / "train" / "qrels.tsv.gz", "rt", encoding="utf-8") as handle:
        tmp = CACHE / "squad-train-qrels.tsv"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(handle.read(), encoding="utf-8")
    qrels = {q: r for q, r in read_qrels(tmp).items() if all(d in corpus for d in r)}
    texts = {str(r["_id"]): str(r["text"]) for r in _gz_lines(root / "train" / "queries.jsonl.gz")}
    judged = [q for q in texts if q in qrels]
    kept = [judged[(i * len(judged)) // max_queries] for i in range(min(max_queries, len(judged)))]
    return BeirDataset("squad-train", "train", corpus, {q: texts[q] for q in kept}, {q: qrels[q] for q in kept})


def load_collection(name: str, datasets: Path = DATASETS) -> BeirDataset:
    folder, split, max_queries = COLLECTIONS[name]
    if name == "squad-train":
        assert max_queries is not None
        return squad_train(datasets / folder, SQUAD_TRAIN_ARTICLES, max_queries)
    return load_beir(datasets / folder, split=split, max_queries=max_queries)


class Encoder:
    """The embedded default's bi-encoder, scoring texts cut exactly as the `Reranker` cuts them."""

    def __init__(self, cache_dir: str = EMBEDDINGS, precision: str = PRECISION) -> None:
        from rankwise.backends.encoders.bi_encoder import BiEncoderBackend

        self.backend = BiEncoderBackend(embedded_model_path(), embedding_cache_dir=cache_dir, precision=precision)
        self.precision = self.backend.precision
        self.name = f"bi-encoder:{embedded_model_path()}"

    def cut(self, texts: list[str]) -> list[str]:
        return [truncate_words(t, self.backend.max_length) for t in texts]

    def cosine(self, query: str, texts: list[str]) -> np.ndarray:
        return np.asarray(self.backend.score(query, self.cut(texts)), dtype=np.float64)


def collect(
    name: str, encoder: Encoder, datasets: Path = DATASETS, log: Callable[[str], None] = print
) -> tuple[Collected, BeirDataset]:
    data = load_collection(name, datasets)
    retriever = BM25FirstStage(data.corpus)
    qids: list[str] = []
    queries: list[str] = []
    doc_ids: list[str] = []
    bm25: list[float] = []
    cosine: list[float] = []
    labels: list[int] = []
    relevant: list[int] = []
    offsets = [0]
    start = time.time()
    hits_by_query = {qid: retriever.search(q, DEPTH, exclude=qid) for qid, q in data.queries.items()}
    # encode every candidate once, in big batches (the store makes later runs free)
    unique = list(dict.fromkeys(d for hits in hits_by_query.values() for d, _ in hits))
    for i in range(0, len(unique), 512):
        encoder.backend.warm(encoder.cut([data.corpus[d].content for d in unique[i : i + 512]]))
        log(
            f"{name}: {min(i + 512, len(unique))}/{len(unique)} candidate documents encoded ({time.time() - start:.0f} s)"
        )
    for qid, query in data.queries.items():
        hits = hits_by_query[qid]
        if not hits or not query.strip():
            continue
        ids = [d for d, _ in hits]
        qids.append(qid)
        queries.append(query)
        doc_ids.extend(ids)
        bm25.extend(s for _, s in hits)
        cosine.extend(encoder.cosine(query, [data.corpus[d].content for d in ids]).tolist())
        grades = data.qrels.get(qid, {})
        labels.extend(grades.get(d, 0) for d in ids)
        relevant.append(sum(1 for g in grades.values() if g > 0))
        offsets.append(len(doc_ids))
    log(f"{name}: {len(qids)} queries, {len(doc_ids)} candidates ({time.time() - start:.0f} s)")
    collected = Collected(
        name,
        qids,
        queries,
        np.asarray(offsets, dtype=np.int64),
        doc_ids,
        np.asarray(bm25, dtype=np.float64),
        np.asarray(cosine, dtype=np.float64),
        np.asarray(labels, dtype=np.int64),
        np.asarray(relevant, dtype=np.int64),
    )
    return collected, data


def save(collected: Collected, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        name=np.asarray(collected.name),
        query_ids=np.asarray(collected.query_ids),
        queries=np.asarray(collected.queries),
        offsets=collected.offsets,
        doc_ids=np.asarray(collected.doc_ids),
        bm25=collected.bm25,
        cosine=collected.cosine,
        labels=collected.labels,
        judged_relevant=collected.judged_relevant,
    )
    tmp.replace(path)


def load(path: Path) -> Collected:
    with np.load(path) as z:
        return Collected(
            str(z["name"]),
            [str(x) for x in z["query_ids"]],
            [str(x) for x in z["queries"]],
            z["offsets"],
            [str(x) for x in z["doc_ids"]],
            z["bm25"],
            z["cosine"],
            z["labels"],
            z["judged_relevant"],
        )


def cached(
    name: str,
    encoder: Encoder | None = None,
    datasets: Path = DATASETS,
    cache: Path = CACHE,
    precision: str = PRECISION,
) -> Collected:
    """The collection from ``cache`` if there, else collected (and stored)."""
    path = cache / precision / f"{name}.npz"
    if path.exists():
        return load(path)
    encoder = encoder or Encoder(precision=precision)
    if encoder.precision != precision:
        raise ValueError(f"the encoder runs {encoder.precision}, the collection asked for is {precision}")
    collected, _ = collect(name, encoder, datasets)
    save(collected, path)
    return collected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"collections (default: all of {list(COLLECTIONS)})")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=CACHE)
    parser.add_argument("--embedding-cache-dir", default=EMBEDDINGS)
    parser.add_argument("--precision", default=PRECISION, choices=["fp32", "bf16"])
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in COLLECTIONS]
    if unknown:
        parser.error(f"unknown collections {unknown}; choose from {list(COLLECTIONS)}")
    encoder = Encoder(args.embedding_cache_dir, args.precision)
    for name in args.names or list(COLLECTIONS):
        path = args.out / args.precision / f"{name}.npz"
        if path.exists():
            print(f"{name}: already in {path}", file=sys.stderr)
            continue
        collected, _ = collect(name, encoder, args.datasets, log=lambda m: print(m, file=sys.stderr, flush=True))
        save(collected, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
