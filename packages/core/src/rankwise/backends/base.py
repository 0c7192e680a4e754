"""The contract every scoring backend fulfils."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, runtime_checkable

from rankwise.score_kind import ScoreKind

Normalization = Literal["none", "sigmoid", "minmax", "calibrated"]


@dataclass(frozen=True)
class BackendConfig:
    """Settings the `Reranker` hands to a backend when it builds one.

    Local backends read ``device``, ``batch_size`` and ``max_length``; remote ones
    read ``api_key``, ``base_url`` and ``timeout``. ``options`` carries
    backend-specific keyword arguments (``Reranker(..., backend_options={...})``).

    >>> BackendConfig(batch_size=16).batch_size
    16
    """

    device: str | None = None
    batch_size: int | None = None  # None: the backend's own default
    max_length: int = 512
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def local_model_kwargs(config: BackendConfig) -> dict[str, Any]:
    """Keyword arguments of a local model backend's constructor: device, batch size, length, options.

    A batch size left unset (``None``) is left out, so the backend's own default applies.

    >>> local_model_kwargs(BackendConfig(batch_size=8, options={"precision": "bf16"}))
    {'device': None, 'max_length': 512, 'batch_size': 8, 'precision': 'bf16'}
    >>> "batch_size" in local_model_kwargs(BackendConfig())
    False
    """
    kwargs: dict[str, Any] = {"device": config.device, "max_length": config.max_length}
    if config.batch_size is not None:
        kwargs["batch_size"] = config.batch_size
    return {**kwargs, **config.options}


class LocalModel:
    """``from_spec`` for a local model backend, whose constructor takes the model and `local_model_kwargs`.

    >>> class Echo(LocalModel):
    ...     def __init__(self, model, **settings): self.model, self.settings = model, settings
    >>> Echo.from_spec("m", BackendConfig(batch_size=4)).settings
    {'device': None, 'max_length': 512, 'batch_size': 4}
    """

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> Self:
        build: Callable[..., Self] = cls
        return build(model, **local_model_kwargs(config))


class OrdersWholeList:
    """What a backend that orders the whole candidate list (listwise LLMs, DuoT5) declares.

    It needs every text in one call (``set_dependent``); its scores are ``n − final position``, an
    order only (``ranks_only``, score kind ``rank``), so no normalisation applies by default.
    """

    set_dependent = True
    ranks_only = True
    default_normalization: Normalization = "none"
    score_kind: ScoreKind = "rank"


class LogitScores:
    """What a backend whose raw scores are logits declares (cross-encoders; MonoT5 and yes/no LLMs, whose score
    is ``logit(true) − logit(false)``): score kind ``logit``, and ``sigmoid`` by default (a probability)."""

    default_normalization: Normalization = "sigmoid"
    score_kind: ScoreKind = "logit"


@runtime_checkable
class Backend(Protocol):
    """Maps a query and texts to one raw float score per text, higher = more relevant.

    A backend does not sort, cut, normalise, deduplicate or cache: the `Reranker`
    does all of that, once. ``name`` identifies the backend in results and errors;
    ``default_normalization`` is what the `Reranker` applies unless told otherwise.
    Backends that talk to a network service also implement ``ascore`` natively;
    for local models the `Reranker` runs ``score`` in a worker thread.

    Optional attributes the `Reranker` honours when a backend has them:

    - ``max_length: int | None`` — the model reads at most this many tokens; the
      `Reranker` cuts texts to that many words first (lossless, and a 100,000-word
      document never reaches the tokenizer whole).
    - ``max_batch_size: int | None`` — at most this many texts per ``score`` call
      (a provider's documented cap); otherwise the `Reranker`'s ``batch_size``.
    - ``set_dependent: bool`` — scores depend on the whole candidate set (BM25
      statistics over the candidates, listwise LLMs, pairwise DuoT5): the backend
      gets every text in one call and its scores are not cached per text.
    - ``async def ascore(query, texts)`` — native async scoring (network backends).
    - ``warm(texts)`` — pre-compute what does not depend on the query (embeddings).
    """

    name: str
    default_normalization: Normalization

    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        """Return one raw score per text, in the order of ``texts``."""
        ...
