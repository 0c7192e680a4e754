"""Reading the text out of the caller's documents without touching them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

TextGetter = Callable[[Any], str]

# Attributes tried, in order, on objects that are neither str nor Mapping.
_TEXT_ATTRIBUTES = ("text", "page_content", "content")


def document_text(document: Any, index: int, *, text_field: str = "text", text_getter: TextGetter | None = None) -> str:
    """The text of one document: a ``str``, a mapping's ``text_field``, or an object's text attribute.

    >>> document_text({"id": 7, "body": "hello"}, 0, text_field="body")
    'hello'
    """
    if text_getter is not None:
        text = text_getter(document)
    elif isinstance(document, str):
        text = document
    elif document is None:
        raise TypeError(f"document at index {index} is None; expected a str, a mapping or an object with text")
    elif isinstance(document, Mapping):
        if text_field not in document:
            raise TypeError(
                f"document at index {index} is a mapping without the text field {text_field!r} "
                f"(its keys: {sorted(map(str, document))[:10]}); pass text_field=... to name it"
            )
        text = document[text_field]
    else:
        names = (text_field, *(a for a in _TEXT_ATTRIBUTES if a != text_field))
        for name in names:
            if hasattr(document, name):
                text = getattr(document, name)
                break
        else:
            raise TypeError(
                f"document at index {index} is a {type(document).__name__} with no text: "
                f"expected a str, a mapping with {text_field!r}, or an object with one of {list(names)}"
            )
    if not isinstance(text, str):
        raise TypeError(f"document at index {index} has text of type {type(text).__name__}, expected str")
    check_encodable(text, f"document at index {index}")
    return text


def check_encodable(text: str, what: str) -> None:
    """A ``ValueError`` naming ``what`` when ``text`` cannot be encoded as UTF-8 (a lone surrogate such as ``"\\ud800"``).

    >>> check_encodable("caf\u00e9", "the query")
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} is not valid Unicode text: a lone surrogate {text[exc.start]!r} at character {exc.start} "
            "(decode your input with errors='replace' or fix its encoding)"
        ) from None


def document_texts(
    documents: Sequence[Any], *, text_field: str = "text", text_getter: TextGetter | None = None
) -> list[str]:
    """The texts of all documents, in order; a ``TypeError`` names the first bad index."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a sequence (list or tuple) of documents, got {type(documents).__name__}")
    return [document_text(d, i, text_field=text_field, text_getter=text_getter) for i, d in enumerate(documents)]
