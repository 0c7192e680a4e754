"""Each T5/LLM family through every framework adapter, sync and async: the adapters add nothing but translation.

Tiny random T5 and Llama models are built locally; the listwise LLM is a scripted OpenAI-compatible server
on 127.0.0.1 reached through the real ``openai`` client.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rankwise import Reranker

FIXTURES = Path(__file__).resolve().parents[1] / "packages" / "core" / "tests" / "t5_llm" / "t5_llm_fixtures.py"


def _fixtures() -> ModuleType:
    if "t5_llm_fixtures" not in sys.modules:
        spec = importlib.util.spec_from_file_location("t5_llm_fixtures", FIXTURES)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["t5_llm_fixtures"] = module
        spec.loader.exec_module(module)
    return sys.modules["t5_llm_fixtures"]


fx = _fixtures()
QUERY = "what do cats eat"
TEXTS = [
    f"doc{k:02d} {body}"
    for k, body in [
        (3, "cats eat fish"),
        (7, "dogs bark at the car"),
        (1, "the river is blue"),
        (5, "cats"),
        (0, "protein in the cell"),
        (6, "a bird can fly"),
    ]
]
FAMILIES = ["monot5", "duot5", "yesno", "listwise"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    t5 = str(fx.build_tiny_t5(tmp_path_factory.mktemp("it-t5")))
    llm = str(fx.build_tiny_causal_lm(tmp_path_factory.mktemp("it-llm")))
    with fx.chat_server() as server:
        yield {"t5": t5, "llm": llm, "server": server}


def spec_and_kwargs(family: str, models: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    t5, llm, server = models["t5"], models["llm"], models["server"]
    return {
        "monot5": (f"monot5:{t5}", {}),
        "duot5": (f"duot5:{t5}", {"backend_options": {"first_pass": f"monot5:{t5}", "top_k": 3}}),
        "yesno": (f"yesno:{llm}", {"backend_options": {"preset": "generic"}}),
        "listwise": (
            "listwise:tiny-chat",
            {"base_url": server.base_url, "backend_options": {"window_size": 3, "stride": 1}},
        ),
    }[family]


_EXPECTED: dict[tuple[str, str], list[str]] = {}


def expected_order(family: str, models: dict[str, Any]) -> list[str]:
    """The core `Reranker`'s order for the same spec (computed once per family and model set)."""
    key = (family, models["t5"])
    if key in _EXPECTED:
        return _EXPECTED[key]
    spec, kwargs = spec_and_kwargs(family, models)
    order = _EXPECTED[key] = [r.document for r in Reranker(spec, **kwargs).rerank(QUERY, TEXTS)]
    if family == "listwise":  # window 3, stride 1: the oracle's top 2 are exact
        assert [int(t[3:5]) for t in order[:2]] == [7, 6]
    return order


@pytest.mark.parametrize("family", FAMILIES)
async def test_langchain(family: str, models: dict[str, Any]) -> None:
    from langchain_core.documents import Document

    from rankwise_langchain import RankwiseRerank

    spec, kwargs = spec_and_kwargs(family, models)
    docs = [Document(page_content=t, metadata={"k": i}, id=f"id{i}") for i, t in enumerate(TEXTS)]
    compressor = RankwiseRerank(model=spec, top_n=4, reranker_kwargs=kwargs)
    want = expected_order(family, models)[:4]
    out = compressor.compress_documents(docs, QUERY)
    assert [d.page_content for d in out] == want
    assert [d.id for d in out] == [f"id{TEXTS.index(t)}" for t in want]
    assert all(d.metadata["k"] == TEXTS.index(d.page_content) for d in out)
    scores = [d.metadata["relevance_score"] for d in out]
    assert scores == sorted(scores, reverse=True)
    assert [d.page_content for d in await compressor.acompress_documents(docs, QUERY)] == want
    assert all("relevance_score" not in d.metadata for d in docs)  # inputs untouched


@pytest.mark.parametrize("family", FAMILIES)
async def test_llamaindex(family: str, models: dict[str, Any]) -> None:
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from rankwise_llamaindex import RankwiseRerank

    spec, kwargs = spec_and_kwargs(family, models)
    nodes = [NodeWithScore(node=TextNode(text=t, id_=f"n{i}")) for i, t in enumerate(TEXTS)]
    post = RankwiseRerank(model=spec, top_n=4, reranker_kwargs=kwargs)
    want = expected_order(family, models)[:4]
    out = post.postprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert [n.node.get_content() for n in out] == want
    assert [n.node.node_id for n in out] == [f"n{TEXTS.index(t)}" for t in want]
    assert all(n.score is None for n in nodes)  # inputs untouched
    out_async = await post.apostprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert [n.node.get_content() for n in out_async] == want


@pytest.mark.parametrize("family", FAMILIES)
async def test_haystack(family: str, models: dict[str, Any]) -> None:
    from haystack import Document

    from haystack_integrations.components.rankers.rankwise import RankwiseRanker

    spec, kwargs = spec_and_kwargs(family, models)
    docs = [Document(content=t, id=f"h{i}", meta={"k": i}) for i, t in enumerate(TEXTS)]
    ranker = RankwiseRanker(model=spec, top_k=4, reranker_kwargs=kwargs)
    ranker.warm_up()
    want = expected_order(family, models)[:4]
    out = ranker.run(query=QUERY, documents=docs)["documents"]
    assert [d.content for d in out] == want
    assert [d.id for d in out] == [f"h{TEXTS.index(t)}" for t in want]
    assert all(d.score is None for d in docs)  # inputs untouched
    out_async = (await ranker.run_async(query=QUERY, documents=docs))["documents"]
    assert [d.content for d in out_async] == want
