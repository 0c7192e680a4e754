"""rankwise for PyTerrier: a re-ranking transformer and a lost-in-the-middle transformer.

No Java is needed: the transformers use PyTerrier's Python data model only.

>>> import pandas as pd
>>> from rankwise_pyterrier import RankwiseReranker
>>> frame = pd.DataFrame({"qid": ["1", "1"], "query": ["cats", "cats"], "docno": ["a", "b"],
...                       "text": ["dogs bark", "cats purr"]})
>>> RankwiseReranker("lexical", top_n=1).transform(frame)["docno"].tolist()
['b']
"""

from rankwise_pyterrier.lost_in_the_middle import RankwiseLostInTheMiddle
from rankwise_pyterrier.reranker import RankwiseReranker

__all__ = ["RankwiseLostInTheMiddle", "RankwiseReranker"]
