"""``rankwise warm``: embed every document of a JSON Lines file into a bi-encoder's on-disk store."""

from __future__ import annotations

import argparse
from typing import IO, Any

from rankwise.cli._common import EXIT_OK, Command, cache_options, input_documents


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``warm`` parser."""
    warm: argparse.ArgumentParser = commands.add_parser(
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
    return warm


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Warm ``args.cache_dir`` with the documents of ``args.file``."""
    from rankwise.reranker import Reranker

    _, documents = input_documents(args)
    reranker = Reranker(args.model, text_field=args.text_field, backend_options=cache_options(args.cache_dir))
    warmed = reranker.warm(documents)
    if warmed == 0:
        out.write(f"model {args.model!r} has nothing to pre-compute (no document embeddings); nothing stored\n")
    else:
        out.write(f"warmed {warmed} distinct texts from {len(documents)} documents into {args.cache_dir}\n")
    return EXIT_OK


COMMAND = Command("warm", add_parser, run)
