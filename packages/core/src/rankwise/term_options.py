"""Routing ``backend_options`` to the terms of a spec, by kind, with no guessing.

- A spec with one backend kind takes flat options: ``{"precision": "bf16"}``.
- A spec that fuses several kinds takes options keyed by kind: ``{"bi-encoder": {...}, "lexical": {...}}``;
  flat options there are an error (they would reach a backend they do not belong to).
- Every key of keyed options must be a kind the spec uses (or a known fallback's); others are an
  error naming the kind, never silently ignored.
- An alias's default options sit under the caller's, key by key.

>>> from rankwise.spec import parse_spec
>>> route(parse_spec("lexical"), {"k1": 1.2})
[{'k1': 1.2}]
>>> route(parse_spec("0.5*lexical+0.5*first-stage"), {"lexical": {"k1": 1.2}})
[{'k1': 1.2}, {}]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankwise.backends.registry import known_kinds
from rankwise.spec import ModelSpec


def is_keyed(options: Mapping[str, Any], spec: ModelSpec) -> bool:
    """Whether ``options`` are keyed by kind (every key a known kind, every value a mapping)."""
    kinds = known_kinds()
    keyed = [k for k in options if k in kinds]
    if not keyed:
        return False
    flat = [k for k in options if k not in kinds]
    if flat:
        raise ValueError(
            f"backend_options mixes kind keys {keyed} with option names {flat}: key every option by kind, "
            f"e.g. {{{keyed[0]!r}: {{...}}}}"
        )
    for kind in keyed:
        if not isinstance(options[kind], Mapping):
            raise TypeError(f"backend_options[{kind!r}] must be a dict of options for the {kind!r} backend")
    return True


def route(
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    also_allowed: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The backend options of each term of ``spec``, in term order.

    ``also_allowed`` names kinds that keyed options may mention although ``spec`` does not use them
    (a fallback's kinds: options are shared between a `Reranker` and its fallback).
    """
    options = dict(options or {})
    kinds = spec.kinds
    if options and not is_keyed(options, spec):
        if len(kinds) != 1:
            raise ValueError(
                f"model spec {str(spec)!r} fuses {list(kinds) or 'no backends'}: key backend_options by kind, "
                f"e.g. {{{(kinds or ('<kind>',))[0]!r}: {dict(options)!r}}}"
            )
        options = {kinds[0]: options}
    unused = sorted(set(options) - set(kinds) - set(also_allowed))
    if unused:
        raise ValueError(
            f"backend_options for {unused} but model spec {str(spec)!r} has no such term (its kinds: {list(kinds)})"
        )
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (defaults or {}).items()}
    for kind, values in options.items():
        merged[kind] = {**merged.get(kind, {}), **values}
    return [_for_term(merged, term.kinds) for term in spec.terms]


def _for_term(merged: Mapping[str, Mapping[str, Any]], kinds: tuple[str, ...]) -> dict[str, Any]:
    """A term builds one backend (its source, or its fallback for ``first-stage|x``): that kind's options."""
    return dict(merged.get(kinds[0], {})) if kinds else {}
