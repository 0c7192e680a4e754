"""Model specs (``kind:model``) and the backend classes they name, imported lazily; the plugin API.

Third-party backends register a kind with `register_kind`, or — without any code running first —
through an entry point in the ``rankwise.backends`` group of their package metadata::

    [project.entry-points."rankwise.backends"]
    my-kind = "my_package.backend:factory"      # or a BackendKind(...) object, for needs_model/help

after which ``Reranker("my-kind:some-model")`` works like a built-in kind.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from rankwise.backends.base import Backend, BackendConfig
from rankwise.errors import UnknownModelSpecError


@dataclass(frozen=True)
class _Kind:
    target: str  # "module:attribute" of a factory ``(model: str, config: BackendConfig) -> Backend``
    needs_model: bool
    help: str
    factory: Callable[[str, BackendConfig], Backend] | None = None  # given directly instead of a target


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


Factory = Callable[[str, BackendConfig], Backend]

#: The entry-point group third-party packages register backend kinds in (``kind = "module:attr"``).
ENTRY_POINT_GROUP = "rankwise.backends"


@dataclass(frozen=True)
class BackendKind:
    """What a plugin's entry point may point to when its kind needs no model name, or to give help text.

    An entry point may also point straight to a factory ``(model, config) -> Backend``: its kind then
    needs a model (``kind:model``) and has no help text.

    >>> BackendKind(lambda model, config: None, needs_model=False, help="an example").needs_model
    False
    """

    factory: Factory
    needs_model: bool = True
    help: str = ""


def register_kind(
    kind: str, target: str | Factory, *, needs_model: bool = True, help: str = "", replace: bool = False
) -> None:
    """Register a backend kind: ``target`` is a factory ``(model, config) -> Backend`` or ``"module:factory"``
    (imported on first use). Registering a kind that exists is an error unless ``replace=True``.

    >>> register_kind("my-kind", "json:loads", help="an example")
    >>> "my-kind" in known_kinds()
    True
    >>> unregister_kind("my-kind")
    """
    if not isinstance(kind, str) or not kind or any(c in kind for c in ":+*| "):
        raise ValueError(f"a backend kind is a non-empty name without ':', '+', '*', '|' or spaces, got {kind!r}")
    kinds = _kinds()
    with _LOCK:
        if kind in kinds and not replace:
            raise ValueError(f"backend kind {kind!r} is already registered; pass replace=True to override it")
        kinds[kind] = _Kind(
            target if isinstance(target, str) else "", needs_model, help, None if isinstance(target, str) else target
        )


def unregister_kind(kind: str) -> None:
    """Forget a registered kind (for tests and plugins that unload)."""
    with _LOCK:
        _kinds().pop(kind, None)


def known_kinds() -> dict[str, str]:
    """The known spec kinds (built in, registered, and from installed plugins) and what each one is."""
    return {kind: k.help for kind, k in sorted(_kinds().items())}


def split_spec(spec: str) -> tuple[str, str]:
    """Split ``"kind:model"`` into its parts; ``"lexical"`` has an empty model.

    >>> split_spec("cross-encoder:BAAI/bge-reranker-base")
    ('cross-encoder', 'BAAI/bge-reranker-base')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelSpecError(f"a model spec must be a non-empty string, got {spec!r}")
    kind, sep, model = spec.strip().partition(":")
    kinds = _kinds()
    if kind not in kinds:
        from rankwise.aliases import known_aliases

        aliases = known_aliases()
        close = difflib.get_close_matches(kind, [*kinds, *aliases], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownModelSpecError(
            f"unknown model spec {spec!r}: {hint}the kind {kind!r} is not one of {', '.join(sorted(kinds))}, "
            f"nor an alias ({', '.join(aliases)}) (write 'kind:model', e.g. 'cross-encoder:BAAI/bge-reranker-base')"
        )
    if kinds[kind].needs_model and not (sep and model.strip()):
        raise UnknownModelSpecError(f"model spec {spec!r} names no model: write '{kind}:<hub id or path>'")
    return kind, model.strip()


def _resolve(entry: _Kind) -> Factory:
    if entry.factory is not None:
        return entry.factory
    module_name, _, attr_path = entry.target.partition(":")
    obj: object = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    if isinstance(obj, BackendKind):
        return obj.factory
    return obj  # type: ignore[return-value]


def create_backend(spec: str, config: BackendConfig | None = None) -> Backend:
    """Build the backend a single spec names (imports its module now, not before)."""
    kind, model = split_spec(spec)
    return _resolve(_kinds()[kind])(model, config or BackendConfig())


_LOCK = threading.RLock()
_DISCOVERED = False


def _kinds() -> dict[str, _Kind]:
    """The registry, with installed plugins' entry points added the first time it is read."""
    global _DISCOVERED
    if not _DISCOVERED:
        with _LOCK:
            if not _DISCOVERED:
                for point in entry_points(group=ENTRY_POINT_GROUP):
                    if point.name not in _KINDS:
                        _KINDS[point.name] = _plugin_kind(point.value)
                _DISCOVERED = True
    return _KINDS


def _plugin_kind(target: str) -> _Kind:
    """A plugin's kind; a `BackendKind` target is read now (cheap: the plugin's own module) for its settings."""
    try:
        module_name, _, attr_path = target.partition(":")
        obj: object = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            obj = getattr(obj, attr)
    except Exception as exc:  # a broken plugin must not break rankwise: report it when its kind is used
        return _Kind(target, True, f"(plugin failed to load: {type(exc).__name__}: {exc})")
    if isinstance(obj, BackendKind):
        return _Kind(target, obj.needs_model, obj.help or f"plugin {target}", obj.factory)
    return _Kind(target, True, f"plugin {target}")
