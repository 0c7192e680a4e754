"""The ``rankwise`` command line: ``rerank``, ``eval``, ``warm``, ``models``.

>>> build_parser().parse_args(["rerank", "--query", "cats", "docs.jsonl"]).top_n is None
True
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from rankwise.errors import MissingDependencyError, RankwiseError, UnknownModelSpecError
from rankwise.json_lines import json_objects

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class InputError(ValueError):
    """Bad user input (a malformed JSON line, a missing text field): reported without a traceback."""


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _finite_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="rankwise", description="Rerank documents with any model, and evaluate it.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rerank = commands.add_parser(
        "rerank",
        help="rerank JSON Lines documents for a query",
        description="Read JSON Lines (one object per line with a text field; any other fields are kept), "
        "write them back best-first with 'score' and 'rank' added.",
    )
    rerank.add_argument("--query", "-q", required=True, help="the query to rank the documents for")
    rerank.add_argument("--model", "-m", default="embedded", help="model spec (default: embedded; see 'models')")
    rerank.add_argument("--top-n", type=_positive_int, help="keep only the N best documents")
    rerank.add_argument("--score-threshold", type=_finite_float, help="drop documents scoring below X")
    rerank.add_argument("--text-field", default="text", help="field holding each document's text (default: text)")
    rerank.add_argument(
        "--first-stage-field", help="field holding each document's retriever score (passed as first_stage_scores)"
    )
    rerank.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for standard input (default)")

    evaluate = commands.add_parser(
        "eval",
        help="evaluate a model on a BEIR-layout dataset",
        description="BM25 retrieves the top DEPTH documents per judged query; the model reranks them. "
        "Prints nDCG@10, RR@10, AP, R@100 and P@10 of both runs (ir-measures) and reranking latency.",
    )
    evaluate.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    evaluate.add_argument("--model", "-m", default="embedded", help="model spec (default: embedded)")
    evaluate.add_argument("--first-stage", default="bm25", choices=["bm25"], help="first-stage retriever")
    evaluate.add_argument("--depth", type=_positive_int, default=100, help="candidates reranked per query")
    evaluate.add_argument("--max-queries", type=_positive_int, help="evaluate an evenly spaced sample of N queries")
    evaluate.add_argument("--split", default="test", help="qrels split: qrels/<split>.tsv (default: test)")
    evaluate.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    evaluate.add_argument(
        "--embedding-cache-dir",
        metavar="DIR",
        help="store and reuse bi-encoder document embeddings in DIR (see 'warm'); speed only, same scores",
    )
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")

    warm = commands.add_parser(
        "warm",
        help="pre-compute and persist document embeddings",
        description="Embed every document of a JSON Lines file and store the embeddings in --cache-dir, "
        "so later rerankers with the same cache dir skip encoding them.",
    )
    warm.add_argument("file", help="JSON Lines file of documents, or - for standard input")
    warm.add_argument("--model", "-m", default="embedded", help="model spec (default: embedded)")
    warm.add_argument(
        "--cache-dir", required=True, help="folder for the embeddings (the bi-encoder's embedding_cache_dir)"
    )
    warm.add_argument("--text-field", default="text", help="field holding each document's text (default: text)")

    commands.add_parser("models", help="list the known model spec kinds")
    return parser


def _open_input(name: str) -> IO[str]:
    if name == "-":
        return sys.stdin
    path = Path(name)
    if not path.is_file():
        raise InputError(f"input file {name} does not exist")
    return path.open(encoding="utf-8")


def read_documents(handle: IO[str], *, text_field: str, source: str = "<stdin>") -> list[dict[str, Any]]:
    """JSON objects, one per non-blank line, each with a string ``text_field``; errors name the line."""
    try:
        records = list(json_objects(handle, source))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    documents: list[dict[str, Any]] = []
    for number, document in records:
        if not isinstance(document.get(text_field), str):
            problem = "has no" if text_field not in document else "has a non-string"
            raise InputError(
                f"{source}, line {number}: the object {problem} {text_field!r} field "
                f"(its keys: {sorted(document)[:10]}); use --text-field to name the text field"
            )
        documents.append(document)
    return documents


def _first_stage_scores(documents: list[dict[str, Any]], field: str, source: str) -> list[float]:
    scores = []
    for number, document in enumerate(documents, start=1):
        value = document.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{source}, document {number}: {field!r} must be a finite number, got {value!r}")
        scores.append(float(value))
    return scores


def _input_documents(args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    """The JSON Lines documents of ``args.file`` (``-`` = stdin), with the name to cite in errors."""
    source = "<stdin>" if args.file == "-" else args.file
    handle = _open_input(args.file)
    try:
        return source, read_documents(handle, text_field=args.text_field, source=source)
    finally:
        if handle is not sys.stdin:
            handle.close()


def _rerank(args: argparse.Namespace, out: IO[str]) -> int:
    from rankwise.reranker import Reranker

    source, documents = _input_documents(args)
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


def _cache_options(cache_dir: str | None) -> dict[str, Any] | None:
    return {"bi-encoder": {"embedding_cache_dir": cache_dir}} if cache_dir else None


def _eval(args: argparse.Namespace, out: IO[str]) -> int:
    from rankwise.evaluation.run import evaluate

    report = evaluate(
        args.dataset,
        model=args.model,
        first_stage=args.first_stage,
        depth=args.depth,
        max_queries=args.max_queries,
        split=args.split,
        progress=not args.no_progress,
        backend_options=_cache_options(args.embedding_cache_dir),
    )
    out.write(report.table() + "\n")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


def _warm(args: argparse.Namespace, out: IO[str]) -> int:
    from rankwise.reranker import Reranker

    _, documents = _input_documents(args)
    reranker = Reranker(args.model, text_field=args.text_field, backend_options=_cache_options(args.cache_dir))
    warmed = reranker.warm(documents)
    if warmed == 0:
        out.write(f"model {args.model!r} has nothing to pre-compute (no document embeddings); nothing stored\n")
    else:
        out.write(f"warmed {warmed} distinct texts from {len(documents)} documents into {args.cache_dir}\n")
    return EXIT_OK


def _models(out: IO[str]) -> int:
    from rankwise.backends.registry import known_kinds

    kinds = known_kinds()
    width = max(map(len, kinds), default=0)
    out.write(f"{'embedded':<{width}}  alias: all-MiniLM-L6-v2 cosine fused with first-stage scores (or BM25)\n")
    for kind, description in kinds.items():
        out.write(f"{kind:<{width}}  {description}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad input or arguments)."""
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        if args.command == "rerank":
            return _rerank(args, out)
        if args.command == "eval":
            return _eval(args, out)
        if args.command == "warm":
            return _warm(args, out)
        return _models(out)
    except (InputError, UnknownModelSpecError, FileNotFoundError) as exc:
        print(f"rankwise {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, TypeError) as exc:  # argument values rejected by the library (e.g. a bad text)
        print(f"rankwise {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MissingDependencyError, RankwiseError) as exc:
        print(f"rankwise {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `rankwise rerank ... | head`
        return EXIT_OK
