"""`RankwiseLostInTheMiddle`: rankwise's lost-in-the-middle order as a LlamaIndex node postprocessor."""

from __future__ import annotations

from llama_index.core.bridge.pydantic import ConfigDict, Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from rankwise import lost_in_the_middle
from rankwise.adapter_support import checked_options


class RankwiseLostInTheMiddle(BaseNodePostprocessor):
    """Place best-first nodes so the best sit at both edges of the context, the weakest in the middle.

    Put it after `RankwiseRerank` (nodes must be ranked best first). The best node
    stays first and the second goes last (see `rankwise.lost_in_the_middle` for how
    this differs from LlamaIndex's ``LongContextReorder``). ``top_n`` keeps the best
    ``top_n``; ``word_count_threshold`` keeps nodes while their total word count
    fits. The same `NodeWithScore` objects are returned, reordered.

    >>> from llama_index.core.schema import NodeWithScore, TextNode
    >>> nodes = [NodeWithScore(node=TextNode(text=str(i))) for i in range(1, 6)]
    >>> [n.node.get_content() for n in RankwiseLostInTheMiddle().postprocess_nodes(nodes)]
    ['1', '3', '5', '4', '2']
    """

    top_n: int | None = Field(default=None, gt=0, description="Keep only the best top_n nodes.")
    word_count_threshold: int | None = Field(default=None, gt=0, description="Total word budget of the kept nodes.")

    model_config = ConfigDict(extra="forbid")

    _checked = checked_options("top_n", "word_count_threshold")

    @classmethod
    def class_name(cls) -> str:
        return "RankwiseLostInTheMiddle"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        return lost_in_the_middle(
            nodes,
            top_n=self.top_n,
            word_count_threshold=self.word_count_threshold,
            word_count=lambda n: len(n.node.get_content(metadata_mode=MetadataMode.NONE).split()),
        )

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        return self._postprocess_nodes(nodes, query_bundle)
