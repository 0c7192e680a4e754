"""Prompts to token ids for the T5 and causal-LM backends: fitting documents, naming target tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("rankwise")


def target_token_id(tokenizer: Any, token: str) -> int:
    """The vocabulary id of the single token the model is read at (``"true"``, ``"yes"``, ``"1"``).

    The text is encoded as the tokenizer would encode it (so ``"true"`` is T5's
    ``"▁true"`` and ``" yes"`` a BPE vocabulary's ``"Ġyes"``); if that gives more than
    one token, the text without surrounding spaces, then an exact vocabulary entry,
    are tried.
    """
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) == 1:
        return int(ids[0])
    stripped = tokenizer(token.strip(), add_special_tokens=False)["input_ids"]
    if len(stripped) == 1:  # " yes" for a SentencePiece vocab, whose "yes" already means "▁yes"
        return int(stripped[0])
    exact = tokenizer.convert_tokens_to_ids(token)
    if isinstance(exact, int) and exact != tokenizer.unk_token_id:
        return exact
    raise ValueError(
        f"the target token {token!r} is {len(ids)} tokens for this tokenizer, not one: "
        f"pick a token of its vocabulary (e.g. {tokenizer.convert_ids_to_tokens(ids[:1])})"
    )


def _caps(lengths: Sequence[int], overflow: int) -> list[int]:
    """New lengths removing at least ``overflow`` tokens, taken from the longest documents first."""
    if overflow <= 0:
        return list(lengths)
    lo, hi = 0, max(lengths, default=0)
    while lo < hi:  # the largest cap that removes enough
        mid = (lo + hi + 1) // 2
        if sum(max(0, n - mid) for n in lengths) >= overflow:
            lo = mid
        else:
            hi = mid - 1
    return [min(n, lo) for n in lengths]


def encode_fitted(
    tokenizer: Any,
    render: Callable[..., str],
    documents: Sequence[str],
    max_tokens: int,
    *,
    add_special_tokens: bool,
) -> list[int]:
    """Token ids of ``render(*documents)``, the documents cut so the whole prompt fits ``max_tokens``.

    Only the documents are shortened (longest first, at token boundaries), so the
    instruction and the words the model answers after ("Relevant:") survive. If
    the prompt without any document is already too long (a very long query), it
    is returned whole and a warning is logged.
    """
    ids: list[int] = tokenizer(render(*documents), add_special_tokens=add_special_tokens)["input_ids"]
    if len(ids) <= max_tokens:
        return ids
    pieces = [tokenizer(d, add_special_tokens=False)["input_ids"] for d in documents]
    lengths = [len(p) for p in pieces]
    for _ in range(8):  # decoding and re-encoding can shift a token or two: converge
        lengths = _caps(lengths, len(ids) - max_tokens)
        cut = [tokenizer.decode(p[:n]) if n else "" for p, n in zip(pieces, lengths, strict=True)]
        ids = tokenizer(render(*cut), add_special_tokens=add_special_tokens)["input_ids"]
        if len(ids) <= max_tokens or not any(lengths):
            break
    if len(ids) > max_tokens:
        logger.warning(
            "prompt has %d tokens without its documents' excess, more than max_length=%d", len(ids), max_tokens
        )
    return ids


def pad_left(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    """Left-pad token rows to one length; returns ``(input_ids, attention_mask)``.

    >>> pad_left([[5, 6], [7]], 0)
    ([[5, 6], [0, 7]], [[1, 1], [0, 1]])
    """
    width = max((len(r) for r in rows), default=0)
    ids = [[pad_id] * (width - len(r)) + list(r) for r in rows]
    mask = [[0] * (width - len(r)) + [1] * len(r) for r in rows]
    return ids, mask


def pad_right(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    """Right-pad token rows to one length; returns ``(input_ids, attention_mask)``.

    >>> pad_right([[5, 6], [7]], 0)
    ([[5, 6], [7, 0]], [[1, 1], [1, 0]])
    """
    width = max((len(r) for r in rows), default=0)
    ids = [list(r) + [pad_id] * (width - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    return ids, mask


def default_device(torch: Any, device: str | None) -> str:
    """``device`` if given, else ``cuda`` when available, else ``cpu``."""
    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_template(template: str, fields: Sequence[str]) -> None:
    """Fail early, naming the placeholders a prompt template lacks.

    >>> check_template("Query: {query}", ["{query}", "{document}"])
    Traceback (most recent call last):
    ...
    ValueError: the prompt template 'Query: {query}' lacks {document}
    """
    if not isinstance(template, str):
        raise TypeError(f"a prompt template must be a str, got {type(template).__name__}")
    missing = [f for f in fields if f not in template]
    if missing:
        raise ValueError(f"the prompt template {template!r} lacks {', '.join(missing)}")
