"""sentence-transformers bi-encoders (``bi-encoder:<hub id or local path>``): cosine similarity."""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import require
from rankwise.backends.base import LocalModel, Normalization
from rankwise.backends.encoders.cross_encoder_modes import warn_if_bf16_is_emulated
from rankwise.backends.encoders.embedding_store import EmbeddingStore
from rankwise.backends.encoders.model_identity import model_fingerprint
from rankwise.backends.encoders.model_source import quiet_progress_bars, resolve_model_source
from rankwise.backends.encoders.onnx_bi_encoder import OnnxSentenceEncoder
from rankwise.cpu_features import native_bf16
from rankwise.score_kind import ScoreKind

Vectors = npt.NDArray[np.float32]
# `BiEncoderBackend.cut_to_tokens` returns texts up to this many characters per token of max_length whole
# (a token of a BERT WordPiece vocabulary averages 4-5 characters of English; 16 leaves room for long words).
WHOLE_CHARS_PER_TOKEN = 16


def _check_options(precision: str, runtime: str, embedding_cache_size: int) -> None:
    """A clear ``ValueError`` for an option the bi-encoder does not take, before anything loads."""
    if precision not in ("fp32", "bf16", "auto"):
        raise ValueError(f"the bi-encoder runs precision 'fp32', 'bf16' or 'auto', got {precision!r}")
    if runtime not in ("torch", "onnx"):
        raise ValueError(f"the bi-encoder runtime is 'torch' or 'onnx', got {runtime!r}")
    if embedding_cache_size < 1:
        raise ValueError(f"embedding_cache_size must be at least 1, got {embedding_cache_size}")


