"""The ``rankwise`` command line; one module per subcommand, registered in `COMMANDS`.

To add a subcommand, write ``rankwise/cli/<name>.py`` defining ``COMMAND = Command(name, add_parser, run)``
(see `rankwise.cli._common.Command`; import heavy modules inside ``run``) and add ONE line to `SUBCOMMANDS`.

>>> build_parser().parse_args(["rerank", "--query", "cats", "docs.jsonl"]).top_n is None
True
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rankwise.cli._common import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, Command, InputError, one_line, read_documents
from rankwise.errors import MissingDependencyError, RankwiseError, UnknownModelSpecError

# The registration hook: one module per line, in the order `rankwise --help` lists them.
SUBCOMMANDS: list[str] = [
    "rankwise.cli.rerank",
    "rankwise.cli.evaluate",
    "rankwise.cli.warm",
    "rankwise.cli.models",
    "rankwise.cli.compare",
    "rankwise.cli.train",
    "rankwise.calibration.cli",
    "rankwise.serve.cli",
    "rankwise.ray.cli",
]

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "SUBCOMMANDS",
    "Command",
    "InputError",
    "build_parser",
    "commands",
    "main",
    "read_documents",
]


def commands() -> dict[str, Command]:
    """Every registered subcommand by name (each module of `SUBCOMMANDS` imported)."""
    loaded = [importlib.import_module(name).COMMAND for name in SUBCOMMANDS]
    return {command.name: command for command in loaded}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="rankwise", description="Rerank documents with any model, and evaluate it.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands().values():
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad input or arguments)."""
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        return commands()[args.command].run(args, out)
    except (InputError, UnknownModelSpecError, FileNotFoundError) as exc:
        print(f"rankwise {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, TypeError, RecursionError) as exc:  # argument values rejected by the library (a bad text)
        print(f"rankwise {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MissingDependencyError, RankwiseError) as exc:
        print(f"rankwise {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `rankwise rerank ... | head`
        return EXIT_OK
    except OSError as exc:  # a model path or hub id that cannot be loaded, an unreadable file
        print(f"rankwise {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
