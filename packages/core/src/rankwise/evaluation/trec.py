"""TREC files: runs (``qid Q0 docno rank score tag``) and qrels (``qid 0 docno grade``), as trec_eval reads them.

Runs from Pyserini/Anserini (or any tool) can be reranked by `rankwise eval --run` and
`rankwise compare --run`; `write_trec_run` writes rankwise's runs back for trec_eval.

>>> import io
>>> run = read_trec_run(io.StringIO("q1 Q0 d2 1 7.5 bm25\\nq1 Q0 d1 2 3.0 bm25\\n"), "run.txt")
>>> run
{'q1': [('d2', 7.5), ('d1', 3.0)]}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from rankwise.json_lines import BOM

Candidates = dict[str, list[tuple[str, float]]]


def _lines(source: str | Path | IO[str]) -> tuple[str, Iterable[str]]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"TREC file {path} does not exist")
        return str(path), path.read_text(encoding="utf-8-sig").splitlines()
    return getattr(source, "name", "<stream>"), source


def _rows(source: str | Path | IO[str], name: str | None, layout: str) -> Iterator[tuple[str, int, list[str]]]:
    """``(label, line number, fields)`` of each non-blank line, every one checked to have the fields of
    ``layout`` (``"run"`` or ``"qrels"``); ``label`` names the file in errors."""
    label, lines = _lines(source)
    label = name or label
    columns = _LAYOUTS[layout]
    for number, line in enumerate(lines, start=1):
        line = line.removeprefix(BOM) if number == 1 else line
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != len(columns.split()):
            raise ValueError(
                f"{label}, line {number}: a TREC {layout} line has {len(columns.split())} fields ({columns}), "
                f"got {len(fields)}"
            )
        yield label, number, fields


_LAYOUTS = {"run": "qid Q0 docno rank score tag", "qrels": "qid 0 docno grade"}


def read_trec_run(source: str | Path | IO[str], name: str | None = None) -> Candidates:
    """``{qid: [(docno, score), ...]}``, each list best first (score descending, ties in file order).

    Six whitespace-separated fields per line; the rank column is not used for ordering,
    as in trec_eval. A document listed twice for one query is an error naming both.
    """
    run: dict[str, dict[str, float]] = {}
    for label, number, fields in _rows(source, name, "run"):
        qid, _, docno, _, score_text, _ = fields
        try:
            score = float(score_text)
        except ValueError:
            raise ValueError(f"{label}, line {number}: score {score_text!r} is not a number") from None
        if not math.isfinite(score):
            raise ValueError(f"{label}, line {number}: score {score_text!r} is not finite")
        docs = run.setdefault(qid, {})
        if docno in docs:
            raise ValueError(f"{label}, line {number}: document {docno!r} is listed twice for query {qid!r}")
        docs[docno] = score
    return {qid: sorted(docs.items(), key=lambda item: -item[1]) for qid, docs in run.items()}


def read_trec_qrels(source: str | Path | IO[str], name: str | None = None) -> dict[str, dict[str, int]]:
    """``qid iteration docno grade`` lines as ``{qid: {docno: grade}}``.

    >>> import io
    >>> read_trec_qrels(io.StringIO("q1 0 d1 2\\nq1 0 d3 0\\n"))
    {'q1': {'d1': 2, 'd3': 0}}
    """
    qrels: dict[str, dict[str, int]] = {}
    for label, number, fields in _rows(source, name, "qrels"):
        try:
            grade = int(fields[3])
        except ValueError:
            raise ValueError(f"{label}, line {number}: relevance {fields[3]!r} is not an integer") from None
        qrels.setdefault(fields[0], {})[fields[2]] = grade
    return qrels


def write_trec_run(
    path: str | Path,
    rankings: Mapping[str, Sequence[str]],
    tag: str,
    scores: Mapping[str, Sequence[float]] | None = None,
) -> None:
    """Write ranked doc-id lists as a TREC run; scores fall strictly with rank unless ``scores`` are given.

    Without ``scores`` each document scores ``len(list) - position`` (what rankwise's metrics
    use), so trec_eval, which orders by score, sees exactly the ranker's order.
    """
    tag = "".join(tag.split()) or "rankwise"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for qid, docs in rankings.items():
            own = scores.get(qid) if scores is not None else None
            for position, doc in enumerate(docs):
                score = own[position] if own is not None else float(len(docs) - position)
                handle.write(f"{qid} Q0 {doc} {position + 1} {score:.6f} {tag}\n")
