"""rankwise for LlamaIndex: reranking, diversity (MMR), metadata-field ranking and lost-in-the-middle postprocessors.

>>> from llama_index.core.schema import NodeWithScore, TextNode
>>> from rankwise_llamaindex import RankwiseRerank
>>> nodes = [NodeWithScore(node=TextNode(text="dogs bark")), NodeWithScore(node=TextNode(text="cats purr"))]
>>> [n.node.get_content() for n in RankwiseRerank(model="lexical", top_n=1).postprocess_nodes(nodes, query_str="cats")]
['cats purr']
"""

from rankwise_llamaindex.diversity import RankwiseDiversityRerank
from rankwise_llamaindex.lost_in_the_middle import RankwiseLostInTheMiddle
from rankwise_llamaindex.meta_field import RankwiseMetaFieldRerank
from rankwise_llamaindex.rerank import RankwiseRerank

__all__ = ["RankwiseDiversityRerank", "RankwiseLostInTheMiddle", "RankwiseMetaFieldRerank", "RankwiseRerank"]
