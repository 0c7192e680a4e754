"""Spec aliases: one short name for a whole spec with its default backend options (``embedded``).

An alias is expanded when a spec is parsed; its default options sit under the caller's
(the caller's win, key by key). Register your own with `register_alias`.

>>> register_alias(Alias("bm25", lambda: "lexical", {"lexical": {"k1": 1.2}}))
>>> resolve_alias("bm25").spec(), dict(resolve_alias("bm25").options)
('lexical', {'lexical': {'k1': 1.2}})
>>> resolve_alias("lexical") is None
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Alias:
    """``name`` stands for ``spec()`` (built lazily: it may need an installed model's path).

    ``options`` are default backend options keyed by kind; ``calibration`` optionally returns the
    path of a calibration file shipped for this alias (used unless the caller passes another).
    """

    name: str
    spec: Callable[[], str]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    calibration: Callable[[], str | None] | None = None


def _embedded() -> Alias:
    """The embedded spec with its shipped calibration: scores are P(relevant), so ``score_threshold=0.5``
    means "probably relevant" (docs/calibration.md). ``normalize="none"`` gives the weighted fusion of
    per-query min-max normalised terms instead (scores in [0, 2], relative to the other candidates)."""
    import rankwise.embedded as embedded

    return Alias("embedded", embedded.embedded_spec, embedded.BACKEND_OPTIONS, embedded.embedded_calibration)


def _embedded_calibrated() -> Alias:
    """The name ``embedded`` had while its calibration was opt-in; the same as ``embedded`` now."""
    alias = _embedded()
    return Alias("embedded-calibrated", alias.spec, alias.options, alias.calibration)


_ALIASES: dict[str, Callable[[], Alias]] = {"embedded": _embedded, "embedded-calibrated": _embedded_calibrated}
_LOCK = threading.Lock()


def register_alias(alias: Alias) -> None:
    """Make ``alias.name`` usable wherever a spec is."""
    with _LOCK:
        _ALIASES[alias.name] = lambda: alias


def resolve_alias(name: str) -> Alias | None:
    """The alias called ``name``, or ``None`` when it is not one."""
    with _LOCK:
        make = _ALIASES.get(name.strip())
    return make() if make is not None else None


def alias_options(name: str | None) -> Mapping[str, Mapping[str, Any]]:
    """The default backend options of the alias called ``name`` (none for ``None``, a spec's ``alias``)."""
    alias = resolve_alias(name) if name is not None else None
    return alias.options if alias is not None else {}


def alias_calibration(name: str | None) -> str | None:
    """The calibration file shipped for the alias called ``name``, if any."""
    alias = resolve_alias(name) if name is not None else None
    return alias.calibration() if alias is not None and alias.calibration is not None else None


def known_aliases() -> list[str]:
    with _LOCK:
        return sorted(_ALIASES)
