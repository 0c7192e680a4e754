"""rankwise: rerank retrieved documents with any model, in any framework.

>>> from rankwise import Reranker
>>> [r.document for r in Reranker("lexical").rerank("red apple", ["green pear", "red apple pie"])]
['red apple pie', 'green pear']
"""

from rankwise.backends.base import Backend, BackendConfig
from rankwise.backends.registry import register_kind
from rankwise.convenience import rerank
from rankwise.errors import (
    BackendError,
    MissingApiKeyError,
    MissingDependencyError,
    RankwiseError,
    UnknownModelSpecError,
)
from rankwise.reorder import lost_in_the_middle
from rankwise.report import CallReport
from rankwise.reranker import Reranker
from rankwise.result import RerankResult
from rankwise.score_kind import ScoreKind
from rankwise.spec import ModelSpec, parse_spec

__all__ = [
    "Backend",
    "BackendConfig",
    "BackendError",
    "CallReport",
    "MissingApiKeyError",
    "MissingDependencyError",
    "ModelSpec",
    "RankwiseError",
    "RerankResult",
    "Reranker",
    "ScoreKind",
    "UnknownModelSpecError",
    "lost_in_the_middle",
    "parse_spec",
    "register_kind",
    "rerank",
]
__version__ = "0.1.0"
