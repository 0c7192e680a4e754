"""The Cohere-style HTTP rerank APIs, each described in a few lines: where, how to ask, how to read the answer.

`rankwise.backends.api.http_rerank.HttpRerankBackend` does the rest (keys, retries,
splitting, checking indices) the same way for all of them. Wire formats follow
each provider's API reference; see ``docs/providers/`` for sources and caps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rankwise.report import ApiUsage
from rankwise.score_kind import ScoreKind

Body = dict[str, Any]
Pairs = list[tuple[object, object]]
KeyPolicy = Literal["required", "hosted", "optional"]


@dataclass(frozen=True)
class Provider:
    """One HTTP rerank API.

    - ``base_url``: the hosted service (``None``: self-hosted only, ``base_url=`` required).
    - ``path``: endpoint under the base URL, or a function of the model (NVIDIA's hosted URLs).
    - ``self_hosted_path``: endpoint when the caller gives ``base_url`` (NVIDIA NIM), if different.
    - ``body``: ``(model, query, texts, options) -> JSON body``; ``parse``: JSON -> ``(index, score)`` pairs.
    - ``cap``: documents per request (the provider's limit); ``None``: the Reranker's ``batch_size``.
    - ``key``: ``"required"``, ``"hosted"`` (only without ``base_url``) or ``"optional"``.
    - ``score_kind``: what the raw scores are: ``"relevance"``, or ``"logit"`` (NVIDIA).

    >>> PROVIDERS["tei"].body("", "q", ["a"], {})
    {'query': 'q', 'texts': ['a'], 'raw_scores': False, 'truncate': False}
    """

    kind: str
    base_url: str | None
    path: str | Callable[[str], str]
    env_vars: tuple[str, ...]
    body: Callable[[str, str, Sequence[str], Mapping[str, Any]], Body]
    parse: Callable[[Any], Pairs]
    cap: int | Callable[[str], int] | None
    key: KeyPolicy = "required"
    self_hosted_path: str | None = None
    options: tuple[str, ...] = ()
    auth: Callable[[str], dict[str, str]] = field(default=lambda key: {"Authorization": f"Bearer {key}"})
    headers: Mapping[str, str] = field(default_factory=dict)
    score_kind: ScoreKind = "relevance"

    def url(self, model: str, base_url: str | None) -> str:
        """The endpoint URL for ``model``; a base URL ending in ``/v1`` is accepted for ``/v1/…`` paths."""
        if base_url is None:
            if self.base_url is None:
                raise ValueError(f"{self.kind}: a self-hosted server needs base_url=... (e.g. 'http://localhost:8080')")
            base, path = self.base_url, self.path
        else:
            base, path = base_url, self.self_hosted_path or self.path
        endpoint = path(model) if callable(path) else path
        base = base.rstrip("/")
        if endpoint.startswith("/v1/") and base.endswith("/v1"):
            base = base[: -len("/v1")]
        return base + endpoint

    def cap_for(self, model: str) -> int | None:
        return self.cap(model) if callable(self.cap) else self.cap


# ------------------------------------------------------------------ request bodies
def _extra(options: Mapping[str, Any], names: Sequence[str]) -> Body:
    return {name: options[name] for name in names if name in options}


def _cohere_style(model: str, query: str, texts: Sequence[str], options: Mapping[str, Any]) -> Body:
    body: Body = {"query": query, "documents": list(texts), "return_documents": False}
    if model:
        body["model"] = model
    return body


def _mixedbread(model: str, query: str, texts: Sequence[str], options: Mapping[str, Any]) -> Body:
    return {"model": model, "query": query, "input": list(texts), "return_input": False}


def _nvidia(model: str, query: str, texts: Sequence[str], options: Mapping[str, Any]) -> Body:
    return {
        "model": model,
        "query": {"text": query},
        "passages": [{"text": t} for t in texts],
        **_extra(options, ("truncate",)),
    }


def _pinecone(model: str, query: str, texts: Sequence[str], options: Mapping[str, Any]) -> Body:
    return {
        "model": model,
        "query": query,
        "documents": [{"text": t} for t in texts],
        "top_n": len(texts),
        "return_documents": False,
        **_extra(options, ("parameters",)),
    }


def _tei(model: str, query: str, texts: Sequence[str], options: Mapping[str, Any]) -> Body:
    return {
        "query": query,
        "texts": list(texts),
        "raw_scores": bool(options.get("raw_scores", False)),
        "truncate": bool(options.get("truncate", False)),
    }


# ------------------------------------------------------------------ response parsers
def _items(data: Any, key: str | None) -> list[Any]:
    items = data if key is None else data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        where = "a JSON list" if key is None else f"a JSON object with a {key!r} list"
        raise ValueError(f"expected {where} of result objects, got {str(data)[:200]!r}")
    return items


def _pairs(key: str | None, score: str) -> Callable[[Any], Pairs]:
    def parse(data: Any) -> Pairs:
        return [(item.get("index"), item.get(score)) for item in _items(data, key)]

    return parse


def usage_of(data: Any) -> ApiUsage | None:
    """What a response says the request cost: ``usage.total_tokens`` (Jina, Mixedbread, vLLM, Infinity) and
    ``usage.rerank_units`` (Pinecone's billed units); ``None`` without a ``usage`` object (TEI, NVIDIA).

    >>> usage_of({"results": [], "usage": {"total_tokens": 10, "prompt_tokens": 10}})
    ApiUsage(tokens=10, billed_units=None)
    """
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return None
    return ApiUsage.of(tokens=usage.get("total_tokens"), billed_units=usage.get("rerank_units"))


def _nvidia_hosted_path(model: str) -> str:
    # build.nvidia.com serves each reranker at its own URL; dots in the model id become underscores
    return f"/v1/retrieval/{model.replace('.', '_')}/reranking"


_PINECONE_CAPS = {"cohere-rerank-3.5": 200}  # bge-reranker-v2-m3 and pinecone-rerank-v0: 100

PROVIDERS: dict[str, Provider] = {
    p.kind: p
    for p in (
        Provider(
            kind="jina",
            base_url="https://api.jina.ai",
            path="/v1/rerank",
            env_vars=("JINA_API_KEY",),
            body=_cohere_style,
            parse=_pairs("results", "relevance_score"),
            cap=1000,
        ),
        Provider(
            kind="mixedbread",
            base_url="https://api.mixedbread.com",
            path="/v1/reranking",
            env_vars=("MXBAI_API_KEY",),
            body=_mixedbread,
            parse=_pairs("data", "score"),
            cap=1000,
        ),
        Provider(
            kind="nvidia",
            base_url="https://ai.api.nvidia.com",
            path=_nvidia_hosted_path,
            self_hosted_path="/v1/ranking",
            env_vars=("NVIDIA_API_KEY",),
            body=_nvidia,
            parse=_pairs("rankings", "logit"),
            cap=64,
            key="hosted",
            options=("truncate",),
            score_kind="logit",
        ),
        Provider(
            kind="pinecone",
            base_url="https://api.pinecone.io",
            path="/rerank",
            env_vars=("PINECONE_API_KEY",),
            body=_pinecone,
            parse=_pairs("data", "score"),
            cap=lambda model: _PINECONE_CAPS.get(model, 100),
            options=("parameters",),
            auth=lambda key: {"Api-Key": key},
            headers={"X-Pinecone-API-Version": "2025-01"},
        ),
        Provider(
            kind="tei",
            base_url=None,
            path="/rerank",
            env_vars=("TEI_API_KEY",),
            body=_tei,
            parse=_pairs(None, "score"),
            cap=32,  # TEI's default --max-client-batch-size
            key="optional",
            options=("raw_scores", "truncate"),
        ),
        Provider(
            kind="vllm",
            base_url=None,
            path="/v1/rerank",
            env_vars=("VLLM_API_KEY",),
            body=_cohere_style,
            parse=_pairs("results", "relevance_score"),
            cap=None,
            key="optional",
        ),
        Provider(
            kind="infinity",
            base_url=None,
            path="/rerank",
            env_vars=("INFINITY_API_KEY",),
            body=_cohere_style,
            parse=_pairs("results", "relevance_score"),
            cap=None,
            key="optional",
        ),
    )
}
