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
from typing import Any, TypeVar

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


def checked_options(*numbers: str) -> Any:
    """One pydantic ``model_validator(mode="before")`` for an adapter class: another library's option name
    (``top_k``) gets rankwise's name in the error, and the fields in ``numbers`` refuse bools.

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
        return data

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
