"""Each contender as ``(name, family, build)``; ``build(model_dir)`` returns ``rerank(query, docs) -> scores``.

Every contender is called the way its framework documents it, with its defaults, and returns the
scores it computed (in the documents' input order) so rankings can be compared. Framework-native
contenders all end in sentence-transformers ``CrossEncoder.predict`` (except AnswerDotAI rerankers,
which runs transformers itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Rerank = Callable[[str, Sequence[str]], list[float]]


@dataclass(frozen=True)
class Contender:
    name: str
    family: str  # "native" or "rankwise"
    build: Callable[[str], Rerank]


def sentence_transformers_predict(model_dir: str) -> Rerank:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(model_dir, device="cpu")

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        return [float(s) for s in model.predict([(query, d) for d in docs], show_progress_bar=False)]

    return rerank


def sentence_transformers_rank(model_dir: str) -> Rerank:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(model_dir, device="cpu")

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        scores = [0.0] * len(docs)
        for hit in model.rank(query, list(docs)):
            scores[int(hit["corpus_id"])] = float(hit["score"])
        return scores

    return rerank


def langchain(model_dir: str) -> Rerank:
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import HuggingFaceCrossEncoder
    from langchain_core.documents import Document

    encoder = HuggingFaceCrossEncoder(model_name=model_dir, model_kwargs={"device": "cpu"})

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        reranker = CrossEncoderReranker(model=encoder, top_n=len(docs))
        documents = [Document(page_content=d, metadata={"i": i}) for i, d in enumerate(docs)]
        kept = reranker.compress_documents(documents, query)
        # CrossEncoderReranker returns documents only: recover the scores it sorted by from its encoder.
        order = [int(d.metadata["i"]) for d in kept]
        return _scores_from_order(order, len(docs))

    return rerank


def llamaindex(model_dir: str) -> Rerank:
    from llama_index.core.postprocessor import SentenceTransformerRerank
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    postprocessor = SentenceTransformerRerank(model=model_dir, top_n=10**6, device="cpu")

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        nodes = [NodeWithScore(node=TextNode(text=d, id_=str(i))) for i, d in enumerate(docs)]
        out = postprocessor.postprocess_nodes(nodes, query_bundle=QueryBundle(query))
        scores = [0.0] * len(docs)
        for n in out:
            scores[int(n.node.node_id)] = float(n.score or 0.0)
        return scores

    return rerank


def haystack(model_dir: str) -> Rerank:
    from haystack import Document
    from haystack.utils import ComponentDevice

    from haystack_integrations.components.rankers.sentence_transformers import SentenceTransformersSimilarityRanker

    ranker = SentenceTransformersSimilarityRanker(model=model_dir, device=ComponentDevice.from_str("cpu"), top_k=10**6)
    ranker.warm_up()

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        out = ranker.run(query=query, documents=[Document(content=d, id=str(i)) for i, d in enumerate(docs)])
        scores = [0.0] * len(docs)
        for d in out["documents"]:
            scores[int(d.id)] = float(d.score or 0.0)
        return scores

    return rerank


def answerdotai_rerankers(model_dir: str) -> Rerank:
    from rerankers import Reranker

    ranker = Reranker(model_dir, model_type="cross-encoder", device="cpu", verbose=0)

    def rerank(query: str, docs: Sequence[str]) -> list[float]:
        out = ranker.rank(query=query, docs=list(docs), doc_ids=list(range(len(docs))))
        scores = [0.0] * len(docs)
        for r in out.results:
            scores[int(r.document.doc_id)] = float(r.score)
        return scores

    return rerank


def rankwise(options: dict[str, Any] | None) -> Callable[[str], Rerank]:
    def build(model_dir: str) -> Rerank:
        from rankwise import Reranker

        kwargs: dict[str, Any] = {"cache_size": 0}  # time the model, not the score cache
        if options is not None:
            kwargs["backend_options"] = options
        reranker = Reranker(f"cross-encoder:{model_dir}", **kwargs).load()
        return lambda query, docs: reranker.score(query, docs)

    return build


def _scores_from_order(order: list[int], n: int) -> list[float]:
    """Scores that reproduce a returned order (for frameworks that return documents without scores)."""
    scores = [0.0] * n
    for rank, index in enumerate(order):
        scores[index] = float(n - rank)
    return scores


NATIVE = [
    Contender("sentence-transformers predict", "native", sentence_transformers_predict),
    Contender("sentence-transformers rank", "native", sentence_transformers_rank),
    Contender("LangChain CrossEncoderReranker", "native", langchain),
    Contender("LlamaIndex SentenceTransformerRerank", "native", llamaindex),
    Contender("Haystack SentenceTransformersSimilarityRanker", "native", haystack),
    Contender("AnswerDotAI rerankers", "native", answerdotai_rerankers),
]
RANKWISE = [
    Contender("rankwise default", "rankwise", rankwise(None)),
    Contender("rankwise torch fp32 (exact)", "rankwise", rankwise({"backend": "torch", "precision": "fp32"})),
    Contender("rankwise torch bf16", "rankwise", rankwise({"backend": "torch", "precision": "bf16"})),
    Contender("rankwise onnx fp32", "rankwise", rankwise({"backend": "onnx", "precision": "fp32"})),
    Contender("rankwise onnx int8", "rankwise", rankwise({"backend": "onnx", "precision": "int8"})),
]
ALL = NATIVE + RANKWISE
