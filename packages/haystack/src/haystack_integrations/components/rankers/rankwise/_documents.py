"""Haystack `Document` in and out: the text the core scores, independent scored copies, option checks, spans,
and the components' serialisation."""

import copy
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Self

from haystack import Document, default_from_dict, default_to_dict
from haystack.tracing.tracer import Span, tracer

from rankwise.adapter_support import kind_key, not_bool
from rankwise.validation import optional_number, optional_positive_int

#: The ``meta`` key of the score's kind (``Document.score`` holds the score).
SCORE_KIND_KEY = kind_key("score")


def check_top_k(value: object) -> int | None:
    """``top_k`` as a Python int (numpy integers too); the error names ``top_k``, Haystack's name for ``top_n``."""
    return optional_positive_int("top_k", value)


def check_threshold(value: object) -> None:
    """A number (not a bool, not NaN) or ``None``, as the core checks it at each call."""
    optional_number("score_threshold", not_bool("score_threshold", value))


def text_of(doc: Document, index: int, meta_fields: list[str], separator: str) -> str:
    """``meta_fields`` values and ``content`` joined with ``separator``, as in Haystack's own rankers."""
    if not isinstance(doc, Document):
        raise TypeError(f"document at index {index} is a {type(doc).__name__}, expected a haystack Document")
    if doc.content is None:
        raise ValueError(f"document at index {index} (id {doc.id!r}) has no text content to rank")
    meta = [str(doc.meta[k]) for k in meta_fields if doc.meta.get(k) is not None]
    return separator.join([*meta, doc.content])


def scored_copy(doc: Document, score: float, kind: str) -> Document:
    """``doc`` with ``score`` set and its kind in ``meta``; meta, embeddings and blob are copies, not shared."""
    return dataclasses.replace(
        doc,
        score=score,
        meta={**copy.deepcopy(doc.meta), SCORE_KIND_KEY: kind},
        embedding=None if doc.embedding is None else list(doc.embedding),
        sparse_embedding=copy.deepcopy(doc.sparse_embedding),
        blob=copy.deepcopy(doc.blob),
    )


@contextmanager
def rerank_span(operation: str, tags: dict[str, Any]) -> Iterator[Span]:
    """A ``haystack.tracing`` span (a child of the component's run span); no-op while tracing is off."""
    with tracer.trace(operation, tags=tags) as span:
        yield span


class Settings:
    """`to_dict` and `from_dict` of a component whose init parameters are the attributes named in ``settings``.

    Haystack's ``default_to_dict`` serialises them (a `Secret` by its env var's name; a token `Secret` refuses).
    """

    settings: ClassVar[tuple[str, ...]]

    def to_dict(self) -> dict[str, Any]:
        """Serialise the settings."""
        return default_to_dict(self, **{name: getattr(self, name) for name in self.settings})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild the component from `to_dict` output."""
        return default_from_dict(cls, data)
