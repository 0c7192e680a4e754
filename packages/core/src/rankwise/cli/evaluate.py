"""``rankwise eval``: BM25 (or TREC run) candidates of a BEIR-layout dataset, reranked by one model, scored with ir-measures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from rankwise.cli._common import EXIT_OK, Command, cache_options, positive_int


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``eval`` parser."""
    evaluate: argparse.ArgumentParser = commands.add_parser(
        "eval",
        help="evaluate a model on a BEIR-layout dataset",
        description="BM25 retrieves the top DEPTH documents per judged query; the model reranks them. "
        "Prints nDCG@10, RR@10, AP, R@100 and P@10 of both runs (ir-measures) and reranking latency.",
    )
    evaluate.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    evaluate.add_argument("--model", "-m", default="embedded", help="model spec (default: embedded)")
    evaluate.add_argument("--first-stage", default="bm25", choices=["bm25"], help="first-stage retriever")
    evaluate.add_argument("--depth", type=positive_int, default=100, help="candidates reranked per query")
    evaluate.add_argument("--max-queries", type=positive_int, help="evaluate an evenly spaced sample of N queries")
    evaluate.add_argument("--split", default="test", help="qrels split: qrels/<split>.tsv (default: test)")
    evaluate.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    evaluate.add_argument(
        "--embedding-cache-dir",
        metavar="DIR",
        help="store and reuse bi-encoder document embeddings in DIR (see 'warm'); speed only, same scores",
    )
    add_candidate_arguments(evaluate)
    evaluate.add_argument("--save-run", metavar="FILE", help="write the reranked run to FILE in TREC format")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    return evaluate


def add_candidate_arguments(parser: argparse.ArgumentParser) -> None:
    """``--run``, ``--qrels`` and ``--ignore-identical-ids``: shared by ``eval`` and ``compare``."""
    parser.add_argument(
        "--run", metavar="FILE", help="TREC run (qid Q0 docno rank score tag): rerank its candidates instead of BM25's"
    )
    parser.add_argument(
        "--qrels", metavar="FILE", help="TREC qrels (qid 0 docno grade) or BEIR .tsv, instead of qrels/<split>.tsv"
    )
    parser.add_argument(
        "--ignore-identical-ids",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="drop the document whose id equals the query id from the candidates (BEIR's rule for "
        "ArguAna and Quora). Default: on for arguana and quora only, off for every other dataset",
    )


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Evaluate ``args.model`` on ``args.dataset`` and print the table."""
    from rankwise.evaluation.run import evaluate

    report = evaluate(
        args.dataset,
        model=args.model,
        first_stage=args.first_stage,
        depth=args.depth,
        max_queries=args.max_queries,
        split=args.split,
        progress=not args.no_progress,
        backend_options=cache_options(args.embedding_cache_dir, args.model),
        run=args.run,
        qrels=args.qrels,
        ignore_identical_ids=args.ignore_identical_ids,
        save_run=args.save_run,
    )
    out.write(report.table() + "\n")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


COMMAND = Command("eval", add_parser, run)
