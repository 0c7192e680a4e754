"""Reading a BEIR-layout folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

``SELF_MATCH_DATASETS`` lists the collections where a query is itself a corpus document
under the same id (BEIR evaluates them with ``ignore_identical_ids``): only there is the
document whose id equals the query id dropped by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankwise.evaluation.trec import read_trec_qrels
from rankwise.json_lines import json_objects, text_lines
from rankwise.validation import optional_positive_int


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
    ``ignore_identical_ids``: a document whose id equals the query id is never a candidate
    (BEIR's rule for ArguAna and Quora, where each query is also a corpus document).

    >>> ds = BeirDataset("toy", "test", {"d": Document("d", "", "x")}, {"q": "x?"}, {"q": {"d": 1}})
    >>> len(ds.queries), ds.qrels["q"]
    (1, {'d': 1})
    """

    name: str
    split: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    ignore_identical_ids: bool = False


# BEIR's own choice (its README and evaluation scripts): ignore_identical_ids for these only.
SELF_MATCH_DATASETS = frozenset({"arguana", "quora"})


def needs_identical_ids_ignored(name: str) -> bool:
    """Whether dataset ``name`` is one where a query is also a corpus document with the same id.

    >>> needs_identical_ids_ignored("arguana"), needs_identical_ids_ignored("cranfield")
    (True, False)
    """
    return name.lower() in SELF_MATCH_DATASETS


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as handle:
        for number, record in json_objects(text_lines(handle, str(path)), str(path)):
            if "_id" not in record:
                raise ValueError(f"{path}, line {number}: expected a JSON object with an '_id' field")
            yield number, record


def _text(record: dict[str, Any], field: str, path: Path, number: int) -> str:
    value = record.get(field) or ""
    if not isinstance(value, str):
        raise ValueError(f"{path}, line {number}: field {field!r} must be a string, got {type(value).__name__}")
    return value


def read_corpus(path: Path) -> dict[str, Document]:
    """Documents by id, in file order; an id that occurs twice is an error naming it and both lines."""
    corpus: dict[str, Document] = {}
    lines: dict[str, int] = {}
    for n, r in _json_lines(path):
        doc_id = str(r["_id"])
        if doc_id in corpus:
            raise ValueError(
                f"{path}, line {n}: duplicate document id {doc_id!r} (first on line {lines[doc_id]}); "
                "each corpus document needs its own id"
            )
        corpus[doc_id] = Document(doc_id, _text(r, "title", path, n), _text(r, "text", path, n))
        lines[doc_id] = n
    return corpus


def read_queries(path: Path) -> dict[str, str]:
    """Query texts by id, in file order; every other field (``metadata``) is ignored."""
    return {str(r["_id"]): _text(r, "text", path, n) for n, r in _json_lines(path)}


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id<TAB>corpus-id<TAB>score`` lines (header optional, LF or CRLF, a BOM ignored) as ``{qid: {doc_id: grade}}``."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
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


def read_any_qrels(path: Path) -> dict[str, dict[str, int]]:
    """A BEIR ``.tsv`` (3 tab-separated fields, header optional) or a TREC qrels file, told apart by its first line."""
    with path.open(encoding="utf-8-sig") as handle:
        first = next((line for line in handle if line.strip()), "")
    if len(first.rstrip("\r\n").split("\t")) == 3:
        return read_qrels(path)
    return read_trec_qrels(path)


def _spread(ids: list[str], count: int) -> list[str]:
    """``count`` ids evenly spaced over ``ids`` (all of them if ``count`` is larger)."""
    if count >= len(ids):
        return ids
    return [ids[(i * len(ids)) // count] for i in range(count)]


def load_beir(
    dataset_dir: str | Path,
    *,
    split: str = "test",
    max_queries: int | None = None,
    qrels: str | Path | Mapping[str, Mapping[str, int]] | None = None,
    ignore_identical_ids: bool | None = None,
) -> BeirDataset:
    """Load a BEIR-layout folder, keeping only the queries judged in ``qrels/<split>.tsv``.

    ``max_queries`` keeps a deterministic sample of that many judged queries,
    evenly spaced through ``queries.jsonl`` (so a sample of SQuAD covers every article).
    ``qrels`` replaces ``qrels/<split>.tsv``: a TREC qrels file (``qid 0 docid grade``), a
    BEIR TSV, or a mapping. ``ignore_identical_ids=None`` decides by the folder's name
    (`SELF_MATCH_DATASETS`); ``True``/``False`` overrides it.
    """
    root = Path(dataset_dir)
    paths = {
        "corpus": root / "corpus.jsonl",
        "queries": root / "queries.jsonl",
    }
    if qrels is None:
        paths["qrels"] = root / "qrels" / f"{split}.tsv"
    elif not isinstance(qrels, Mapping):
        paths["qrels"] = Path(qrels)
    for kind, path in paths.items():
        if not path.is_file():
            if kind == "qrels" and qrels is not None:
                raise FileNotFoundError(f"qrels file {path} does not exist")
            raise FileNotFoundError(f"{root} is not a BEIR-layout dataset: its {kind} file {path} does not exist")
    max_queries = optional_positive_int("max_queries", max_queries)
    if isinstance(qrels, Mapping):
        judgements = {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in qrels.items()}
        qrels_name = "the qrels given"
    else:
        judgements = read_any_qrels(paths["qrels"])
        qrels_name = str(paths["qrels"])
    all_queries = read_queries(paths["queries"])
    judged = [qid for qid in all_queries if qid in judgements]
    if not judged:
        raise ValueError(f"no query in {paths['queries']} has judgements in {qrels_name}")
    kept = _spread(judged, max_queries) if max_queries is not None else judged
    name = root.resolve().name
    return BeirDataset(
        name=name,
        split=split,
        corpus=read_corpus(paths["corpus"]),
        queries={qid: all_queries[qid] for qid in kept},
        qrels={qid: judgements[qid] for qid in kept},
        ignore_identical_ids=needs_identical_ids_ignored(name)
        if ignore_identical_ids is None
        else ignore_identical_ids,
    )
