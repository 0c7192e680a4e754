"""Reading a BEIR-layout folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankwise.json_lines import json_objects


@dataclass(frozen=True)
class Document:
    """One corpus document. Only ``title`` and ``text`` are model input; ``metadata`` is never read.

    >>> Document("d1", "Cats", "They purr.").content
    'Cats They purr.'
    """

    id: str
    title: str
    text: str

    @property
    def content(self) -> str:
        """What rankers see: the title and the text, as BEIR concatenates them."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True)
class BeirDataset:
    """A test collection: the corpus, the judged queries (id → text) and their judgements.

    ``queries`` holds only queries that have judgements in the split, in file
    order; query ``metadata`` is dropped on reading (SciFact's holds the labels).

    >>> ds = BeirDataset("toy", "test", {"d": Document("d", "", "x")}, {"q": "x?"}, {"q": {"d": 1}})
    >>> len(ds.queries), ds.qrels["q"]
    (1, {'d': 1})
    """

    name: str
    split: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, record in json_objects(handle, str(path)):
            if "_id" not in record:
                raise ValueError(f"{path}, line {number}: expected a JSON object with an '_id' field")
            yield number, record


def _text(record: dict[str, Any], field: str, path: Path, number: int) -> str:
    value = record.get(field) or ""
    if not isinstance(value, str):
        raise ValueError(f"{path}, line {number}: field {field!r} must be a string, got {type(value).__name__}")
    return value


def read_corpus(path: Path) -> dict[str, Document]:
    """Documents by id, in file order."""
    return {
        str(r["_id"]): Document(str(r["_id"]), _text(r, "title", path, n), _text(r, "text", path, n))
        for n, r in _json_lines(path)
    }


def read_queries(path: Path) -> dict[str, str]:
    """Query texts by id, in file order; every other field (``metadata``) is ignored."""
    return {str(r["_id"]): _text(r, "text", path, n) for n, r in _json_lines(path)}


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id<TAB>corpus-id<TAB>score`` lines (header optional, LF or CRLF) as ``{qid: {doc_id: grade}}``."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip() or (number == 1 and fields[0] == "query-id"):
                continue
            if len(fields) != 3:
                raise ValueError(f"{path}, line {number}: expected 3 tab-separated fields, got {len(fields)}")
            try:
                grade = int(fields[2])
            except ValueError:
                raise ValueError(f"{path}, line {number}: relevance {fields[2]!r} is not an integer") from None
            qrels.setdefault(fields[0], {})[fields[1]] = grade
    return qrels


def _spread(ids: list[str], count: int) -> list[str]:
    """``count`` ids evenly spaced over ``ids`` (all of them if ``count`` is larger)."""
    if count >= len(ids):
        return ids
    return [ids[(i * len(ids)) // count] for i in range(count)]


def load_beir(dataset_dir: str | Path, *, split: str = "test", max_queries: int | None = None) -> BeirDataset:
    """Load a BEIR-layout folder, keeping only the queries judged in ``qrels/<split>.tsv``.

    ``max_queries`` keeps a deterministic sample of that many judged queries,
    evenly spaced through ``queries.jsonl`` (so a sample of SQuAD covers every article).
    """
    root = Path(dataset_dir)
    paths = {
        "corpus": root / "corpus.jsonl",
        "queries": root / "queries.jsonl",
        "qrels": root / "qrels" / f"{split}.tsv",
    }
    for kind, path in paths.items():
        if not path.is_file():
            raise FileNotFoundError(f"{root} is not a BEIR-layout dataset: its {kind} file {path} does not exist")
    if max_queries is not None and (isinstance(max_queries, bool) or max_queries <= 0):
        raise ValueError(f"max_queries must be a positive integer or None, got {max_queries!r}")
    qrels = read_qrels(paths["qrels"])
    all_queries = read_queries(paths["queries"])
    judged = [qid for qid in all_queries if qid in qrels]
    if not judged:
        raise ValueError(f"no query in {paths['queries']} has judgements in {paths['qrels']}")
    kept = _spread(judged, max_queries) if max_queries is not None else judged
    return BeirDataset(
        name=root.resolve().name,
        split=split,
        corpus=read_corpus(paths["corpus"]),
        queries={qid: all_queries[qid] for qid in kept},
        qrels={qid: qrels[qid] for qid in kept},
    )
