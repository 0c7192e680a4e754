"""Model specs (``kind:model``) and the backend classes they name, imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from rankwise.backends.base import Backend, BackendConfig
from rankwise.errors import UnknownModelSpecError


@dataclass(frozen=True)
class _Kind:
    target: str  # "module:attribute" of a factory ``(model: str, config: BackendConfig) -> Backend``
    needs_model: bool
    help: str


_KINDS: dict[str, _Kind] = {
    "cross-encoder": _Kind(
        "rankwise.backends.encoders.cross_encoder_factory:cross_encoder_from_spec",
        True,
        "sentence-transformers cross-encoder, hub id or local path (backend_options: backend='torch'|'onnx')",
    ),
    "bi-encoder": _Kind(
        "rankwise.backends.encoders.bi_encoder:BiEncoderBackend.from_spec",
        True,
        "sentence-transformers bi-encoder, cosine similarity of embeddings",
    ),
    "lexical": _Kind(
        "rankwise.backends.lexical:LexicalBackend.from_spec",
        False,
        "BM25 (bm25s) over the candidate documents",
    ),
    "monot5": _Kind(
        "rankwise.backends.t5.monot5:MonoT5Backend.from_spec",
        True,
        "MonoT5 pointwise, P(true) of 'Query: … Document: … Relevant:'",
    ),
    "duot5": _Kind(
        "rankwise.backends.t5.duot5:DuoT5Backend.from_spec",
        True,
        "DuoT5 pairwise over a first pass's top-k (backend_options: first_pass, top_k)",
    ),
    "yesno": _Kind(
        "rankwise.backends.llm.yesno:YesNoBackend.from_spec",
        True,
        "causal-LM yes/no pointwise (backend_options: preset='qwen3-reranker'|'bge-reranker-v2-gemma'|…)",
    ),
    "listwise": _Kind(
        "rankwise.backends.llm.listwise:ListwiseBackend.from_spec",
        True,
        "RankGPT sliding-window listwise LLM via an OpenAI-compatible endpoint or llm=callable",
    ),
    # rerank APIs (docs/providers/): api_key=/base_url=/timeout= on the Reranker, retries in rankwise.retry
    "cohere": _Kind(
        "rankwise.backends.api.cohere:CohereBackend.from_spec", True, "Cohere Rerank, e.g. cohere:rerank-v3.5"
    ),
    "voyage": _Kind(
        "rankwise.backends.api.voyage:VoyageBackend.from_spec", True, "Voyage AI Rerank, e.g. voyage:rerank-2.5"
    ),
    "jina": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.jina",
        True,
        "Jina AI Reranker API, e.g. jina:jina-reranker-v2-base-multilingual",
    ),
    "mixedbread": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.mixedbread",
        True,
        "Mixedbread Rerank API, e.g. mixedbread:mixedbread-ai/mxbai-rerank-large-v2",
    ),
    "nvidia": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.nvidia",
        True,
        "NVIDIA NeMo Retriever reranking (API catalog or a NIM at base_url)",
    ),
    "pinecone": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.pinecone",
        True,
        "Pinecone Inference rerank, e.g. pinecone:bge-reranker-v2-m3",
    ),
    "tei": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.tei",
        False,
        "Hugging Face Text Embeddings Inference /rerank at base_url",
    ),
    "vllm": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.vllm", True, "vLLM /v1/rerank at base_url, vllm:<served model>"
    ),
    "infinity": _Kind(
        "rankwise.backends.api.http_rerank:FACTORY.infinity", True, "Infinity /rerank at base_url, infinity:<model>"
    ),
}


def register_kind(kind: str, target: str, *, needs_model: bool = True, help: str = "") -> None:
    """Register a backend kind: ``target`` is ``"module:factory"``, imported on first use.

    >>> register_kind("my-kind", "json:loads", help="an example")
    >>> "my-kind" in known_kinds()
    True
    """
    _KINDS[kind] = _Kind(target, needs_model, help)


def known_kinds() -> dict[str, str]:
    """The known spec kinds and what each one is."""
    return {kind: k.help for kind, k in sorted(_KINDS.items())}


def split_spec(spec: str) -> tuple[str, str]:
    """Split ``"kind:model"`` into its parts; ``"lexical"`` has an empty model.

    >>> split_spec("cross-encoder:BAAI/bge-reranker-base")
    ('cross-encoder', 'BAAI/bge-reranker-base')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelSpecError(f"a model spec must be a non-empty string, got {spec!r}")
    kind, sep, model = spec.strip().partition(":")
    known = ", ".join(sorted(_KINDS))
    if kind not in _KINDS:
        raise UnknownModelSpecError(
            f"unknown model spec {spec!r}: the kind {kind!r} is not one of {known} "
            f"(write 'kind:model', e.g. 'cross-encoder:BAAI/bge-reranker-base')"
        )
    if _KINDS[kind].needs_model and not (sep and model.strip()):
        raise UnknownModelSpecError(f"model spec {spec!r} names no model: write '{kind}:<hub id or path>'")
    return kind, model.strip()


def _resolve(target: str) -> Callable[[str, BackendConfig], Backend]:
    module_name, _, attr_path = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    return obj  # type: ignore[return-value]


def create_backend(spec: str, config: BackendConfig | None = None) -> Backend:
    """Build the backend a single spec names (imports its module now, not before)."""
    kind, model = split_spec(spec)
    factory = _resolve(_KINDS[kind].target)
    return factory(model, config or BackendConfig())
