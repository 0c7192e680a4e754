"""rankwise for LangChain: reranking, diversity (MMR) and metadata-field ranking, and a lost-in-the-middle order.

>>> from langchain_core.documents import Document
>>> from rankwise_langchain import RankwiseRerank
>>> docs = [Document(page_content="dogs bark"), Document(page_content="cats purr")]
>>> [d.page_content for d in RankwiseRerank(model="lexical", top_n=1).compress_documents(docs, "cats")]
['cats purr']
"""

from rankwise_langchain.diversity import RankwiseDiversityRerank
from rankwise_langchain.lost_in_the_middle import RankwiseLostInTheMiddle
from rankwise_langchain.meta_field import RankwiseMetaFieldRerank
from rankwise_langchain.rerank import RankwiseRerank

__all__ = ["RankwiseDiversityRerank", "RankwiseLostInTheMiddle", "RankwiseMetaFieldRerank", "RankwiseRerank"]
