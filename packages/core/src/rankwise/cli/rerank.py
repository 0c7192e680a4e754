"""``rankwise rerank``: JSON Lines documents in, the same documents best-first out, with a score and a rank."""

from __future__ import annotations

import argparse
import json
import math
from typing import IO, Any

from rankwise.cli._common import (
    EXIT_OK,
    Command,
    InputError,
    finite_float,
    input_documents,
    positive_int,
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``rerank`` parser."""
    rerank: argparse.ArgumentParser = commands.add_parser(
        "rerank",
        help="rerank JSON Lines documents for a query",
        description="Read JSON Lines (one object per line with a text field; any other fields are kept), "
        "write them back best-first with 'score' and 'rank' added.",
    )
    rerank.add_argument("--query", "-q", required=True, help="the query to rank the documents for")
    rerank.add_argument("--model", "-m", default="embedded", help="model spec (default: embedded; see 'models')")
    rerank.add_argument("--top-n", type=positive_int, help="keep only the N best documents")
    rerank.add_argument("--score-threshold", type=finite_float, help="drop documents scoring below X")
    rerank.add_argument("--text-field", default="text", help="field holding each document's text (default: text)")
    rerank.add_argument(
        "--first-stage-field", help="field holding each document's retriever score (passed as first_stage_scores)"
    )
    rerank.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for standard input (default)")
    return rerank


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
    reranker = Reranker(args.model, text_field=args.text_field)
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
