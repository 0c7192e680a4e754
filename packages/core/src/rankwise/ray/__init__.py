"""Scale rankwise out on Ray (``pip install 'rankwise[ray]'``): batch reranking with Ray Data, serving with Ray Serve.

Nothing outside this package imports ``ray``, and this package imports it only when called.

- `rerank_dataset`: rerank every row (a query and its documents) of a ``ray.data.Dataset``
  with an actor pool, each actor loading the model once.
- `serve_app`: `rankwise.serve`'s server as a Ray Serve deployment with N replicas.
"""

from rankwise.ray.batch import RerankRows, rerank_dataset
from rankwise.ray.deployment import serve_app

__all__ = ["RerankRows", "rerank_dataset", "serve_app"]
