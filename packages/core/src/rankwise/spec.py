"""Composite model specs: weighted fusion of backends, lexical and first-stage scores.

Grammar: ``term ("+" term)*`` where ``term = [weight "*"] source ("|" source)?``.
A source is a backend spec (``cross-encoder:…``, ``bi-encoder:…``, ``lexical``, …)
or ``first-stage`` (the scores the caller passes as ``first_stage_scores``).
``a|b`` means "a if available, else b" and is only meaningful with ``first-stage``:
``first-stage|lexical`` uses the caller's first-stage scores when given and BM25
over the candidates otherwise. ``embedded`` is an alias (see `rankwise.embedded`).
A spec with one term and weight 1 is a plain backend; with several terms each
term's scores are min-max normalised per query and summed with their weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from rankwise.backends.registry import split_spec
from rankwise.errors import UnknownModelSpecError

FIRST_STAGE = "first-stage"


@dataclass(frozen=True)
class Term:
    """One weighted term of a composite spec."""

    weight: float
    source: str
    fallback_source: str | None = None


def _check_source(source: str, spec: str) -> str:
    source = source.strip()
    if source != FIRST_STAGE:
        split_spec(source)  # raises a clear error for unknown kinds
    return source


def _is_weight_prefix(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_spec(spec: str) -> tuple[Term, ...]:
    """Parse a composite spec into weighted terms.

    >>> parse_spec("0.7*cross-encoder:ms-marco+0.3*first-stage|lexical")
    (Term(weight=0.7, source='cross-encoder:ms-marco', fallback_source=None), Term(weight=0.3, source='first-stage', fallback_source='lexical'))
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelSpecError(f"a model spec must be a non-empty string, got {spec!r}")
    terms = []
    for raw in spec.split("+"):
        raw = raw.strip()
        if not raw:
            raise UnknownModelSpecError(f"model spec {spec!r} has an empty term around '+'")
        weight = 1.0
        head, star, rest = raw.partition("*")
        if star and _is_weight_prefix(head):
            weight = float(head)
            raw = rest.strip()
            if weight < 0:
                raise UnknownModelSpecError(f"model spec {spec!r}: weights must be >= 0, got {weight}")
        primary, bar, secondary = raw.partition("|")
        if bar and primary.strip() != FIRST_STAGE:
            raise UnknownModelSpecError(f"model spec {spec!r}: 'a|b' is only supported as 'first-stage|<backend spec>'")
        terms.append(Term(weight, _check_source(primary, spec), _check_source(secondary, spec) if bar else None))
    return tuple(terms)
