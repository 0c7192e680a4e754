"""`RankwiseRerank`: a LlamaIndex node postprocessor that reranks with a rankwise `Reranker`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]  # re-exported there
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from rankwise import Reranker, RerankResult

dispatcher = get_dispatcher(__name__)

Finish = Callable[[list[RerankResult[str]]], list[NodeWithScore]]


class RankwiseRerank(BaseNodePostprocessor):
    """Rerank retrieved nodes with any rankwise model; new `NodeWithScore` objects, best first.

    ``model`` is a rankwise spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``,
    ``"lexical"``, a fusion such as ``"0.8*cross-encoder:…+0.2*first-stage"``) or a
    ready `rankwise.Reranker`; it is built on first use. Each node's text is
    ``node.get_content(metadata_mode=metadata_mode)``. When every node has a
    retrieval score, the scores go to the core as ``first_stage_scores`` (used by
    specs with a ``first-stage`` term, such as ``"embedded"``). Input nodes are not
    modified; with ``keep_retrieval_score`` the returned node is a copy whose
    metadata holds ``retrieval_score``. Emits ``ReRankStartEvent``/``ReRankEndEvent``
    and the callback manager's ``RERANKING`` event.

    >>> from llama_index.core.schema import NodeWithScore, TextNode
    >>> nodes = [NodeWithScore(node=TextNode(text="dogs bark", id_="d1"), score=0.9),
    ...          NodeWithScore(node=TextNode(text="cats purr", id_="d2"), score=0.1)]
    >>> out = RankwiseRerank(model="lexical", top_n=1).postprocess_nodes(nodes, query_str="cats")
    >>> out[0].node.node_id, out[0].score > 0, nodes[1].score
    ('d2', True, 0.1)
    """

    model: str | Reranker = Field(default="embedded", description="A rankwise model spec, or a ready Reranker.")
    top_n: int | None = Field(default=3, gt=0, description="How many nodes to return (None: all).")
    score_threshold: float | None = Field(default=None, description="Drop nodes scoring below this value.")
    keep_retrieval_score: bool = Field(default=False, description="Copy the retrieval score into metadata.")
    metadata_mode: MetadataMode = Field(default=MetadataMode.EMBED, description="Which metadata the text includes.")
    reranker_kwargs: dict[str, Any] = Field(default_factory=dict, description="Options for rankwise.Reranker.")

    _reranker: Reranker | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "RankwiseRerank"

    @property
    def reranker(self) -> Reranker:
        """The `Reranker` in use, built from ``model`` on first access."""
        if self._reranker is None:
            self._reranker = Reranker.of(self.model, **self.reranker_kwargs)
        return self._reranker

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, texts, finish):
            return finish(self.reranker.rerank(query, texts, **self._cuts(nodes)))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, texts, finish):
            return finish(await self.reranker.arerank(query, texts, **self._cuts(nodes)))

    @contextmanager
    def _reranking(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None
    ) -> Iterator[tuple[str, list[str], Finish]]:
        """Check the input, announce the rerank (instrumentation + callbacks), yield the query and texts.

        ``finish`` turns the core's results into new nodes and closes both events.
        """
        if query_bundle is None:
            raise ValueError("RankwiseRerank needs a query: pass query_bundle= or query_str= to postprocess_nodes")
        texts = self._texts(nodes)
        model_name = self.model if isinstance(self.model, str) else self.model.model
        top_n = self.top_n if self.top_n is not None else len(nodes)
        dispatcher.event(ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=top_n, model_name=model_name))
        payload: dict[str, Any] = {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: model_name,
            EventPayload.QUERY_STR: query_bundle.query_str,
            EventPayload.TOP_K: top_n,
        }
        with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:

            def finish(results: list[RerankResult[str]]) -> list[NodeWithScore]:
                reranked = [self._scored(nodes[r.index], r.score) for r in results]
                event.on_end(payload={EventPayload.NODES: reranked})
                dispatcher.event(ReRankEndEvent(nodes=reranked))
                return reranked

            yield query_bundle.query_str, texts, finish

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        for index, item in enumerate(nodes):
            if not isinstance(item, NodeWithScore):
                raise TypeError(f"node at index {index} is a {type(item).__name__}, expected a NodeWithScore")
        return [n.node.get_content(metadata_mode=self.metadata_mode) for n in nodes]

    def _cuts(self, nodes: list[NodeWithScore]) -> dict[str, Any]:
        scores = [n.score for n in nodes]
        first_stage = [float(s) for s in scores if s is not None] if all(s is not None for s in scores) else None
        return {"top_n": self.top_n, "score_threshold": self.score_threshold, "first_stage_scores": first_stage}

    def _scored(self, item: NodeWithScore, score: float) -> NodeWithScore:
        node = item.node
        if self.keep_retrieval_score:
            node = node.model_copy(update={"metadata": {**node.metadata, "retrieval_score": item.score}})
        return NodeWithScore(node=node, score=score)
