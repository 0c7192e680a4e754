"""JSON Lines input, shared by the CLI and the BEIR reader: one JSON object per non-blank line.

Every failure is a ``ValueError`` naming the source and the 1-based line: invalid UTF-8,
invalid JSON, JSON nested too deeply for the parser, anything but an object. A UTF-8 byte
order mark before the first line is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

BOM = "\ufeff"


def text_lines(handle: Iterable[bytes] | Iterable[str], source: str) -> Iterator[str]:
    """The lines of a binary (or text) stream decoded as UTF-8; a bad byte names its line and column.

    >>> list(text_lines([b'{"a": 1}\\n', b"\\xef\\xbb\\xbfx"], "f.jsonl"))
    ['{"a": 1}\\n', '\\ufeffx']
    >>> list(text_lines([b"ok\\n", b"caf\\xe9\\n"], "f.jsonl"))
    Traceback (most recent call last):
    ...
    ValueError: f.jsonl, line 2: not valid UTF-8 (byte 0xe9 at column 4); re-encode the file as UTF-8
    """
    lines: Iterable[bytes | str] = handle
    for number, line in enumerate(lines, start=1):
        if isinstance(line, str):
            yield line
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{source}, line {number}: not valid UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                "re-encode the file as UTF-8"
            ) from None


def json_objects(lines: Iterable[str], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; anything but a JSON object raises ValueError.

    The error names ``source`` and the 1-based line, so a user can find the bad record.
    A byte order mark at the start of line 1 is skipped.

    >>> list(json_objects(['\\ufeff{"a": 1}\\n', "\\n", '{"b": 2}\\n'], "docs.jsonl"))
    [(1, {'a': 1}), (3, {'b': 2})]
    >>> list(json_objects(["[1, 2]"], "docs.jsonl"))
    Traceback (most recent call last):
    ...
    ValueError: docs.jsonl, line 1: expected a JSON object, got list
    """
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(BOM):
            line = line[1:]
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}, line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise ValueError(f"{source}, line {number}: JSON nested too deeply to read; flatten the record") from None
        if not isinstance(record, dict):
            raise ValueError(f"{source}, line {number}: expected a JSON object, got {type(record).__name__}")
        yield number, record
