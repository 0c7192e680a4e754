"""What ``--base`` may be, and the specs before and after training: `TrainBase`, `resolve_base`.

Three shapes can be fine-tuned (each a sentence-transformers model on local disk):

- ``embedded``: the default's MiniLM bi-encoder, fused with the first stage like the default;
- ``W1*bi-encoder:X+W2*first-stage|lexical``: the same shape with any bi-encoder (what ``embedded`` expands to);
- ``bi-encoder:X`` or ``cross-encoder:X`` alone.

Anything else (a rerank API, ``lexical``, a T5 or LLM reranker, fusions of other shapes) is refused with a
`NotTrainableError` naming the term that cannot be trained.

>>> base = resolve_base("bi-encoder:path/to/model")
>>> base.kind, base.model, base.fused, base.after_spec("out/model")
('bi-encoder', 'path/to/model', False, 'bi-encoder:out/model')
>>> fused = resolve_base("1.3*bi-encoder:m+0.7*first-stage|lexical")
>>> fused.fused, fused.after_spec("out")
(True, '1.3*bi-encoder:out+0.7*first-stage|lexical')
"""

from __future__ import annotations

from dataclasses import dataclass

from rankwise.errors import RankwiseError
from rankwise.spec import FIRST_STAGE, ModelSpec, parse_spec

TRAINABLE_KINDS = ("bi-encoder", "cross-encoder")


class NotTrainableError(RankwiseError, ValueError):
    """``--base`` names a model that `rankwise train` cannot fine-tune (an API, lexical, an LLM, a large model)."""


@dataclass(frozen=True)
class TrainBase:
    """The model to fine-tune and how its spec reads before and after.

    ``kind``: ``"bi-encoder"`` or ``"cross-encoder"``; ``model``: what sentence-transformers loads;
    ``before``: the spec evaluated before training (``embedded`` itself for the default, so the figure is
    the one users get); ``fused``: the trained bi-encoder is fused with the first stage (weights
    ``weights``), and the output directory gets a calibration for that fusion.
    """

    kind: str
    model: str
    before: str
    fused: bool = False
    weights: tuple[float, float] = (1.0, 1.0)

    def after_spec(self, directory: str) -> str:
        """The spec of the trained model saved in ``directory``."""
        if not self.fused:
            return f"{self.kind}:{directory}"
        semantic, lexical = self.weights
        return f"{semantic:g}*{self.kind}:{directory}+{lexical:g}*{FIRST_STAGE}|lexical"


def resolve_base(base: str) -> TrainBase:
    """The `TrainBase` of a ``--base`` value; `NotTrainableError` (a `ValueError`) for one that cannot be trained."""
    spec = parse_spec(base)  # UnknownModelSpecError for a malformed spec
    if spec.alias == "embedded" or spec.alias == "embedded-calibrated":
        from rankwise.embedded import LEXICAL_WEIGHT, SEMANTIC_WEIGHT, embedded_model_path

        return TrainBase("bi-encoder", embedded_model_path(), "embedded", True, (SEMANTIC_WEIGHT, LEXICAL_WEIGHT))
    if spec.alias is not None:
        raise NotTrainableError(f"--base {base!r} is an alias rankwise train does not know how to fine-tune")
    if spec.is_single:
        source = spec.terms[0].source
        if source.kind not in TRAINABLE_KINDS:
            raise NotTrainableError(_refusal(base, str(source)))
        return TrainBase(source.kind, source.model, str(spec))
    if _is_embedded_shape(spec):
        semantic, lexical = spec.terms
        return TrainBase("bi-encoder", semantic.source.model, str(spec), True, (semantic.weight, lexical.weight))
    untrainable = [str(t.source) for t in spec.terms if t.source.kind not in (*TRAINABLE_KINDS, FIRST_STAGE)]
    raise NotTrainableError(
        _refusal(base, untrainable[0])
        if untrainable
        else f"--base {base!r}: a fusion can be trained only in the embedded shape "
        "'W1*bi-encoder:MODEL+W2*first-stage|lexical' (or give one bi-encoder:/cross-encoder: model alone)"
    )


def _is_embedded_shape(spec: ModelSpec) -> bool:
    if len(spec.terms) != 2:
        return False
    semantic, lexical = spec.terms
    return (
        semantic.source.kind == "bi-encoder"
        and semantic.fallback is None
        and lexical.source.is_first_stage
        and lexical.fallback is not None
        and lexical.fallback.kind == "lexical"
    )


def _refusal(base: str, source: str) -> str:
    kind = source.partition(":")[0]
    why = {
        "lexical": "BM25 has no weights to train",
        "monot5": "T5 rerankers are too large to fine-tune on a CPU in a time budget",
        "duot5": "T5 rerankers are too large to fine-tune on a CPU in a time budget",
        "yesno": "LLM rerankers are too large to fine-tune on a CPU in a time budget",
        "listwise": "an LLM behind an API cannot be fine-tuned from here",
    }.get(kind, "a rerank API's model cannot be fine-tuned from here")
    return (
        f"--base {base!r}: {source!r} cannot be trained ({why}); "
        "give embedded, bi-encoder:MODEL or cross-encoder:MODEL (a sentence-transformers model on disk)"
    )
