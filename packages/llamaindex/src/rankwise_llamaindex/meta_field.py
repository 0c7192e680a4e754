"""`RankwiseMetaFieldRerank`: rankwise's metadata-field ranking as a LlamaIndex node postprocessor."""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from rankwise.adapter_support import checked_options, meta_field_ranking
from rankwise.meta_field import MetaFieldRanking, MissingPolicy, RankingMode, SortOrder
from rankwise_llamaindex._nodes import scored_copy, texts_of


class RankwiseMetaFieldRerank(BaseNodePostprocessor):
    """Combine the previous ranking with ``node.metadata[meta_field]`` (recency, popularity), as in `rankwise.meta_field`.

    Put it after `RankwiseRerank`. ``weight`` 1 ranks by the field alone, 0 keeps the
    previous order; ``ranking_mode`` is reciprocal-rank fusion or a linear mix with the
    nodes' scores; ``missing_meta`` places nodes without the field (``"bottom"``,
    ``"top"``, ``"drop"``). Returns deep copies scored with the combination (kind ``relative``).

    >>> from llama_index.core.schema import NodeWithScore, TextNode
    >>> nodes = [NodeWithScore(node=TextNode(text="old", metadata={"year": 2001})),
    ...          NodeWithScore(node=TextNode(text="new", metadata={"year": 2024}))]
    >>> [n.node.text for n in RankwiseMetaFieldRerank(meta_field="year").postprocess_nodes(nodes)]
    ['new', 'old']
    """

    meta_field: str = Field(description="The metadata key to rank by (numbers, dates or ISO-8601 strings).")
    weight: float = Field(default=1.0, ge=0.0, le=1.0, description="1: the field only, 0: the previous order.")
    ranking_mode: RankingMode = Field(default="reciprocal_rank_fusion", description="RRF or linear_score.")
    sort_order: SortOrder = Field(default="descending", description="Which end of the field is best.")
    missing_meta: MissingPolicy = Field(default="bottom", description="Where nodes without the field go.")
    top_n: int | None = Field(default=None, gt=0, description="How many nodes to return (None: all).")

    model_config = ConfigDict(extra="forbid")

    _ranking: MetaFieldRanking = PrivateAttr()

    _checked = checked_options("top_n", "weight")

    def model_post_init(self, context: Any, /) -> None:
        self._ranking = meta_field_ranking(self, top_n=self.top_n)

    @classmethod
    def class_name(cls) -> str:
        return "RankwiseMetaFieldRerank"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        texts_of(nodes, MetadataMode.NONE)  # checks the input
        values = [n.node.metadata.get(self.meta_field) for n in nodes]
        results = self._ranking.rank(nodes, values, scores=[n.score for n in nodes])
        return [scored_copy(nodes[r.index], r.score, r.score_kind) for r in results]
