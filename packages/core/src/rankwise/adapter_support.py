"""What every framework adapter needs, decided once: option checks, API keys from the environment, key names.

The adapters (LangChain, LlamaIndex, Haystack) translate types and nothing else; the
few rules they would otherwise each re-invent live here.

>>> kind_key("relevance_score"), kind_key("score")
('relevance_score_kind', 'score_kind')
>>> not_bool("top_n", 3)
3
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from rankwise.meta_field import MetaFieldRanking, MissingPolicy, RankingMode, SortOrder
from rankwise.validation import optional_number

if TYPE_CHECKING:
    from rankwise.reranker import Reranker

T = TypeVar("T")

#: Where the kind of a score is written next to it: ``<score key>_kind`` (``relevance_score_kind`` in
#: LangChain metadata, ``score_kind`` in LlamaIndex node metadata and Haystack ``meta``).
KIND_SUFFIX = "_kind"

#: Option names other libraries use, and rankwise's name for each.
RENAMED_OPTIONS = {"top_k": "top_n", "threshold": "score_threshold", "model_name": "model"}


def kind_key(score_key: str) -> str:
    """The metadata key that holds the kind of the score stored under ``score_key``."""
    return score_key + KIND_SUFFIX


def not_bool(name: str, value: T) -> T:
    """``value`` unchanged, unless it is a bool (``True`` is not the number 1 for a cut or a threshold)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not a bool ({value!r})")
    return value


def reject_renamed(options: Mapping[str, object], owner: str, allowed: frozenset[str] = frozenset()) -> None:
    """A clear error for a known option under another library's name (``top_k`` -> ``top_n``)."""
    for given, ours in RENAMED_OPTIONS.items():
        if given in options and given not in allowed:
            raise ValueError(f"{owner} has no option {given!r}: rankwise calls it {ours!r} ({ours}={options[given]!r})")


def checked_options(*numbers: str, moves_api_key: bool = False) -> Any:
    """One pydantic ``model_validator(mode="before")`` for an adapter class: another library's option name
    (``top_k``) gets rankwise's name in the error, and the fields in ``numbers`` refuse bools; with
    ``moves_api_key``, then an ``api_key`` in ``reranker_kwargs`` moves to the secret field (`key_out_of_kwargs`).

    Assign it in the class body (pydantic picks it up): ``_checked = checked_options("top_n", "score_threshold")``.
    Only the LangChain and LlamaIndex adapters call it, so pydantic is imported here, not by the core.
    """
    from pydantic import model_validator

    def check(cls: type, data: Any) -> Any:
        if isinstance(data, Mapping):
            reject_renamed(data, cls.__name__)
            for name in numbers:
                if name in data:
                    not_bool(name, data[name])
            if "score_threshold" in data:
                optional_number("score_threshold", data["score_threshold"])  # NaN compares false: refused
        return key_out_of_kwargs(data) if moves_api_key and isinstance(data, dict) else data

    return model_validator(mode="before")(classmethod(check))  # type: ignore[arg-type]


def key_out_of_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor input with ``reranker_kwargs["api_key"]`` moved to ``api_key`` (the adapters' secret field).

    >>> key_out_of_kwargs({"reranker_kwargs": {"api_key": "k", "batch_size": 8}})
    {'reranker_kwargs': {'batch_size': 8}, 'api_key': 'k'}
    """
    kwargs = dict(data.get("reranker_kwargs") or {})
    if "api_key" not in kwargs:
        return dict(data)
    if data.get("api_key") is not None:
        raise ValueError("the API key is given twice (api_key= and reranker_kwargs['api_key']): give it once")
    return {**data, "reranker_kwargs": kwargs, "api_key": kwargs.pop("api_key")}


class Secret(Protocol):
    """An API key the adapters hold as a secret (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def reranker_from(
    model: str | Reranker, api_key: Secret | None, api_key_env: str | None, reranker_kwargs: Mapping[str, Any]
) -> Reranker:
    """The `Reranker` an adapter's settings describe: ``model`` (a spec, or a ready `Reranker`, which takes
    no ``reranker_kwargs``), with the key given directly or read from ``api_key_env`` (`api_key_from`).

    >>> reranker_from("lexical", None, None, {}).model
    'lexical'
    """
    from rankwise.reranker import Reranker

    key = api_key_from(api_key.get_secret_value() if api_key else None, api_key_env)
    return Reranker.of(model, **reranker_kwargs, **({"api_key": key} if key else {}))


def state_to_pickle(owner: str, api_key: object, state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic adapter's pickled state: without its private attributes (the `Reranker`, rebuilt on
    unpickling), and refused while it holds an API key given directly (secrets are never pickled)."""
    if api_key is not None:
        raise TypeError(f"{owner} holds an API key given directly, which is never pickled: use api_key_env")
    return {**state, "__pydantic_private__": {}}


class MetaFieldSettings(Protocol):
    """An adapter's metadata-field settings, by the names Haystack's ``MetaFieldRanker`` uses (all adapters do)."""

    meta_field: str
    weight: float
    ranking_mode: RankingMode
    sort_order: SortOrder
    missing_meta: MissingPolicy


def meta_field_ranking(
    settings: MetaFieldSettings, *, top_n: int | None = None, weight: float | None = None
) -> MetaFieldRanking:
    """The core `MetaFieldRanking` of an adapter's ``settings`` (checks them); ``weight`` overrides theirs.

    >>> from types import SimpleNamespace
    >>> adapter = SimpleNamespace(meta_field="year", weight=1.0, ranking_mode="linear_score",
    ...                           sort_order="descending", missing_meta="drop")
    >>> ranking = meta_field_ranking(adapter, weight=0.5)
    >>> ranking.weight, ranking.missing, ranking.top_n
    (0.5, 'drop', None)
    """
    return MetaFieldRanking(
        settings.meta_field,
        weight=settings.weight if weight is None else weight,
        ranking_mode=settings.ranking_mode,
        sort_order=settings.sort_order,
        missing=settings.missing_meta,
        top_n=top_n,
    )


def api_key_from(key: str | None, env_var: str | None) -> str | None:
    """The API key given directly, or read from the environment variable named ``env_var`` (never both).

    >>> os.environ["RANKWISE_DOCTEST_KEY"] = "k-123"
    >>> api_key_from(None, "RANKWISE_DOCTEST_KEY"), api_key_from(None, None)
    ('k-123', None)
    """
    if key is not None and env_var is not None:
        raise ValueError("give api_key or api_key_env (the name of an environment variable), not both")
    if env_var is None:
        return key
    value = os.environ.get(env_var)
    if not value:
        raise ValueError(f"api_key_env names {env_var!r}, but that environment variable is not set (or is empty)")
    return value
