"""`RankwiseRerank`: a LlamaIndex node postprocessor that reranks with a rankwise `Reranker`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, SecretStr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]  # re-exported there
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from rankwise import Reranker, RerankResult
from rankwise.adapter_support import checked_options, reranker_from, state_to_pickle
from rankwise.retriever_scores import retriever_scores
from rankwise_llamaindex._nodes import scored_copy, texts_of

dispatcher = get_dispatcher(__name__)

Finish = Callable[[list[RerankResult[str]]], list[NodeWithScore]]


class RankwiseRerank(BaseNodePostprocessor):
    """Rerank retrieved nodes with any rankwise model; new `NodeWithScore` objects, best first.

    ``model`` is a rankwise spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``,
    ``"lexical"``, a fusion such as ``"0.8*cross-encoder:…+0.2*first-stage"``) or a ready
    `rankwise.Reranker`; the spec is checked here, nothing loads until first use. Each
    node's text is ``node.get_content(metadata_mode=metadata_mode)``. With
    ``use_retriever_scores``, the nodes' retrieval scores (when all have one) are the
    first-stage scores. Returned nodes are deep copies (the inputs are untouched) whose
    metadata holds ``score_kind`` (and ``retrieval_score`` with
    ``keep_retrieval_score``), both kept out of the embedding and LLM text. ``api_key``
    (or ``api_key_env``, a variable's name) never appears in ``repr``, ``to_dict`` or a
    pickle. Emits ``ReRankStartEvent``/``ReRankEndEvent`` and the ``RERANKING`` callback event.

    >>> from llama_index.core.schema import NodeWithScore, TextNode
    >>> nodes = [NodeWithScore(node=TextNode(text="dogs bark", id_="d1"), score=0.9),
    ...          NodeWithScore(node=TextNode(text="cats purr", id_="d2"), score=0.1)]
    >>> out = RankwiseRerank(model="lexical", top_n=1).postprocess_nodes(nodes, query_str="cats")
    >>> out[0].node.node_id, out[0].score > 0, out[0].node.metadata["score_kind"], nodes[1].score
    ('d2', True, 'bm25', 0.1)
    """

    model: str | Reranker = Field(default="embedded", description="A rankwise model spec, or a ready Reranker.")
    top_n: int | None = Field(default=3, gt=0, description="How many nodes to return (None: all).")
    score_threshold: float | None = Field(default=None, description="Drop nodes scoring below this value.")
    keep_retrieval_score: bool = Field(default=False, description="Copy the retrieval score into metadata.")
    use_retriever_scores: bool | None = Field(
        default=None, description="Retrieval scores as first-stage scores (None: unless the scores are calibrated)."
    )
    metadata_mode: MetadataMode = Field(default=MetadataMode.EMBED, description="Which metadata the text includes.")
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False, description="Never serialised.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key.")
    reranker_kwargs: dict[str, Any] = Field(default_factory=dict, description="Options for rankwise.Reranker.")

    model_config = ConfigDict(extra="forbid")

    _reranker: Reranker = PrivateAttr()

    _checked = checked_options("top_n", "score_threshold", moves_api_key=True)

    def model_post_init(self, context: Any, /) -> None:
        self._reranker = reranker_from(self.model, self.api_key, self.api_key_env, self.reranker_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # __setstate__ runs __init__, which builds the reranker again
        return state_to_pickle("RankwiseRerank", self.api_key, super().__getstate__())

    @classmethod
    def class_name(cls) -> str:
        return "RankwiseRerank"

    @property
    def reranker(self) -> Reranker:
        """The `Reranker` in use (built from ``model`` at construction)."""
        return self._reranker

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, texts, finish):
            return finish(self._reranker.rerank(query, texts, **self._cuts(nodes)))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, texts, finish):
            return finish(await self._reranker.arerank(query, texts, **self._cuts(nodes)))

    @contextmanager
    def _reranking(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None
    ) -> Iterator[tuple[str, list[str], Finish]]:
        """Check the input, announce the rerank (instrumentation + callbacks), yield the query, texts and ``finish``."""
        if query_bundle is None:
            raise ValueError("RankwiseRerank needs a query: pass query_bundle= or query_str= to postprocess_nodes")
        texts = texts_of(nodes, self.metadata_mode)
        model, top_n = self._reranker.model, self.top_n if self.top_n is not None else len(nodes)
        dispatcher.event(ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=top_n, model_name=model))
        payload: dict[str, Any] = {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: model,
            EventPayload.QUERY_STR: query_bundle.query_str,
            EventPayload.TOP_K: top_n,
        }
        with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:

            def finish(results: list[RerankResult[str]]) -> list[NodeWithScore]:
                reranked = [self._scored(nodes[r.index], r) for r in results]
                event.on_end(payload={EventPayload.NODES: reranked})
                dispatcher.event(ReRankEndEvent(nodes=reranked))
                return reranked

            yield query_bundle.query_str, texts, finish

    def _cuts(self, nodes: list[NodeWithScore]) -> dict[str, Any]:
        first_stage = retriever_scores(
            [n.score for n in nodes], use=self.use_retriever_scores, calibrated=self._reranker.calibration is not None
        )
        return {"top_n": self.top_n, "score_threshold": self.score_threshold, "first_stage_scores": first_stage}

    def _scored(self, item: NodeWithScore, result: RerankResult[str]) -> NodeWithScore:
        extra = {"retrieval_score": item.score} if self.keep_retrieval_score else None
        return scored_copy(item, result.score, result.score_kind, extra)
