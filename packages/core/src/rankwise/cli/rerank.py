"""``rankwise rerank``: JSON Lines documents in, the same documents best-first out, with a score and a rank."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import IO, Any

from rankwise.cli._common import (
    EXIT_OK,
    Command,
    InputError,
    add_model_option,
    add_progress_option,
    finite_float,
    input_documents,
    positive_int,
    progress_bar,
    show_progress,
    subcommand,
)


@subcommand(
    "rerank",
    "rerank JSON Lines documents for a query",
    "Read JSON Lines (one object per line with a text field; any other fields are kept), "
    "write them back best-first with 'score' and 'rank' added.",
)
def add_parser(rerank: argparse.ArgumentParser) -> None:
    rerank.add_argument("--query", "-q", required=True, help="the query to rank the documents for")
    add_model_option(rerank, help="model spec (default: embedded; see 'models')")
    rerank.add_argument("--top-n", type=positive_int, help="keep only the N best documents")
    rerank.add_argument("--score-threshold", type=finite_float, help="drop documents scoring below X")
    rerank.add_argument("--text-field", default="text", help="field holding each document's text (default: text)")
    rerank.add_argument(
        "--first-stage-field", help="field holding each document's retriever score (passed as first_stage_scores)"
    )
    add_progress_option(rerank)
    rerank.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for standard input (default)")


# Fields the output owns; a caller's own values are kept under RENAMED[field] (documented in docs/cli.md).
RENAMED = {"score": "input_score", "rank": "input_rank"}
# A bar is drawn for more documents than this; they are pre-scored in chunks of this size.
PROGRESS_CHUNK = 64


def _keep_callers_fields(documents: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Documents whose own ``score``/``rank`` move to ``input_score``/``input_rank``, with one warning."""
    clashing = [name for name in RENAMED if any(name in d for d in documents)]
    if not clashing:
        return documents
    for number, document in enumerate(documents, start=1):
        for name in clashing:
            if name in document and RENAMED[name] in document:
                raise InputError(
                    f"{source}, document {number}: has both {name!r} and {RENAMED[name]!r}; the output writes "
                    f"{name!r} and keeps an input {name!r} as {RENAMED[name]!r}: rename one of them"
                )
    renamed = ", ".join(f"{name!r} as {RENAMED[name]!r}" for name in clashing)
    print(
        f"rankwise rerank: warning: input documents have fields the output owns; keeping the input's {renamed}",
        file=sys.stderr,
    )
    return [{RENAMED.get(k, k) if k in clashing else k: v for k, v in d.items()} for d in documents]


def _prescore_with_progress(
    reranker: Any, query: str, documents: list[dict[str, Any]], first_stage: list[float] | None
) -> None:
    """Score the documents chunk by chunk behind a progress bar, filling the reranker's score cache.

    The ranking itself is the single ``rerank`` call that follows, over every document
    (so set-dependent scores such as BM25 over the candidates see the whole set); it finds the
    per-text model scores cached. Specs whose every backend is set-dependent gain nothing
    from chunks: their bar moves once, after the call.
    """
    backends = reranker.backends
    if backends and all(getattr(b, "set_dependent", False) for b in backends):
        return
    with progress_bar(len(documents), "reranking", "doc") as bar:
        for start in range(0, len(documents), PROGRESS_CHUNK):
            chunk = documents[start : start + PROGRESS_CHUNK]
            scores = first_stage[start : start + PROGRESS_CHUNK] if first_stage is not None else None
            reranker.score(query, chunk, first_stage_scores=scores)
            bar.update(len(chunk))


def _first_stage_scores(documents: list[dict[str, Any]], field: str, source: str) -> list[float]:
    scores = []
    for number, document in enumerate(documents, start=1):
        value = document.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{source}, document {number}: {field!r} must be a finite number, got {value!r}")
        scores.append(float(value))
    return scores


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Rerank ``args.file`` for ``args.query`` and write JSON Lines to ``out``."""
    from rankwise.reranker import Reranker

    source, documents = input_documents(args)
    if not args.query.strip():
        raise InputError("--query is empty: give the search text")
    first_stage = _first_stage_scores(documents, args.first_stage_field, source) if args.first_stage_field else None
    documents = _keep_callers_fields(documents, source)
    bar = show_progress(not args.no_progress) and len(documents) > PROGRESS_CHUNK
    # With a bar the documents are scored twice through the cache: make room for all of them.
    cache_size = max(10_000, 4 * len(documents)) if bar else 10_000
    reranker = Reranker(args.model, text_field=args.text_field, cache_size=cache_size)
    if bar:
        _prescore_with_progress(reranker, args.query, documents, first_stage)
    results = reranker.rerank(
        args.query,
        documents,
        top_n=args.top_n,
        score_threshold=args.score_threshold,
        first_stage_scores=first_stage,
    )
    for result in results:
        out.write(json.dumps({**result.document, "score": result.score, "rank": result.rank}, ensure_ascii=False))
        out.write("\n")
    return EXIT_OK


COMMAND = Command("rerank", add_parser, run)
