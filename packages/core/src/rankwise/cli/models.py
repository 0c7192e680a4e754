"""``rankwise models``: the known model spec kinds."""

from __future__ import annotations

import argparse
from typing import IO, Any

from rankwise.cli._common import EXIT_OK, Command


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``models`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser("models", help="list the known model spec kinds")
    return parser


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """List every spec kind with its description."""
    from rankwise.backends.registry import known_kinds

    kinds = known_kinds()
    width = max(map(len, kinds), default=0)
    out.write(f"{'embedded':<{width}}  alias: all-MiniLM-L6-v2 cosine fused with first-stage scores (or BM25)\n")
    for kind, description in kinds.items():
        out.write(f"{kind:<{width}}  {description}\n")
    return EXIT_OK


COMMAND = Command("models", add_parser, run)
