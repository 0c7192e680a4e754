"""``rankwise serve``: run a rerank server that speaks the Cohere, Jina/vLLM, Infinity and TEI wire formats.

>>> import argparse
>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers(dest="command")
>>> args = add_parser(sub).parse_args(["--model", "lexical", "--max-wait-ms", "2"])
>>> args.port, args.max_wait_ms, args.batching
(8080, 2.0, True)
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from rankwise.cli._common import EXIT_OK, Command, add_model_option, finite_float, positive_int, subcommand


@subcommand(
    "serve",
    "serve a model over HTTP (Cohere /v2/rerank and /v1/rerank, Jina/vLLM /v1/rerank, TEI /rerank)",
    "Serve MODEL behind the Cohere v2/v1, Jina/vLLM, Infinity and TEI rerank wire formats, "
    "with dynamic batching across requests, bearer keys, limits, /health, /info and Prometheus /metrics. "
    "Needs pip install 'rankwise[serve]'. See docs/serving.md.",
)
def add_parser(serve: argparse.ArgumentParser) -> None:
    add_model_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    serve.add_argument(
        "--api-key-env", metavar="NAME", help="accept only bearer keys listed (comma-separated) in this variable"
    )
    serve.add_argument("--api-key-file", metavar="PATH", help="accept only bearer keys listed in this file, one a line")
    serve.add_argument(
        "--max-batch-pairs", type=positive_int, default=256, help="pairs per shared batch at most (default: 256)"
    )
    serve.add_argument(
        "--max-wait-ms",
        type=finite_float,
        default=5.0,
        help="how long a batch waits for more requests (default: 5 ms)",
    )
    serve.add_argument(
        "--no-batching", dest="batching", action="store_false", help="score each request on its own thread"
    )
    serve.add_argument("--max-documents", type=positive_int, default=1000, help="documents per request (413 beyond)")
    serve.add_argument(
        "--max-body-bytes", type=positive_int, default=10 * 1024 * 1024, help="request body size (413 beyond)"
    )
    serve.add_argument("--max-query-chars", type=positive_int, default=10_000, help="query length (422 beyond)")
    serve.add_argument("--max-document-chars", type=positive_int, default=100_000, help="document length (422 beyond)")
    serve.add_argument(
        "--request-timeout", type=finite_float, default=30.0, help="seconds per request before a 504 (default: 30)"
    )
    serve.add_argument("--threads", type=positive_int, default=64, help="requests scored at once (default: 64)")
    serve.add_argument("--batch-size", type=positive_int, help="the Reranker's batch_size")
    serve.add_argument("--max-length", type=positive_int, help="the Reranker's max_length (tokens)")
    serve.add_argument("--cache-size", type=int, help="scores kept in the Reranker's cache (0: none)")
    serve.add_argument(
        "--graceful-shutdown", type=finite_float, default=30.0, help="seconds in-flight requests get on SIGTERM"
    )
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def service_from_args(args: argparse.Namespace) -> Any:
    """The `RerankService` the arguments describe (the model loaded)."""
    from rankwise.serve.app import read_api_keys
    from rankwise.serve.service import RerankService, ServeLimits

    options = {
        key: value
        for key, value in (
            ("batch_size", args.batch_size),
            ("max_length", args.max_length),
            ("cache_size", args.cache_size),
        )
        if value is not None
    }
    limits = ServeLimits(
        max_documents=args.max_documents,
        max_body_bytes=args.max_body_bytes,
        max_query_chars=args.max_query_chars,
        max_document_chars=args.max_document_chars,
        request_timeout_s=args.request_timeout,
    )
    return RerankService(
        args.model,
        batching=args.batching,
        max_batch_pairs=args.max_batch_pairs,
        max_wait_ms=args.max_wait_ms,
        limits=limits,
        api_keys=read_api_keys(args.api_key_env, args.api_key_file),
        threads=args.threads,
        reranker_options=options,
    )


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Load the model, then serve until interrupted."""
    from rankwise.serve.app import run_server

    service = service_from_args(args)
    auth = "bearer keys required" if service.info()["auth"] else "no auth"
    batching = (
        f"dynamic batching up to {args.max_batch_pairs} pairs / {args.max_wait_ms:g} ms"
        if service.batching
        else "no batching"
    )
    print(
        f"rankwise serve: {args.model} ({service.score_kind()} scores) on http://{args.host}:{args.port} — {batching}, {auth}",
        file=sys.stderr,
        flush=True,
    )
    run_server(
        service, host=args.host, port=args.port, log_level=args.log_level, graceful_shutdown_s=args.graceful_shutdown
    )
    return EXIT_OK


COMMAND = Command("serve", add_parser, run)
