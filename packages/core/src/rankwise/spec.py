"""Model specs as typed objects: `ModelSpec` of `Term`s, each with its own source, weight and options.

Grammar of the string form: ``term ("+" term)*`` where ``term = [weight "*"] source ("|" source)?``.
A source is a backend spec (``cross-encoder:…``, ``bi-encoder:…``, ``lexical``, …) or
``first-stage`` (the scores the caller passes as ``first_stage_scores``). ``a|b`` means
"a if available, else b" and is only meaningful as ``first-stage|<backend spec>``: the
caller's first-stage scores when given, that backend otherwise. An alias (``embedded``)
stands for a whole spec with its default options (`rankwise.aliases`). A spec with one
term of weight 1 is a plain backend; several terms are fused (`rankwise.fusion`).

`parse_spec` returns a `ModelSpec`; ``str(spec)`` gives the string back (options are not
part of the string: adapters and YAML serialise the string and the options side by side).

>>> spec = parse_spec("0.7*cross-encoder:ms-marco+0.3*first-stage|lexical")
>>> [(t.weight, str(t.source), str(t.fallback)) for t in spec.terms]
[(0.7, 'cross-encoder:ms-marco', 'None'), (0.3, 'first-stage', 'lexical')]
>>> str(spec) == "0.7*cross-encoder:ms-marco+0.3*first-stage|lexical", parse_spec(str(spec)) == spec
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rankwise.backends.registry import split_spec
from rankwise.errors import UnknownModelSpecError

FIRST_STAGE = "first-stage"


@dataclass(frozen=True)
class Source:
    """Where one term's scores come from: a backend kind and model, or the caller's first-stage scores.

    >>> str(Source.parse("bi-encoder:all-MiniLM")), Source.parse("first-stage").is_first_stage
    ('bi-encoder:all-MiniLM', True)
    """

    kind: str
    model: str = ""

    @classmethod
    def parse(cls, text: str) -> Source:
        text = text.strip()
        if text == FIRST_STAGE:
            return cls(FIRST_STAGE)
        kind, model = split_spec(text)  # a clear error for unknown kinds or a missing model
        return cls(kind, model)

    @property
    def is_first_stage(self) -> bool:
        return self.kind == FIRST_STAGE

    def __str__(self) -> str:
        return f"{self.kind}:{self.model}" if self.model else self.kind


@dataclass(frozen=True)
class Term:
    """One weighted term of a spec; ``options`` are the backend options of its source (and fallback)."""

    weight: float
    source: Source
    fallback: Source | None = None
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The backend kinds this term may build (first-stage is not one)."""
        sources = (self.source, self.fallback)
        return tuple(s.kind for s in sources if s is not None and not s.is_first_stage)

    def __str__(self) -> str:
        weight = "" if self.weight == 1.0 else f"{self.weight:g}*"
        return f"{weight}{self.source}" + (f"|{self.fallback}" if self.fallback is not None else "")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: its terms, and the alias it was written as (if any).

    >>> parse_spec("lexical").is_single, str(parse_spec(" lexical "))
    (True, 'lexical')
    """

    terms: tuple[Term, ...]
    alias: str | None = None

    @property
    def is_single(self) -> bool:
        """One term of weight 1: a plain backend, scored and normalised on its own."""
        return len(self.terms) == 1 and self.terms[0].weight == 1.0

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every backend kind the spec may build, in order, without repeats."""
        return tuple(dict.fromkeys(k for t in self.terms for k in t.kinds))

    @property
    def uses_first_stage(self) -> bool:
        return any(t.source.is_first_stage for t in self.terms)

    def with_term_options(self, options: list[Mapping[str, Any]]) -> ModelSpec:
        """The same spec with ``options[i]`` attached to term ``i``."""
        terms = tuple(replace(t, options=dict(o)) for t, o in zip(self.terms, options, strict=True))
        return replace(self, terms=terms)

    def expanded(self) -> str:
        """The spec string with aliases expanded (``str(spec)`` keeps the alias)."""
        return "+".join(map(str, self.terms))

    def __str__(self) -> str:
        return self.alias if self.alias is not None else self.expanded()


def parse_spec(spec: str) -> ModelSpec:
    """Parse a spec string (or an alias such as ``embedded``) into a `ModelSpec`; a clear error otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelSpecError(f"a model spec must be a non-empty string, got {spec!r}")
    from rankwise.aliases import resolve_alias

    alias = resolve_alias(spec.strip())
    if alias is not None:
        parsed = _parse_terms(alias.spec())
        return replace(parsed, alias=alias.name)
    return _parse_terms(spec)


def _parse_terms(spec: str) -> ModelSpec:
    terms = []
    for raw in spec.split("+"):
        raw = raw.strip()
        if not raw:
            raise UnknownModelSpecError(f"model spec {spec!r} has an empty term around '+'")
        weight, raw = _weight(raw, spec)
        if not raw:
            raise UnknownModelSpecError(f"model spec {spec!r} has a weight with no model after its '*'")
        primary, bar, secondary = raw.partition("|")
        if bar and not secondary.strip():
            raise UnknownModelSpecError(
                f"model spec {spec!r} has nothing after '|': write 'first-stage|<backend spec>'"
            )
        if bar and primary.strip() != FIRST_STAGE:
            raise UnknownModelSpecError(f"model spec {spec!r}: 'a|b' is only supported as 'first-stage|<backend spec>'")
        terms.append(Term(weight, Source.parse(primary), Source.parse(secondary) if bar else None))
    return ModelSpec(tuple(terms))


def _weight(term: str, spec: str) -> tuple[float, str]:
    head, star, rest = term.partition("*")
    if not star:
        return 1.0, term
    try:
        weight = float(head)
    except ValueError:
        return 1.0, term  # a '*' inside a model name, not a weight
    if not math.isfinite(weight) or weight < 0:
        raise UnknownModelSpecError(f"model spec {spec!r}: weights must be finite numbers >= 0, got {head.strip()!r}")
    return weight, rest.strip()
