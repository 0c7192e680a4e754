"""Dynamic batching: concurrent score calls share backend calls, and the scores stay the backend's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from serve_support import CORPUS

from rankwise import Reranker
from rankwise.serve import BatchingBackend


class Recording:
    """Word overlap, recording every call it gets (a real backend, not a mock)."""

    name = "recording"
    default_normalization = "none"
    max_length = 64

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        with self.lock:
            self.calls.append((query, list(texts)))
        time.sleep(self.delay)
        words = set(query.split())
        return [len(words & set(t.split())) + len(t) / 1000 for t in texts]


class RecordingPairs(Recording):
    """Scores pairs of different queries in one call."""

    def __init__(self) -> None:
        super().__init__()
        self.pair_calls: list[list[tuple[str, str]]] = []

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.pair_calls.append(list(pairs))
        return [len(set(q.split()) & set(t.split())) + len(t) / 1000 for q, t in pairs]


def concurrently(backend: BatchingBackend, calls: list[tuple[str, list[str]]]) -> list[list[float]]:
    results: list[list[float]] = [[] for _ in calls]
    barrier = threading.Barrier(len(calls))

    def one(i: int) -> None:
        barrier.wait()
        results[i] = backend.score(*calls[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_same_query_calls_are_merged_into_one_backend_call() -> None:
    inner = Recording(delay=0.05)
    batched = BatchingBackend(inner, max_wait_ms=200, max_batch_pairs=1000)
    calls = [("cats purr", CORPUS[i : i + 3]) for i in range(6)]
    results = concurrently(batched, calls)
    batched.close()
    assert results == [Recording().score(q, t) for q, t in calls]
    assert len(inner.calls) < len(calls)  # at least two of the six shared a call
    scored = [t for _, texts in inner.calls for t in texts]
    assert len(scored) == len(set(scored))  # each distinct text scored once per batch


def test_pairs_of_different_queries_share_one_call() -> None:
    inner = RecordingPairs()
    batched = BatchingBackend(inner, max_wait_ms=300, max_batch_pairs=10_000)
    calls = [(f"query {i} cats", CORPUS) for i in range(8)]
    results = concurrently(batched, calls)
    batched.close()
    assert results == [Recording().score(q, t) for q, t in calls]
    assert inner.calls == []
    assert len(inner.pair_calls) < len(calls)
    assert sum(len(p) for p in inner.pair_calls) == len(calls) * len(CORPUS)


def test_batches_never_exceed_max_batch_pairs_by_more_than_one_call() -> None:
    inner = RecordingPairs()
    batched = BatchingBackend(inner, max_wait_ms=300, max_batch_pairs=10)
    concurrently(batched, [(f"q{i}", CORPUS[:4]) for i in range(8)])
    batched.close()
    assert max(len(p) for p in inner.pair_calls) <= 10 + 4 - 1


def test_bi_encoder_texts_are_embedded_once_per_batch(minilm_path: str) -> None:
    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend

    inner = BiEncoderBackend(minilm_path)
    encoded: list[int] = []
    original = inner._encode

    def counting(texts: Sequence[str]):  # type: ignore[no-untyped-def]
        encoded.append(len(texts))
        return original(texts)

    inner._encode = counting  # type: ignore[method-assign]
    batched = BatchingBackend(inner, max_wait_ms=300, max_batch_pairs=10_000)
    assert batched.strategy == "embeddings"
    calls = [(f"cats {i}", CORPUS) for i in range(4)]
    results = concurrently(batched, calls)
    batched.close()
    reference = BiEncoderBackend(minilm_path)
    for (query, texts), got in zip(calls, results, strict=True):
        assert got == pytest.approx(reference.score(query, texts), abs=1e-5)
    document_encodes = [n for n in encoded if n > 1]
    assert sum(document_encodes) == len(CORPUS)  # 4 requests, each distinct document encoded once


def test_errors_reach_every_call_of_the_failing_group() -> None:
    class Failing(Recording):
        def score(self, query: str, texts: Sequence[str]) -> list[float]:
            raise RuntimeError("model crashed")

    batched = BatchingBackend(Failing(), max_wait_ms=50)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            batched.score("q", ["a"])
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batched.close()
    assert len(errors) == 3
    assert all("model crashed" in str(e) for e in errors)
    with pytest.raises(RuntimeError, match="closed"):
        batched.score("q", ["a"])


def test_set_dependent_backends_pass_through_and_attributes_are_the_inner_ones() -> None:
    reranker = Reranker("lexical").load()
    (lexical,) = reranker.backends
    batched = BatchingBackend(lexical)
    assert batched.strategy == "pass-through"
    assert batched.set_dependent is True
    assert batched.name == lexical.name
    assert batched.score("cats", ["cats purr", "dogs"]) == lexical.score("cats", ["cats purr", "dogs"])
    assert not hasattr(batched, "ascore")
    assert Recording().max_length == BatchingBackend(Recording()).max_length


def test_a_reranker_over_the_wrapper_gives_the_same_results(tiny_cross_encoder: str) -> None:
    plain = Reranker(f"cross-encoder:{tiny_cross_encoder}").load()
    (backend,) = plain.backends
    wrapped = Reranker(BatchingBackend(backend, max_wait_ms=1))
    assert [(r.index, r.score) for r in wrapped.rerank("cats purr", CORPUS)] == [
        (r.index, r.score) for r in plain.rerank("cats purr", CORPUS)
    ]


@pytest.mark.parametrize(("pairs", "wait"), [(0, 1.0), (10, -1.0)])
def test_bad_settings_are_refused(pairs: int, wait: float) -> None:
    with pytest.raises(ValueError, match="max_"):
        BatchingBackend(Recording(), max_batch_pairs=pairs, max_wait_ms=wait)


class Overlapping(Recording):
    """Records how many calls (score or cut_to_tokens) run at once."""

    def __init__(self) -> None:
        super().__init__(delay=0.02)
        self.running = 0
        self.most = 0

    def _enter(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def _leave(self) -> None:
        with self.lock:
            self.running -= 1

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self._enter()
        try:
            return super().score(query, texts)
        finally:
            self._leave()

    def cut_to_tokens(self, text: str) -> str:
        self._enter()
        try:
            time.sleep(0.01)
            return text[:10]
        finally:
            self._leave()


@pytest.mark.parametrize("wrapper", ["serial", "batching"])
def test_model_and_tokenizer_calls_never_overlap(wrapper: str) -> None:
    """cut_to_tokens is hidden from the engine and applied by the wrapper, in the model's thread."""
    from rankwise.serve.batching import SerialBackend

    inner = Overlapping()
    backend = SerialBackend(inner) if wrapper == "serial" else BatchingBackend(inner, max_wait_ms=1)
    assert not hasattr(backend, "cut_to_tokens")
    barrier = threading.Barrier(12)
    results: dict[int, list[float]] = {}

    def one(i: int) -> None:
        barrier.wait()
        results[i] = backend.score(f"q{i} cats", CORPUS[:3])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if isinstance(backend, BatchingBackend):
        backend.close()
    assert inner.most == 1
    cut = [t[:10] for t in CORPUS[:3]]  # what the inner backend's cut_to_tokens keeps
    assert results == {i: Recording().score(f"q{i} cats", cut) for i in range(12)}


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_cross_encoder_requests_with_different_queries_share_pair_batches(
    runtime: str, tiny_cross_encoder: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Concurrent requests' pairs go through ``score_pairs`` together; each score is the in-process Reranker's."""
    import asyncio
    import json

    from rankwise.backends.base import BackendConfig
    from rankwise.backends.capabilities import PairScoring
    from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec
    from rankwise.serve import RerankService

    options: dict[str, object] = {"backend": runtime, "precision": "fp32"}
    if runtime == "onnx":
        options["onnx_cache_dir"] = str(tmp_path_factory.mktemp("onnx"))
    backend = cross_encoder_from_spec(tiny_cross_encoder, BackendConfig(max_length=128, options=options))
    assert isinstance(backend, PairScoring)
    calls: list[list[tuple[str, str]]] = []
    original = backend.score_pairs

    def recording(pairs: Sequence[tuple[str, str]]) -> Sequence[float]:
        calls.append(list(pairs))
        return original(pairs)

    backend.score_pairs = recording  # type: ignore[method-assign]
    service = RerankService(Reranker(backend), max_wait_ms=500, max_batch_pairs=10_000)
    requests = [
        (f"why do {w} cats purr", CORPUS[i % 3 :: 1 + i % 2]) for i, w in enumerate(["red", "big", "old", "sad", "wet"])
    ]
    bodies = [json.dumps({"model": "m", "query": q, "documents": d}).encode() for q, d in requests]

    async def all_at_once() -> list[object]:
        return await asyncio.gather(*(service.handle("POST", "/v2/rerank", {}, b) for b in bodies))

    replies = asyncio.run(all_at_once())
    service.close()
    reference = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=options)
    for (query, documents), reply in zip(requests, replies, strict=True):
        assert reply.status == 200  # type: ignore[attr-defined]
        got = {r["index"]: r["relevance_score"] for r in json.loads(reply.body)["results"]}  # type: ignore[attr-defined]
        # torch: at most 6.3e-7 away over every order and split of these requests into batches; ONNX: 0
        assert [got[i] for i in range(len(documents))] == pytest.approx(reference.score(query, documents), abs=1e-6)
    assert len(calls) < len(requests)  # requests shared calls...
    assert max(len({q for q, _ in c}) for c in calls) > 1  # ...across different queries
    assert sum(len(c) for c in calls) == sum(len(d) for _, d in requests)


def test_the_service_batches_a_twin_and_leaves_the_given_reranker_unwrapped(tiny_cross_encoder: str) -> None:
    from rankwise.serve import RerankService

    given = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128).load()
    (model,) = given.backends
    service = RerankService(given, max_wait_ms=1)
    try:
        assert given.backends == [model]
        (served,) = service.reranker.backends
        assert served.inner.inner is model  # type: ignore[attr-defined]  # counted, then batched: the same model
        assert isinstance(served.inner, BatchingBackend)
        assert served.inner.strategy == "pairs"
        assert service.info()["batching"]["enabled"] is True
    finally:
        service.close()
