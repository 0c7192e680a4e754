"""rankwise: rerank retrieved documents with any model, in any framework.

>>> from rankwise import Reranker
>>> [r.document for r in Reranker("lexical").rerank("red apple", ["green pear", "red apple pie"])]
['red apple pie', 'green pear']
"""

from rankwise.backends.base import Backend, BackendConfig
from rankwise.errors import BackendError, MissingDependencyError, RankwiseError, UnknownModelSpecError
from rankwise.reorder import lost_in_the_middle
from rankwise.reranker import Reranker, rerank
from rankwise.result import RerankResult

__all__ = [
    "Backend",
    "BackendConfig",
    "BackendError",
    "MissingDependencyError",
    "RankwiseError",
    "RerankResult",
    "Reranker",
    "UnknownModelSpecError",
    "lost_in_the_middle",
    "rerank",
]
__version__ = "0.1.0"
