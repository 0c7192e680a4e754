"""``rankwise serve``: one reranker behind the Cohere, Jina/vLLM, Infinity and TEI rerank wire formats.

Install with ``pip install 'rankwise[serve]'``; see docs/serving.md.
"""

from rankwise.serve.batching import BatchingBackend
from rankwise.serve.protocols import RequestError
from rankwise.serve.service import Reply, RerankService, ServeLimits

__all__ = ["BatchingBackend", "Reply", "RequestError", "RerankService", "ServeLimits"]
