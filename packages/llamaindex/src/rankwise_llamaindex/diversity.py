"""`RankwiseDiversityRerank`: rankwise's MMR diversity order as a LlamaIndex node postprocessor."""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from rankwise import Reranker
from rankwise.adapter_support import checked_options
from rankwise.diversity import Diversifier
from rankwise_llamaindex._nodes import texts_of


class RankwiseDiversityRerank(BaseNodePostprocessor):
    """Order nodes by maximal marginal relevance, so near-duplicates sink (see `rankwise.diversity`).

    ``model`` gives the embeddings: ``"embedded"`` (the bundled MiniLM), a spec with a
    bi-encoder term, or a ready `Reranker` (``RankwiseRerank(...).reranker`` shares its
    embedding cache). ``lambda_mult``: 1 relevance only, 0 novelty only. The same
    `NodeWithScore` objects are returned, reordered and cut to ``top_n``.

    >>> from llama_index.core.schema import NodeWithScore, TextNode
    >>> nodes = [NodeWithScore(node=TextNode(text=t)) for t in ["cats purr", "a cat purrs", "dogs bark"]]
    >>> out = RankwiseDiversityRerank(lambda_mult=0.3).postprocess_nodes(nodes, query_str="cats")
    >>> out[-1].node.get_content() != "dogs bark"
    True
    """

    model: str | Reranker = Field(default="embedded", description="A spec with a bi-encoder term, or a Reranker.")
    lambda_mult: float = Field(default=0.5, ge=0.0, le=1.0, description="1: relevance only, 0: novelty only.")
    top_n: int | None = Field(default=None, gt=0, description="How many nodes to return (None: all).")
    metadata_mode: MetadataMode = Field(default=MetadataMode.EMBED, description="Which metadata the text includes.")

    model_config = ConfigDict(extra="forbid")

    _diversifier: Diversifier = PrivateAttr()

    _checked = checked_options("top_n", "lambda_mult")

    def model_post_init(self, context: Any, /) -> None:
        self._diversifier = Diversifier(self.model, lambda_mult=self.lambda_mult, top_n=self.top_n)

    @classmethod
    def class_name(cls) -> str:
        return "RankwiseDiversityRerank"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("RankwiseDiversityRerank needs a query: pass query_bundle= or query_str=")
        texts = texts_of(nodes, self.metadata_mode)
        return [nodes[r.index] for r in self._diversifier.diversify(query_bundle.query_str, texts)]
