"""One query, one set of documents: the core and the three adapters agree on order and scores."""

from __future__ import annotations

from haystack import Document as HaystackDocument
from langchain_core.documents import Document as LangChainDocument
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

from haystack_integrations.components.rankers.rankwise import RankwiseRanker
from rankwise import Reranker
from rankwise_langchain import RankwiseRerank as LangChainRerank
from rankwise_llamaindex import RankwiseRerank as LlamaIndexRerank

from .conftest import CORPUS, QUERY

TOP = 6
NO_CACHE = {"cache_size": 0}  # every reranker below really scores; none reads another's cached values


def test_same_order_and_scores_everywhere(spec: str) -> None:
    ids = [doc_id for doc_id, _, _ in CORPUS]
    texts = [text for _, text, _ in CORPUS]
    core = Reranker(spec, **NO_CACHE).rerank(QUERY, texts, top_n=TOP)
    want = [(ids[r.index], r.score) for r in core]

    langchain = LangChainRerank(model=spec, top_n=TOP, reranker_kwargs=NO_CACHE).compress_documents(
        [LangChainDocument(page_content=text, id=doc_id, metadata=meta) for doc_id, text, meta in CORPUS], QUERY
    )
    llamaindex = LlamaIndexRerank(
        model=spec, top_n=TOP, metadata_mode=MetadataMode.NONE, reranker_kwargs=NO_CACHE
    ).postprocess_nodes(
        [NodeWithScore(node=TextNode(text=text, id_=doc_id, metadata=meta)) for doc_id, text, meta in CORPUS],
        query_str=QUERY,
    )
    haystack = RankwiseRanker(model=spec, top_k=TOP, reranker_kwargs=NO_CACHE).run(
        query=QUERY, documents=[HaystackDocument(content=text, id=doc_id, meta=meta) for doc_id, text, meta in CORPUS]
    )["documents"]

    assert len(want) == TOP
    assert len({score for _, score in want}) > 1  # the scores really differ: the order means something
    assert [(d.id, d.metadata["relevance_score"]) for d in langchain] == want
    assert [(n.node.node_id, n.score) for n in llamaindex] == want
    assert [(d.id, d.score) for d in haystack] == want
