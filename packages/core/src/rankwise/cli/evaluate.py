"""``rankwise eval``: BM25 (or TREC run) candidates of a BEIR-layout dataset, reranked by one model, scored with ir-measures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from rankwise.cli._common import (
    EXIT_OK,
    Command,
    add_model_option,
    add_progress_option,
    cache_options,
    positive_int,
    subcommand,
)


@subcommand(
    "eval",
    "evaluate a model on a BEIR-layout dataset",
    "BM25 retrieves the top DEPTH documents per judged query; the model reranks them. "
    "Prints nDCG@10, RR@10, AP, R@100 and P@10 of both runs (ir-measures) and reranking latency.",
)
def add_parser(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument("dataset", help=DATASET_HELP)
    add_model_option(evaluate)
    add_sample_arguments(evaluate, "evaluate")
    evaluate.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    evaluate.add_argument(
        "--embedding-cache-dir",
        metavar="DIR",
        help="store and reuse bi-encoder document embeddings in DIR (see 'warm'); speed only, same scores",
    )
    add_candidate_arguments(evaluate)
    evaluate.add_argument("--save-run", metavar="FILE", help="write the reranked run to FILE in TREC format")
    add_progress_option(evaluate)


DATASET_HELP = "folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv"


def add_sample_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--first-stage``, ``--depth``, ``--max-queries`` and ``--split``: shared by ``eval`` and ``compare``."""
    parser.add_argument("--first-stage", default="bm25", choices=["bm25"], help="first-stage retriever")
    parser.add_argument("--depth", type=positive_int, default=100, help="candidates reranked per query")
    parser.add_argument("--max-queries", type=positive_int, help=f"{verb} an evenly spaced sample of N queries")
    parser.add_argument("--split", default="test", help="qrels split: qrels/<split>.tsv (default: test)")


def candidate_options(args: argparse.Namespace) -> dict[str, Any]:
    """What `add_sample_arguments` and `add_candidate_arguments` parsed, as `evaluate`'s and `compare`'s keywords."""
    names = ("first_stage", "depth", "max_queries", "split", "run", "qrels", "ignore_identical_ids")
    return {name: getattr(args, name) for name in names}


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
        progress=not args.no_progress,
        backend_options=cache_options(args.embedding_cache_dir, args.model),
        save_run=args.save_run,
        **candidate_options(args),
    )
    out.write(report.table() + "\n")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


COMMAND = Command("eval", add_parser, run)
