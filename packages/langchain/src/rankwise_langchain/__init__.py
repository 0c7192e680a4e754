"""rankwise for LangChain: a reranking document compressor and a lost-in-the-middle transformer.

>>> from langchain_core.documents import Document
>>> from rankwise_langchain import RankwiseRerank
>>> docs = [Document(page_content="dogs bark"), Document(page_content="cats purr")]
>>> [d.page_content for d in RankwiseRerank(model="lexical", top_n=1).compress_documents(docs, "cats")]
['cats purr']
"""

from rankwise_langchain.lost_in_the_middle import RankwiseLostInTheMiddle
from rankwise_langchain.rerank import RankwiseRerank

__all__ = ["RankwiseLostInTheMiddle", "RankwiseRerank"]
