"""Haystack end to end: BM25 retriever -> RankwiseRanker -> RankwiseLostInTheMiddleRanker, run, run_async, YAML."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from haystack import Document, Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.core.serialization_security import DEFAULT_ALLOWED_MODULES
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import Secret

from haystack_integrations.components.rankers.rankwise import RankwiseLostInTheMiddleRanker, RankwiseRanker
from rankwise import BackendError, Reranker, lost_in_the_middle

from .conftest import CORPUS, QUERY

RANKER_TYPE = "haystack_integrations.components.rankers.rankwise.ranker.RankwiseRanker"
API_SERVER = Path(__file__).resolve().parents[1] / "packages" / "core" / "tests" / "api" / "rerank_api_server.py"
API_KEY = "it-secret-key-3141"


@pytest.fixture(scope="module")
def store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents([Document(content=text, id=doc_id, meta=dict(meta)) for doc_id, text, meta in CORPUS])
    return store


def build(store: InMemoryDocumentStore, spec: str) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=8))
    pipeline.add_component("ranker", RankwiseRanker(model=spec, top_k=4))
    pipeline.add_component("reorder", RankwiseLostInTheMiddleRanker())
    pipeline.connect("retriever.documents", "ranker.documents")
    pipeline.connect("ranker.documents", "reorder.documents")
    return pipeline


def inputs() -> dict[str, dict[str, str]]:
    return {"retriever": {"query": QUERY}, "ranker": {"query": QUERY}}


def pairs(docs: list[Document]) -> list[tuple[str, float | None]]:
    return [(d.id, d.score) for d in docs]


def expected(store: InMemoryDocumentStore, reranker: Reranker) -> list[tuple[str, float]]:
    """The core alone on what the BM25 retriever returns, its BM25 scores as first-stage scores unless the
    reranker is calibrated (Haystack's BM25 is not on the scale a calibration was fitted on)."""
    retrieved = InMemoryBM25Retriever(document_store=store, top_k=8).run(query=QUERY)["documents"]
    assert len(retrieved) == 5  # BM25 returns the documents that share a word with the query
    scores = [float(d.score) for d in retrieved if d.score is not None]
    first_stage = None if reranker.calibration is not None else scores
    results = reranker.rerank(QUERY, [d.content or "" for d in retrieved], top_n=4, first_stage_scores=first_stage)
    return lost_in_the_middle([(retrieved[r.index].id, r.score) for r in results])


async def test_pipeline_run_and_run_async(store: InMemoryDocumentStore, spec: str, reranker: Reranker) -> None:
    pipeline = build(store, spec)
    out = pipeline.run(inputs())["reorder"]["documents"]
    want = expected(store, reranker)
    assert [d for d, _ in pairs(out)] == [d for d, _ in want]
    assert [s for _, s in pairs(out)] == pytest.approx([s for _, s in want])
    for doc in out:  # content and meta are the store's; only the score and its kind are new
        meta = {k: v for k, v in doc.meta.items() if k != "score_kind"}
        assert (doc.content, meta) == next((t, m) for i, t, m in CORPUS if i == doc.id)
        assert doc.meta["score_kind"] == reranker.rerank(QUERY, ["x"])[0].score_kind
    assert pairs((await pipeline.run_async(inputs()))["reorder"]["documents"]) == pairs(out)


def test_yaml_round_trip_with_the_default_allow_list(store: InMemoryDocumentStore, spec: str) -> None:
    assert "haystack_integrations" in DEFAULT_ALLOWED_MODULES
    assert not os.environ.get("HAYSTACK_DESERIALIZATION_ALLOWLIST")
    assert not os.environ.get("HAYSTACK_UNSAFE_DESERIALIZATION")
    pipeline = build(store, spec)
    yaml = pipeline.dumps()
    assert RANKER_TYPE in yaml
    loaded = Pipeline.loads(yaml)  # no allowed_modules, no unsafe=True
    ranker = loaded.get_component("ranker")
    assert isinstance(ranker, RankwiseRanker)
    assert (ranker.model, ranker.top_k) == (spec, 4)
    before, after = pipeline.to_dict(), loaded.to_dict()
    assert after["components"] == before["components"]
    assert sorted(map(str, after["connections"])) == sorted(map(str, before["connections"]))  # order is Haystack's
    # an InMemoryDocumentStore serialises its settings, not its documents: give the loaded retriever ours
    loaded.get_component("retriever").document_store = store
    assert pairs(loaded.run(inputs())["reorder"]["documents"]) == pairs(pipeline.run(inputs())["reorder"]["documents"])


@pytest.fixture(scope="module")
def rerank_api() -> Iterator[Any]:
    """The core tests' real HTTP server on 127.0.0.1 speaking Cohere's wire format (checks the bearer key)."""
    spec = importlib.util.spec_from_file_location("rankwise_it_rerank_api_server", API_SERVER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {API_SERVER}")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclasses look it up
    spec.loader.exec_module(module)
    with module.FakeRerankServer(key=API_KEY) as server:
        yield server


async def test_api_backend_with_an_env_secret_through_yaml(
    store: InMemoryDocumentStore, rerank_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANKWISE_IT_COHERE_KEY", API_KEY)
    ranker = RankwiseRanker(
        model="cohere:rerank-v3.5",
        top_k=3,
        api_key=Secret.from_env_var("RANKWISE_IT_COHERE_KEY"),
        reranker_kwargs={"base_url": rerank_api.base_url("cohere")},
    )
    pipeline = Pipeline()
    pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=8))
    pipeline.add_component("ranker", ranker)
    pipeline.connect("retriever.documents", "ranker.documents")
    yaml = pipeline.dumps()
    assert API_KEY not in yaml
    assert "RANKWISE_IT_COHERE_KEY" in yaml

    loaded = Pipeline.loads(yaml)
    loaded.get_component("retriever").document_store = store
    out = loaded.run(inputs())["ranker"]["documents"]
    retrieved = InMemoryBM25Retriever(document_store=store, top_k=8).run(query=QUERY)["documents"]
    core = Reranker("cohere:rerank-v3.5", api_key=API_KEY, base_url=rerank_api.base_url("cohere"), cache_size=0)
    want = core.rerank(QUERY, [d.content or "" for d in retrieved], top_n=3)
    assert pairs(out) == [(retrieved[r.index].id, r.score) for r in want]
    assert rerank_api.requests[-1].headers.get("Authorization") == f"Bearer {API_KEY}"
    assert pairs((await loaded.run_async(inputs()))["ranker"]["documents"]) == pairs(out)

    monkeypatch.setenv("RANKWISE_IT_COHERE_KEY", "a-wrong-key")
    with pytest.raises(BackendError, match="401"):  # the key really is the env var's, read at warm-up
        RankwiseRanker.from_dict(ranker.to_dict()).run(query=QUERY, documents=retrieved)
