"""Read a ranking such as ``[2] > [1] > [3]`` out of an LLM's answer, without losing a document."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BRACKETED = re.compile(r"\[\s*(-?\d+)\s*\]")
_BARE_LIST = re.compile(r"^\s*-?\d+(\s*(?:>|,|;|\s)\s*-?\d+)*\s*\.?\s*$")
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class ParsedPermutation:
    """The outcome of parsing one answer for a window of ``n`` passages.

    ``order`` is always a permutation of ``range(n)`` (0-based positions in the
    window, best first): every passage exactly once. ``parsed`` is False when the
    answer held no usable identifier; ``order`` is then the window's own order.

    >>> p = parse_permutation("[2] > [9] > [2] > [1]", 3)
    >>> p.order, p.missing, p.duplicates, p.out_of_range
    ((1, 0, 2), (2,), 1, (9,))
    """

    order: tuple[int, ...]
    parsed: bool
    missing: tuple[int, ...] = ()  # 0-based positions appended, in their previous order
    duplicates: int = 0  # identifiers named again after their first mention (dropped)
    out_of_range: tuple[int, ...] = ()  # identifiers as written (1-based) that name no passage (ignored)

    @property
    def clean(self) -> bool:
        """True when the answer named every passage exactly once and nothing else."""
        return self.parsed and not (self.missing or self.duplicates or self.out_of_range)


def identifiers(answer: str) -> list[int]:
    """The 1-based identifiers an answer names, in order, as written.

    Bracketed identifiers (``[3]``) win when there are any, so prose such as
    "the 3 passages ranked: [2] > [1] > [3]" reads as 2, 1, 3; a bare list
    (``2 > 1 > 3`` or ``2, 1, 3``) is accepted when the whole answer is one.

    >>> identifiers("Ranking of the 3 passages: [2] > [1] > [3]. Done.")
    [2, 1, 3]
    >>> identifiers("2 > 3 > 1")
    [2, 3, 1]
    >>> identifiers("I cannot rank these 2 passages.")
    []
    """
    bracketed = _BRACKETED.findall(answer)
    if bracketed:
        return [int(x) for x in bracketed]
    if _BARE_LIST.match(answer):
        return [int(x) for x in _INTEGER.findall(answer)]
    return []


def parse_permutation(answer: str | None, n: int) -> ParsedPermutation:
    """Turn an answer into a full ordering of ``n`` passages (identifiers ``[1]`` … ``[n]``).

    Identifiers missing from the answer are appended in their previous order,
    repeats are dropped, out-of-range ones (including ``[0]`` and negatives,
    which never wrap around) are ignored. No passage is ever lost or duplicated.

    >>> parse_permutation("[3] > [1]", 4).order
    (2, 0, 1, 3)
    >>> parse_permutation("no idea", 3).order
    (0, 1, 2)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    seen: dict[int, None] = {}
    duplicates = 0
    out_of_range: list[int] = []
    for ident in identifiers(answer or ""):
        position = ident - 1
        if not 0 <= position < n:
            out_of_range.append(ident)
        elif position in seen:
            duplicates += 1
        else:
            seen[position] = None
    if not seen:
        return ParsedPermutation(
            tuple(range(n)), parsed=n == 0, missing=(), duplicates=duplicates, out_of_range=tuple(out_of_range)
        )
    missing = tuple(p for p in range(n) if p not in seen)
    return ParsedPermutation((*seen, *missing), True, missing, duplicates, tuple(out_of_range))