class BiEncoderBackend(LocalModel):
    """Cosine similarity between the query's and each text's embedding, in [-1, 1].

    Each distinct text is encoded once: embeddings are kept in an LRU keyed by
    text (``embedding_cache_size`` entries), so repeated documents, and documents
    warmed ahead of time with `warm`, cost a dot product. With
    ``embedding_cache_dir`` they are also persisted on disk (sqlite, keyed by
    the model's content fingerprint and the text's hash, see
    `rankwise.backends.encoders.embedding_store`), so documents warmed by one
    process are never encoded again by the next:
    ``Reranker(backend_options={"bi-encoder": {"embedding_cache_dir": DIR}})``.

    ``runtime="torch"`` (the default) encodes with sentence-transformers;
    ``runtime="onnx"`` exports the model once to ONNX and encodes with ONNX
    Runtime in fp32 (same numbers within 1e-4 cosine, and loading a cached export
    imports neither torch nor sentence-transformers, see
    `rankwise.backends.encoders.onnx_bi_encoder`). With torch,
    ``precision="bf16"`` runs the matrix multiplies in bfloat16; ``"auto"`` picks
    bf16 on a CPU with native bf16 (AVX512-BF16, AMX) and fp32 elsewhere. The ONNX
    runtime is fp32 whatever ``"auto"`` would pick. ``revision`` pins a hub
    model's revision (part of every cache key).

    >>> backend = BiEncoderBackend("path/to/all-MiniLM-L6-v2", runtime="onnx")  # doctest: +SKIP
    >>> backend.score("cats", ["a cat purrs", "stock prices"])  # doctest: +SKIP
    [0.61, 0.02]
    >>> BiEncoderBackend.score_kind
    'similarity'
    """

    default_normalization: Normalization = "none"
    score_kind: ScoreKind = "similarity"
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
        runtime: str = "torch",
        revision: str | None = None,
        num_threads: int | None = None,
        onnx_cache_dir: str | os.PathLike[str] | None = None,
        **model_kwargs: Any,
    ) -> None:
        _check_options(precision, runtime, embedding_cache_size)
        # a missing directory or an unreachable hub id: a clear error now, as for cross-encoders
        source = resolve_model_source(model, kind="bi-encoder", revision=revision)
        model_kwargs = {**source.load_kwargs(), **model_kwargs}
        self.name = f"bi-encoder:{model}"
        self.batch_size = batch_size
        self.query_prefix, self.document_prefix = query_prefix, document_prefix
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = embedding_cache_size
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._cuts: OrderedDict[str, str] = OrderedDict()
        self._budget: int | None = None
        self._lock = threading.Lock()
        self._encoding_one = threading.local()
        self._onnx: OnnxSentenceEncoder | None = None
        self.model: Any = None
        if runtime == "onnx":
            self._onnx = _onnx_encoder(
                model, device, precision, max_length, num_threads, onnx_cache_dir, revision, model_kwargs
            )
        self.runtime = "onnx" if self._onnx is not None else "torch"
        if self._onnx is not None:
            self.max_length, self.precision = self._onnx.max_length, "fp32"
        else:
            self._load_torch(model, device, max_length, precision, revision, model_kwargs)
        self._store = (
            None
            if embedding_cache_dir is None
            else EmbeddingStore(
                embedding_cache_dir,
                model_key=model_fingerprint(
                    model,
                    self.max_length,
                    document_prefix,
                    self.precision,
                    revision=revision,
                    hub_cache=model_kwargs.get("cache_folder"),
                ),
            )
        )

    def _load_torch(
        self,
        model: str,
        device: str | None,
        max_length: int,
        precision: str,
        revision: str | None,
        model_kwargs: dict[str, Any],
    ) -> None:
        st = require("sentence_transformers", extra="bi-encoder", purpose="the bi-encoder backend")
        if revision is not None:
            model_kwargs["revision"] = revision
        with quiet_progress_bars():
            self.model = st.SentenceTransformer(model, device=device, **model_kwargs)
        model_limit = self.model.max_seq_length or max_length
        self.model.max_seq_length = min(max_length, model_limit)
        self.max_length = self.model.max_seq_length
        if precision == "auto":
            # bf16 only where the CPU multiplies it in hardware (emulated it is slower than fp32); never on GPUs
            precision = "bf16" if self.model.device.type == "cpu" and native_bf16() else "fp32"
        elif precision == "bf16":
            warn_if_bf16_is_emulated(self.model.device.type)  # asked for explicitly: say once if it runs emulated
        self.precision = precision

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if self.precision == "bf16":
            torch = require("torch", extra="bi-encoder", purpose="the bi-encoder backend")
            with torch.autocast(device_type=self.model.device.type, dtype=torch.bfloat16):
                return self._encode_fp32(texts)
        return self._encode_fp32(texts)

    def _encode_fp32(self, texts: Sequence[str]) -> Vectors:
        if self._onnx is not None:
            single = bool(getattr(self._encoding_one, "active", False))
            return self._onnx.encode(list(texts), batch_size=self.batch_size, single_thread=single)
        vectors: Vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Unit-length embeddings of ``texts``, from the caches where possible.

        Every vector this call returns is held by the call itself, never looked up again in the LRU
        after new entries went in: a full LRU evicts the least recently *used* entries (reads refresh
        them), and never breaks a call.
        """
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in unique:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
        missing = [t for t in unique if t not in found]
        new: dict[str, Vectors] = {}
        if missing and self._store is not None:
            new.update(self._store.get_many(missing))
            missing = [t for t in missing if t not in new]
        if missing:
            fresh = dict(zip(missing, self._encode([self.document_prefix + t for t in missing]), strict=True))
            if self._store is not None:
                self._store.put_many(fresh)
            new.update(fresh)
        if new:
            with self._lock:
                for text, vector in new.items():
                    self._cache[text] = vector
                    self._cache.move_to_end(text)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            found.update(new)
        return np.stack([found[t] for t in texts])

    def warm(self, texts: Sequence[str]) -> None:
        """Encode and cache ``texts`` ahead of the queries that will need them."""
        self.embed_documents(texts)

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        documents = self.embed_documents(texts)
        return [float(s) for s in documents @ self._query_vector(query)]

    def cut_to_tokens(self, text: str) -> str:
        """A prefix of ``text`` that the model reads exactly as it reads ``text``: its first ``max_length`` tokens.

        Cut by the model's own tokenizer, so characters it drops (zero-width spaces, control characters)
        cost nothing. A text of at most `WHOLE_CHARS_PER_TOKEN` characters per token of ``max_length`` is
        returned whole, untokenized: the encoder's own truncation then reads the same first tokens (the
        engine cuts every candidate on every call, and tokenizing 100 abstracts took longer than the rest
        of a warm rerank). A longer text is tokenized a window at a time, never whole.

        >>> backend = BiEncoderBackend("path/to/all-MiniLM-L6-v2", max_length=8)  # doctest: +SKIP
        >>> backend.cut_to_tokens("\u200b " * 300 + "cats purr at night and sleep all day long")  # doctest: +SKIP
        '\u200b \u200b ... cats purr at night and sleep all'
        """
        if len(text) <= WHOLE_CHARS_PER_TOKEN * self.max_length:
            return text
        with self._lock:
            known = self._cuts.get(text)
        if known is not None:
            return known
        budget = self._token_budget()
        cut = ""
        window = max(64, 8 * budget)
        while budget > 0:
            ends = self._token_ends(text[:window])
            if len(ends) > budget:
                cut = text[: ends[budget - 1]]
                break
            if window >= len(text):
                cut = text
                break
            window *= 2
        with self._lock:
            self._cuts[text] = cut
            while len(self._cuts) > 4096:
                self._cuts.popitem(last=False)
        return cut

    def _token_budget(self) -> int:
        """Tokens of a document the model reads: ``max_length`` less the special tokens and the prefix's."""
        if self._budget is None:
            self._budget = self.max_length - self._special_tokens() - len(self._token_ends(self.document_prefix))
        return self._budget

    def _special_tokens(self) -> int:
        if self._onnx is not None:
            return len(self._onnx.tokenizer.encode("").ids)
        return int(self.model.tokenizer.num_special_tokens_to_add(pair=False))

    def _token_ends(self, text: str) -> list[int]:
        """End offsets (in characters) of the tokens of ``text``, special tokens excluded."""
        if not text:
            return []
        if self._onnx is not None:
            return self._onnx.token_ends(text)
        else:
            offsets = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
                "offset_mapping"
            ]
        return [int(end) for _, end in offsets]

    def _encode_one(self, text: str) -> Vectors:
        """One short text on one thread: on a busy CPU, two threads made a 25 ms query encode take 500 ms."""
        if self._onnx is not None:
            self._encoding_one.active = True  # per thread: _encode_fp32 then takes the one-thread session
            try:
                one: Vectors = self._encode([text])[0]
            finally:
                self._encoding_one.active = False
            return one
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


def _onnx_encoder(
    model: str,
    device: str | None,
    precision: str,
    max_length: int,
    num_threads: int | None,
    onnx_cache_dir: str | os.PathLike[str] | None,
    revision: str | None,
    model_kwargs: dict[str, Any],
) -> OnnxSentenceEncoder | None:
    """The ONNX runtime's encoder, or ``None`` (with a warning) when its export cannot be cached: then torch."""
    if precision == "bf16":
        raise ValueError("the ONNX bi-encoder runtime is fp32: use precision 'fp32' (or runtime 'torch' for bf16)")
    if device not in (None, "cpu"):
        raise ValueError(f"the ONNX bi-encoder runtime runs on the CPU, not {device!r}: use runtime 'torch'")
    try:
        return OnnxSentenceEncoder(
            model,
            max_length=max_length,
            num_threads=num_threads,
            onnx_cache_dir=onnx_cache_dir,
            revision=revision,
            trust_remote_code=bool(model_kwargs.get("trust_remote_code", False)),
        )
    except OSError as exc:  # an unwritable cache directory: still answer, on torch
        warnings.warn(
            f"the ONNX bi-encoder export of {model!r} could not be cached ({exc}); running on torch instead"
            " (set onnx_cache_dir to a writable directory)",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
