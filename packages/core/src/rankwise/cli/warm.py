"""``rankwise warm``: embed every document of a JSON Lines file (or a BEIR corpus) into a bi-encoder's on-disk store.

A JSON Lines file is embedded as ``rankwise rerank`` reads it (its ``--text-field``); a BEIR
dataset folder as ``rankwise eval`` reranks it (``title + " " + text``, `Document.content`),
so warming a dataset's folder makes a later ``rankwise eval --embedding-cache-dir`` encode no document.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from rankwise.cli._common import (
    EXIT_OK,
    Command,
    InputError,
    add_model_option,
    add_progress_option,
    cache_options,
    input_documents,
    progress_bar,
    show_progress,
    subcommand,
)

# Texts handed to the model per warm() call; the progress bar moves once per chunk.
WARM_CHUNK = 64


@subcommand(
    "warm",
    "pre-compute and persist document embeddings",
    "Embed every document of a JSON Lines file (its --text-field, as 'rerank' reads it) or of a "
    "BEIR dataset folder (title + ' ' + text, as 'eval' reranks it) and store the embeddings in --cache-dir, "
    "so later rerankers with the same cache dir skip encoding them.",
)
def add_parser(warm: argparse.ArgumentParser) -> None:
    warm.add_argument("file", help="JSON Lines file, a BEIR dataset folder (its corpus.jsonl), or - for standard input")
    add_model_option(warm)
    warm.add_argument(
        "--cache-dir", required=True, help="folder for the embeddings (the bi-encoder's embedding_cache_dir)"
    )
    warm.add_argument("--text-field", default="text", help="field holding each document's text (default: text)")
    add_progress_option(warm)


def dataset_texts(folder: Path) -> list[str]:
    """What ``rankwise eval`` hands a reranker for each corpus document of a BEIR folder."""
    from rankwise.evaluation.beir import read_corpus

    corpus = folder / "corpus.jsonl"
    if not corpus.is_file():
        raise InputError(f"input {folder} is a directory without corpus.jsonl: give a JSON Lines file or a BEIR folder")
    return [document.content for document in read_corpus(corpus).values()]


def _texts(args: argparse.Namespace) -> tuple[list[str], int]:
    """The distinct texts to embed, in first-seen order, and the number of documents read."""
    if args.file != "-" and Path(args.file).is_dir():
        texts = dataset_texts(Path(args.file))
    else:
        _, documents = input_documents(args)
        texts = [d[args.text_field] for d in documents]
        if Path(args.file).name == "corpus.jsonl" and any(d.get("title") for d in documents):
            print(
                "rankwise warm: note: 'rankwise eval' embeds title + ' ' + text; to warm what it reranks, "
                "give the dataset folder instead of its corpus.jsonl",
                file=sys.stderr,
            )
    return list(dict.fromkeys(texts)), len(texts)


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Warm ``args.cache_dir`` with the documents of ``args.file``."""
    from rankwise.reranker import Reranker

    texts, count = _texts(args)
    bar = show_progress(not args.no_progress)  # before the model loads: it also silences the library's bars
    reranker = Reranker(
        args.model, text_field=args.text_field, backend_options=cache_options(args.cache_dir, args.model)
    )
    chunks = [texts[i : i + WARM_CHUNK] for i in range(0, len(texts), WARM_CHUNK)]
    warmed = 0
    if bar:
        with progress_bar(len(texts), "warming", "doc") as bar:
            for chunk in chunks:
                warmed += reranker.warm(chunk)
                bar.update(len(chunk))
    else:
        for chunk in chunks:
            warmed += reranker.warm(chunk)
    if warmed == 0:
        out.write(f"model {args.model!r} has nothing to pre-compute (no document embeddings); nothing stored\n")
    else:
        out.write(f"warmed {warmed} distinct texts from {count} documents into {args.cache_dir}\n")
    return EXIT_OK


COMMAND = Command("warm", add_parser, run)
