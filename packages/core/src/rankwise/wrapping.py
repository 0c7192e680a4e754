"""Wrapping a `Reranker`'s backends (`Reranker.with_wrapped_backends`), and composing wrappers.

For wrappers that change how a backend is called, not what it answers: dynamic batching across
requests (`rankwise serve`), a lock, counting, logging. The original is loaded and its backends are
shared, not built again; the settings, calibration and spec are the same, the score cache is the new
reranker's own, and the fallback (if any) is wrapped alike. A wrapper should keep the backend's
``name`` and ``default_normalization`` and expose the capabilities it honours
(`rankwise.backends.capabilities`); after `Reranker.close`, the backends built again are wrapped
again. Close one of the two rerankers only: they share backends.

>>> from rankwise import Reranker
>>> class Length:
...     name, default_normalization = "length", "none"
...     def score(self, query, texts): return [float(len(t)) for t in texts]
>>> class Doubled:
...     def __init__(self, inner): self.inner, self.name, self.default_normalization = inner, inner.name, "none"
...     def score(self, query, texts): return [2 * s for s in self.inner.score(query, texts)]
>>> rr = Reranker(Length())
>>> rr.with_wrapped_backends(Doubled).score("q", ["ab", "abc"]), rr.score("q", ["ab", "abc"])
([4.0, 6.0], [2.0, 3.0])
"""

from __future__ import annotations

from collections.abc import Callable

from rankwise.backends.base import Backend

Wrapper = Callable[[Backend], Backend]


def composed(first: Wrapper, then: Wrapper) -> Wrapper:
    """The wrapper that applies ``first``, then ``then``."""
    return lambda backend: then(first(backend))
