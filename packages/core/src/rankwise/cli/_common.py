"""What every ``rankwise`` subcommand shares: the `Command` record, input errors, JSON Lines input, argument types.

>>> _positive_int("3")
3
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, NamedTuple

from rankwise.json_lines import json_objects, text_lines

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class Command(NamedTuple):
    """One subcommand: its name, a function adding its parser, and a function running it.

    ``add_parser(subparsers)`` adds and returns the subcommand's `argparse.ArgumentParser`;
    ``run(args, out)`` does the work, writes results to ``out`` and returns the exit status.

    >>> Command("hello", lambda sub: sub.add_parser("hello"), lambda args, out: 0).name
    'hello'
    """

    name: str
    add_parser: Callable[[Any], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace, IO[str]], int]


class InputError(ValueError):
    """Bad user input (a malformed JSON line, a missing text field): reported without a traceback."""


def positive_int(value: str) -> int:
    """An ``argparse`` type: an integer above 0."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def finite_float(value: str) -> float:
    """An ``argparse`` type: a finite number."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value!r}")
    return number


_positive_int, _finite_float = positive_int, finite_float

AddArguments = Callable[[argparse.ArgumentParser], None]
AddParser = Callable[[Any], argparse.ArgumentParser]


def plain_text(docstring: str) -> str:
    """A module docstring as ``--help`` prints it: reST literals and roles as plain text (backquotes dropped).

    >>> plain_text("``--split train``: fit on `Calibration` data")
    '--split train: fit on Calibration data'
    """
    return re.sub(r"``([^`]+)``|`([^`]+)`", lambda m: m.group(1) or m.group(2), docstring)


def subcommand(name: str, summary: str, description: str) -> Callable[[AddArguments], AddParser]:
    """A decorator that turns a subcommand's ``add_arguments(parser)`` into the ``add_parser(subparsers)`` of its
    `Command`: it adds the ``name`` parser (``summary`` in ``rankwise --help``, ``description`` in its own
    ``--help``), lets the decorated function add the arguments, and returns the parser.

    >>> @subcommand("hello", "say hello", "Say hello to --name.")
    ... def add_parser(parser): parser.add_argument("--name")
    >>> add_parser(argparse.ArgumentParser().add_subparsers()).parse_args(["--name", "you"]).name
    'you'
    """

    def decorate(add_arguments: AddArguments) -> AddParser:
        def add_parser(commands: Any) -> argparse.ArgumentParser:
            parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=description)
            add_arguments(parser)
            return parser

        add_parser.__doc__ = f"The ``{name}`` parser."
        return add_parser

    return decorate


def add_model_option(parser: argparse.ArgumentParser, help: str = "model spec (default: embedded)") -> None:
    """``--model``/``-m``: one model spec, ``embedded`` unless given."""
    parser.add_argument("--model", "-m", default="embedded", help=help)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: no bar even on a terminal (`show_progress`)."""
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (one is drawn only when stderr is a terminal)"
    )


def open_input(name: str) -> IO[bytes] | IO[str]:
    """``name`` opened as bytes (``-`` = standard input); a missing file or a folder is an `InputError`.

    Bytes, so that `rankwise.json_lines.text_lines` can name the line of an invalid UTF-8 byte.
    """
    if name == "-":
        return getattr(sys.stdin, "buffer", sys.stdin)
    path = Path(name)
    if path.is_dir():
        raise InputError(f"input {name} is a directory: give a JSON Lines file (or - for standard input)")
    if not path.is_file():
        raise InputError(f"input file {name} does not exist")
    return path.open("rb")


def read_documents(
    handle: Iterable[bytes] | Iterable[str], *, text_field: str, source: str = "<stdin>"
) -> list[dict[str, Any]]:
    """JSON objects, one per non-blank line, each with a string ``text_field``; errors name the line."""
    try:
        records = list(json_objects(text_lines(handle, source), source))
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


def input_documents(args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    """The JSON Lines documents of ``args.file`` (``-`` = stdin), with the name to cite in errors."""
    source = "<stdin>" if args.file == "-" else args.file
    handle = open_input(args.file)
    try:
        return source, read_documents(handle, text_field=args.text_field, source=source)
    finally:
        if args.file != "-":
            handle.close()


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (multi-line library messages collapsed), for stderr.

    >>> one_line(OSError("no such model\\n  see the docs"))
    'no such model see the docs'
    """
    return " ".join(str(exc).split()) or type(exc).__name__


def show_progress(enabled: bool = True) -> bool:
    """Whether to draw a progress bar: only when asked for and stderr is a terminal (never when piped).

    When the answer is no, the Hugging Face libraries' own bars (model loading) are switched
    off too, through ``HF_HUB_DISABLE_PROGRESS_BARS``, unless the user set it.
    """
    isatty = getattr(sys.stderr, "isatty", None)
    shown = enabled and callable(isatty) and bool(isatty())
    if not shown:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return shown


def progress_bar(total: int, desc: str, unit: str) -> Any:
    """A tqdm bar on stderr (``pip install 'rankwise[eval]'`` provides tqdm)."""
    from rankwise._optional import require

    tqdm = require("tqdm", extra="eval", purpose="the progress bar of the rankwise command line").tqdm
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)


def cache_options(cache_dir: str | None, model: str) -> dict[str, Any] | None:
    """``backend_options`` that give the bi-encoder an on-disk embedding store (none when ``model`` has no
    bi-encoder: options for a kind the spec does not use are an error)."""
    from rankwise.spec import parse_spec

    if not cache_dir or "bi-encoder" not in parse_spec(model).kinds:
        return None
    return {"bi-encoder": {"embedding_cache_dir": cache_dir}}
