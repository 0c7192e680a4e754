"""JSON Lines input, shared by the CLI and the BEIR reader: one JSON object per non-blank line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def json_objects(lines: Iterable[str], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; anything but a JSON object raises ValueError.

    The error names ``source`` and the 1-based line, so a user can find the bad record.

    >>> list(json_objects(['{"a": 1}\\n', "\\n", '{"b": 2}\\n'], "docs.jsonl"))
    [(1, {'a': 1}), (3, {'b': 2})]
    >>> list(json_objects(["[1, 2]"], "docs.jsonl"))
    Traceback (most recent call last):
    ...
    ValueError: docs.jsonl, line 1: expected a JSON object, got list
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}, line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{source}, line {number}: expected a JSON object, got {type(record).__name__}")
        yield number, record
