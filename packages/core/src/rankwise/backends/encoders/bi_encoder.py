"""sentence-transformers bi-encoders (``bi-encoder:<hub id or local path>``): cosine similarity."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import require
from rankwise.backends.base import BackendConfig, Normalization, local_model_kwargs
from rankwise.backends.encoders.embedding_store import EmbeddingStore
from rankwise.backends.encoders.model_identity import model_fingerprint

Vectors = npt.NDArray[np.float32]


class BiEncoderBackend:
    """Cosine similarity between the query's and each text's embedding, in [-1, 1].

    Each distinct text is encoded once: embeddings are kept in an LRU keyed by
    text (``embedding_cache_size`` entries), so repeated documents, and documents
    warmed ahead of time with `warm`, cost a dot product. With
    ``embedding_cache_dir`` they are also persisted on disk (sqlite, keyed by
    model and text hash, see `rankwise.backends.encoders.embedding_store`), so documents
    warmed by one process are never encoded again by the next:
    ``Reranker(backend_options={"bi-encoder": {"embedding_cache_dir": DIR}})``.
    ``precision="bf16"`` runs the encoder's matrix multiplies in bfloat16;
    ``"auto"`` picks bf16 on a CPU with native bf16 (AVX512-BF16, AMX) and fp32
    elsewhere (the embedded default uses ``auto``: same SciFact nDCG@10, about
    twice as fast to encode, see docs/benchmarks.md).

    >>> backend = BiEncoderBackend("path/to/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> backend.score("cats", ["a cat purrs", "stock prices"])  # doctest: +SKIP
    [0.61, 0.02]
    """

    default_normalization: Normalization = "none"
    # Texts per ``score`` call: ``encode`` batches by itself, and each call would otherwise re-encode the query.
    max_batch_size = 512

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 512,
        embedding_cache_size: int = 100_000,
        query_prefix: str = "",
        document_prefix: str = "",
        embedding_cache_dir: str | os.PathLike[str] | None = None,
        precision: str = "fp32",
        **model_kwargs: Any,
    ) -> None:
        st = require("sentence_transformers", extra="bi-encoder", purpose="the bi-encoder backend")
        self.name = f"bi-encoder:{model}"
        self.model = st.SentenceTransformer(model, device=device, **model_kwargs)
        model_limit = self.model.max_seq_length or max_length
        self.model.max_seq_length = min(max_length, model_limit)
        self.max_length = self.model.max_seq_length
        self.batch_size = batch_size
        self.query_prefix, self.document_prefix = query_prefix, document_prefix
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = embedding_cache_size
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        if precision not in ("fp32", "bf16", "auto"):
            raise ValueError(f"the bi-encoder runs precision 'fp32', 'bf16' or 'auto', got {precision!r}")
        if precision == "auto":
            precision = "bf16" if _native_bf16(self.model.device.type) else "fp32"
        self.precision = precision
        self._store = (
            None
            if embedding_cache_dir is None
            else EmbeddingStore(
                embedding_cache_dir,
                model_key=model_fingerprint(model, self.max_length, document_prefix, precision),
            )
        )

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> BiEncoderBackend:
        return cls(model, **local_model_kwargs(config))

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if self.precision == "bf16":
            torch = require("torch", extra="bi-encoder", purpose="the bi-encoder backend")
            with torch.autocast(device_type=self.model.device.type, dtype=torch.bfloat16):
                return self._encode_fp32(texts)
        return self._encode_fp32(texts)

    def _encode_fp32(self, texts: Sequence[str]) -> Vectors:
        vectors: Vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Unit-length embeddings of ``texts``, from the cache where possible."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        stored = self._store.get_many(missing) if self._store is not None and missing else {}
        if stored:
            with self._lock:
                self._cache.update(stored)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            missing = [t for t in missing if t not in stored]
        if missing:
            fresh = self._encode([self.document_prefix + t for t in missing])
            if self._store is not None:
                self._store.put_many(dict(zip(missing, fresh, strict=True)))
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
                found = {t: self._cache[t] for t in texts if t in self._cache}
            found.update(stored)
            found.update(zip(missing, fresh, strict=True))
        else:
            with self._lock:
                found = {t: self._cache[t] for t in texts if t in self._cache}
            found.update(stored)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def warm(self, texts: Sequence[str]) -> None:
        """Encode and cache ``texts`` ahead of the queries that will need them."""
        self.embed_documents(texts)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        documents = self.embed_documents(texts)
        return [float(s) for s in documents @ self._query_vector(query)]

    def _encode_one(self, text: str) -> Vectors:
        """One short text on one thread: on a busy CPU, two threads made a 25 ms query encode take 500 ms."""
        torch = require("torch", extra="bi-encoder", purpose="the bi-encoder backend")
        threads = torch.get_num_threads()
        if threads > 1 and self.model.device.type == "cpu":
            torch.set_num_threads(1)
            try:
                vector: Vectors = self._encode([text])[0]
                return vector
            finally:
                torch.set_num_threads(threads)
        only: Vectors = self._encode([text])[0]
        return only

    def _query_vector(self, query: str) -> Vectors:
        """The query's embedding, kept for the last few queries (one query's texts may come in several calls)."""
        with self._lock:
            vector = self._queries.get(query)
        if vector is None:
            vector = self._encode_one(self.query_prefix + query)
            with self._lock:
                self._queries[query] = vector
                while len(self._queries) > 64:
                    self._queries.popitem(last=False)
        return vector


def _native_bf16(device_type: str) -> bool:
    """Whether ``precision="auto"`` should pick bf16: a CPU with native bf16 (AVX512-BF16 or AMX).

    Without native support bf16 is emulated and slower than fp32, so ``auto`` stays fp32 there (and on GPUs,
    where the caller knows best).
    """
    if device_type != "cpu":
        return False
    torch = require("torch", extra="bi-encoder", purpose="the bi-encoder backend")
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
