"""A `Reranker`'s settings, checked once, and what follows from them: the backend config, the engine, a fallback's.

>>> s = RerankerSettings(batch_size=8)
>>> s.backend_config().batch_size, s.engine().batch_size, RerankerSettings().engine().batch_size
(8, 8, 32)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rankwise.backends.base import BackendConfig, Normalization
from rankwise.backends.registry import known_kinds
from rankwise.cache import ScoreCache
from rankwise.chunking import LongDocuments, chunk_words
from rankwise.documents import TextGetter
from rankwise.engine import Engine
from rankwise.normalize import NORMALIZATIONS
from rankwise.spec import ModelSpec
from rankwise.validation import one_of, optional_positive_int, positive_int

#: Texts per ``score`` call when neither the caller nor the backend says (``max_batch_size``).
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class RerankerSettings:
    """Everything a `Reranker` is configured with besides its model (see `Reranker` for each field).

    ``batch_size=None`` lets each backend use its own measured default (16 pairs per forward pass
    for cross-encoders on a CPU); an explicit value is passed on unchanged.
    """

    device: str | None = None
    batch_size: int | None = None
    max_length: int = 512
    normalize: Normalization | None = None
    text_field: str = "text"
    text_getter: TextGetter | None = None
    long_documents: LongDocuments = "truncate"
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    cache_size: int = 10_000
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float | None = None
    max_concurrency: int = 8
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    trace_content: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch_size", optional_positive_int("batch_size", self.batch_size))
        object.__setattr__(self, "max_length", positive_int("max_length", self.max_length))
        object.__setattr__(self, "max_concurrency", positive_int("max_concurrency", self.max_concurrency))
        if self.normalize is not None:
            one_of("normalize", self.normalize, (*NORMALIZATIONS, None))
        one_of("long_documents", self.long_documents, ("truncate", "chunk"))
        if not isinstance(self.backend_options, Mapping):
            raise TypeError(f"backend_options must be a dict, got {type(self.backend_options).__name__}")
        size, overlap = self.chunking
        chunk_words("", size, overlap)  # validates the pair now, not at first use
        ScoreCache(self.cache_size)  # validates cache_size

    @property
    def chunking(self) -> tuple[int, int]:
        """``(chunk_size, chunk_overlap)`` in words; by default 60% of ``max_length`` and a quarter of that."""
        size = self.chunk_size if self.chunk_size is not None else max(16, int(self.max_length * 0.6))
        return size, self.chunk_overlap if self.chunk_overlap is not None else size // 4

    def backend_config(self) -> BackendConfig:
        return BackendConfig(
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
        )

    def engine(self) -> Engine:
        size, overlap = self.chunking
        return Engine(
            cache=ScoreCache(self.cache_size),
            batch_size=self.batch_size or DEFAULT_BATCH_SIZE,
            long_documents=self.long_documents,
            chunk_size=size,
            chunk_overlap=overlap,
            max_concurrency=self.max_concurrency,
        )

    def for_fallback(self, primary: ModelSpec, fallback: ModelSpec) -> RerankerSettings:
        """The settings a fallback given as a spec string inherits.

        Everything is inherited except what could reach the wrong service: ``api_key`` and
        ``base_url`` only when the fallback uses the same backend kinds as the primary (a Cohere
        key is never sent to Jina); flat ``backend_options`` only when both use the same single
        kind; options keyed by kind go to whichever of the two uses that kind.
        """
        same_kinds = set(primary.kinds) == set(fallback.kinds)
        options = dict(self.backend_options)
        kinds = known_kinds()
        if options and all(k in kinds for k in options):
            options = {k: v for k, v in options.items() if k in fallback.kinds}
        elif not (same_kinds and len(fallback.kinds) == 1):
            options = {}
        return replace(
            self,
            api_key=self.api_key if same_kinds else None,
            base_url=self.base_url if same_kinds else None,
            backend_options=options,
        )
