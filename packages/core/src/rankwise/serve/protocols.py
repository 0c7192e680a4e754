"""The wire formats `rankwise serve` speaks: how each provider's request reads and its answer (or error) looks.

Four request shapes on three paths:

============================ ============ =====================================================
path                         protocol     request → response
============================ ============ =====================================================
``POST /v2/rerank``          ``cohere``   Cohere v2: ``{model, query, documents: [str], top_n,
                                          max_tokens_per_doc}`` → ``{id, results: [{index,
                                          relevance_score}], meta}``
``POST /v1/rerank``          ``v1``       Cohere v1 *and* Jina / vLLM (the same request shape):
                                          ``{model, query, documents: [str | {text}], top_n,
                                          return_documents}`` → ``{id, model, results: [{index,
                                          relevance_score, document: {text}}], meta, usage}``
``POST /rerank`` + ``texts`` ``tei``      Text Embeddings Inference: ``{query, texts, raw_scores,
                                          return_text, truncate}`` → ``[{index, score, text?}]``
``POST /rerank`` + ``documents`` ``infinity`` Infinity: ``{query, documents, top_n,
                                          return_documents, raw_scores}`` → ``{object: "rerank",
                                          results, model, usage, id, created}``
============================ ============ =====================================================

Cohere v1 and Jina (and vLLM, whose ``/v1/rerank`` copies Jina's) send the same
request, so one answer serves all of them: it carries every field each client reads
(Cohere's ``id``/``meta``, Jina's ``model``/``usage``) and each client ignores the
others'. The one difference, whether ``document`` comes back when the request does
not say, follows Jina (yes): the Cohere SDK always sends ``return_documents`` when the
caller sets it, and treats ``document`` as optional when it is there anyway. Errors on
that path carry Cohere's ``message`` and Jina's ``detail``.

>>> call = parse("tei", {"query": "q", "texts": ["a", "b"], "return_text": True})
>>> render(call, [Scored(1, 0.9, "b"), Scored(0, 0.1, "a")], model="m", request_id="r")
[{'index': 1, 'score': 0.9, 'text': 'b'}, {'index': 0, 'score': 0.1, 'text': 'a'}]
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rankwise.validation import positive_int

Protocol = Literal["cohere", "v1", "tei", "infinity"]
PROTOCOLS: tuple[Protocol, ...] = ("cohere", "v1", "tei", "infinity")


class RequestError(ValueError):
    """A request the server refuses; ``status`` is the HTTP status to answer with (400, 401, 413, 422, 504...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RerankCall:
    """One rerank request, read from any protocol.

    ``documents`` are the texts to score; ``originals`` what the client sent for each
    (a string or, for Cohere v1 / Jina, an object), returned as ``document`` when asked.
    """

    protocol: Protocol
    query: str
    documents: list[str]
    originals: list[Any]
    top_n: int | None = None
    return_documents: bool = False
    raw_scores: bool = False
    truncate: bool = True
    max_tokens_per_doc: int | None = None
    model: str | None = None


@dataclass(frozen=True)
class Scored:
    """One ranked document: its position in the request, its score, its text."""

    index: int
    score: float
    text: str


# ---------------------------------------------------------------------------- reading requests
def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(422, f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def _string(body: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise RequestError(422, f"missing required field {key!r}")
        return None
    if not isinstance(value, str):
        raise RequestError(422, f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _flag(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(422, f"{key!r} must be true or false, got {value!r}")
    return value


def _positive(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return positive_int(repr(key), value)
    except ValueError as exc:
        raise RequestError(422, str(exc)) from None


def _document_text(document: Any, index: int, rank_fields: Sequence[str] | None) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, dict):
        if rank_fields:
            missing = [f for f in rank_fields if not isinstance(document.get(f), str)]
            if missing:
                raise RequestError(422, f"documents[{index}] has no string field(s) {missing} named in rank_fields")
            return "\n".join(f"{f}: {document[f]}" for f in rank_fields)
        text = document.get("text")
        if isinstance(text, str):
            return text
    raise RequestError(
        422, f"documents[{index}] must be a string or an object with a string 'text' field, got {str(document)[:80]!r}"
    )


def _documents(body: Mapping[str, Any], key: str, *, objects: bool) -> tuple[list[str], list[Any]]:
    values = body.get(key)
    if values is None:
        raise RequestError(422, f"missing required field {key!r}")
    if not isinstance(values, list):
        raise RequestError(422, f"{key!r} must be a list of strings, got {type(values).__name__}")
    rank_fields = body.get("rank_fields") if objects else None
    if rank_fields is not None and (
        not isinstance(rank_fields, list) or not all(isinstance(f, str) for f in rank_fields)
    ):
        raise RequestError(422, "'rank_fields' must be a list of field names")
    if not objects:
        bad = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
        if bad is not None:
            raise RequestError(422, f"{key}[{bad}] must be a string, got {type(values[bad]).__name__}")
        return list(values), list(values)
    return [_document_text(v, i, rank_fields) for i, v in enumerate(values)], list(values)


def parse(protocol: Protocol, body: Any) -> RerankCall:
    """Read a request body (decoded JSON) of ``protocol``; raises `RequestError` (422) when it is malformed.

    >>> parse("cohere", {"model": "m", "query": "q", "documents": ["a"], "top_n": 1}).top_n
    1
    >>> parse("cohere", {"query": "q", "documents": [1]})
    Traceback (most recent call last):
    ...
    rankwise.serve.protocols.RequestError: documents[0] must be a string, got int
    """
    data = _object(body)
    query = _string(data, "query")
    assert query is not None
    model = _string(data, "model", required=False)
    if protocol == "tei":
        texts, originals = _documents(data, "texts", objects=False)
        return RerankCall(
            "tei",
            query,
            texts,
            originals,
            return_documents=_flag(data, "return_text", False),
            raw_scores=_flag(data, "raw_scores", False),
            truncate=_flag(data, "truncate", False),
            model=model,
        )
    if protocol == "infinity":
        texts, originals = _documents(data, "documents", objects=False)
        return RerankCall(
            "infinity",
            query,
            texts,
            originals,
            top_n=_positive(data, "top_n"),
            return_documents=_flag(data, "return_documents", False),
            raw_scores=_flag(data, "raw_scores", False),
            model=model,
        )
    if protocol == "cohere":
        texts, originals = _documents(data, "documents", objects=False)
        return RerankCall(
            "cohere",
            query,
            texts,
            originals,
            top_n=_positive(data, "top_n"),
            max_tokens_per_doc=_positive(data, "max_tokens_per_doc"),
            model=model,
        )
    texts, originals = _documents(data, "documents", objects=True)
    return RerankCall(
        "v1",
        query,
        texts,
        originals,
        top_n=_positive(data, "top_n"),
        return_documents=_flag(data, "return_documents", True),
        model=model,
    )


def protocol_of(path: str, body: Any) -> Protocol | None:
    """Which protocol a POST to ``path`` speaks; ``/rerank`` is TEI with ``texts``, Infinity with ``documents``."""
    if path == "/v2/rerank":
        return "cohere"
    if path == "/v1/rerank":
        return "v1"
    if path == "/rerank":
        return "infinity" if isinstance(body, dict) and "documents" in body and "texts" not in body else "tei"
    return None


# ---------------------------------------------------------------------------- writing answers
def _words(text: str) -> int:
    return len(text.split())


def search_units(documents: int) -> int:
    """Cohere bills one search unit per query with up to 100 documents."""
    return max(1, math.ceil(documents / 100))


def render(call: RerankCall, ranked: Sequence[Scored], *, model: str, request_id: str) -> Any:
    """The response body (JSON-ready) for ``ranked`` results, best first, already cut to ``top_n``."""
    if call.protocol == "tei":
        return [
            {"index": r.index, "score": r.score, **({"text": r.text} if call.return_documents else {})} for r in ranked
        ]
    tokens = _words(call.query) * len(call.documents) + sum(_words(d) for d in call.documents)
    if call.protocol == "infinity":
        return {
            "object": "rerank",
            "results": [
                {"relevance_score": r.score, "index": r.index, "document": r.text if call.return_documents else None}
                for r in ranked
            ],
            "model": call.model or model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            "id": request_id,
            "created": int(time.time()),
        }
    meta = {
        "api_version": {"version": "2" if call.protocol == "cohere" else "1"},
        "billed_units": {"search_units": search_units(len(call.documents))},
    }
    if call.protocol == "cohere":
        return {
            "id": request_id,
            "results": [{"index": r.index, "relevance_score": r.score} for r in ranked],
            "meta": meta,
        }
    results = []
    for r in ranked:
        item: dict[str, Any] = {"index": r.index, "relevance_score": r.score}
        if call.return_documents:
            original = call.originals[r.index]
            item["document"] = original if isinstance(original, dict) else {"text": original}
        results.append(item)
    return {
        "id": request_id,
        "model": call.model or model,
        "results": results,
        "meta": meta,
        "usage": {"total_tokens": tokens, "prompt_tokens": tokens},
    }


_TEI_ERROR_TYPES = {401: "Validation", 413: "Validation", 422: "Validation", 424: "Backend", 429: "Overloaded"}
_OPENAI_ERROR_TYPES = {401: "AuthenticationError", 413: "BadRequestError", 422: "BadRequestError", 504: "TimeoutError"}


def error_body(protocol: Protocol | None, status: int, message: str, *, request_id: str) -> Any:
    """An error in ``protocol``'s own shape.

    - Cohere v2: ``{"id", "message"}`` (what the ``cohere`` SDK reads into ``ApiError.body``);
    - ``/v1/rerank``: Cohere's ``{"id", "message"}`` plus Jina's (FastAPI's) ``{"detail"}``;
    - TEI: ``{"error", "error_type"}`` (``Validation`` for 413/422, ``Backend`` for 424...);
    - Infinity: OpenAI's ``{"error": {"message", "type", "param", "code"}}``.

    >>> error_body("tei", 413, "batch size 40 > maximum allowed batch size 32", request_id="r")
    {'error': 'batch size 40 > maximum allowed batch size 32', 'error_type': 'Validation'}
    """
    if protocol == "tei" or protocol is None:
        return {"error": message, "error_type": _TEI_ERROR_TYPES.get(status, "Backend")}
    if protocol == "infinity":
        kind = _OPENAI_ERROR_TYPES.get(status, "InternalServerError")
        return {"error": {"message": message, "type": kind, "param": None, "code": status}}
    if protocol == "v1":
        return {"id": request_id, "message": message, "detail": message}
    return {"id": request_id, "message": message}
