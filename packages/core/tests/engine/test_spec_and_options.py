"""Issue 10 item 1: specs are typed objects that round-trip; options reach exactly the kind they name."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rankwise_fakes import WordOverlapBackend

from rankwise import Reranker, UnknownModelSpecError, parse_spec
from rankwise.calibration import Calibration
from rankwise.spec import ModelSpec, Source, Term
from rankwise.term_options import route

SOURCES = ["lexical", "first-stage", "cross-encoder:org/model", "bi-encoder:/tmp/minilm", "cohere:rerank-v3.5"]


@given(
    st.lists(
        st.tuples(st.sampled_from([1.0, 0.5, 0.25, 2.0, 1.3]), st.sampled_from(SOURCES), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_a_spec_round_trips_through_its_string(parts: list[tuple[float, str, bool]]) -> None:
    text = "+".join(f"{w:g}*{s}" + ("|lexical" if bar and s == "first-stage" else "") for w, s, bar in parts)
    spec = parse_spec(text)
    assert isinstance(spec, ModelSpec)
    assert parse_spec(str(spec)) == spec
    assert [t.weight for t in spec.terms] == [w for w, _, _ in parts]


def test_terms_are_typed() -> None:
    spec = parse_spec("0.7*cross-encoder:ms-marco+0.3*first-stage|lexical")
    assert spec.terms == (
        Term(0.7, Source("cross-encoder", "ms-marco")),
        Term(0.3, Source("first-stage"), Source("lexical")),
    )
    assert spec.kinds == ("cross-encoder", "lexical")
    assert spec.uses_first_stage


def test_the_embedded_alias_keeps_its_name_and_expands() -> None:
    spec = parse_spec("embedded")
    assert str(spec) == "embedded"
    assert spec.kinds == ("bi-encoder", "lexical")
    assert parse_spec(spec.expanded()).terms == spec.terms


@pytest.mark.parametrize("weight", ["nan", "inf", "1e309", "-1", "-inf"])
def test_non_finite_or_negative_weights_are_rejected(weight: str) -> None:
    with pytest.raises(UnknownModelSpecError, match="finite"):
        parse_spec(f"{weight}*lexical+0.5*first-stage")


def test_flat_options_for_a_fusion_are_an_error_not_a_type_error_inside_lexical() -> None:
    with pytest.raises(ValueError, match="key backend_options by kind"):
        Reranker("0.5*cross-encoder:x+0.5*lexical", backend_options={"precision": "bf16"})


def test_options_for_a_kind_the_spec_does_not_use_raise_naming_it() -> None:
    with pytest.raises(ValueError, match="'bi-encoder'"):
        Reranker("lexical", backend_options={"bi-encoder": {"precision": "fp32"}})
    with pytest.raises(ValueError, match="'cross-encoder'"):
        Reranker("embedded", backend_options={"cross-encoder": {"backend": "torch"}})


def test_keyed_options_reach_only_their_kind_and_alias_defaults_sit_underneath() -> None:
    spec = parse_spec("embedded")
    options = route(spec, {"bi-encoder": {"embedding_cache_dir": "/tmp/x"}}, {"bi-encoder": {"precision": "fp32"}})
    assert options == [{"precision": "fp32", "embedding_cache_dir": "/tmp/x"}, {}]
    assert route(parse_spec("lexical"), {"k1": 1.2}) == [{"k1": 1.2}]


def test_mixed_flat_and_keyed_options_are_an_error() -> None:
    with pytest.raises(ValueError, match="mixes kind keys"):
        Reranker("lexical", backend_options={"lexical": {}, "k1": 1.0})


def test_lexical_options_reach_the_lexical_backend_of_a_fusion() -> None:
    rr = Reranker("0.5*lexical+0.5*first-stage", backend_options={"lexical": {"k1": 0.1, "b": 0.0}})
    (backend,) = rr.backends
    assert (backend.k1, backend.b) == (0.1, 0.0)  # type: ignore[attr-defined]


def test_a_fallback_given_as_a_string_inherits_every_setting() -> None:
    rr = Reranker(
        "jina:m",
        api_key="k-1",
        base_url="http://127.0.0.1:9",
        timeout=3.0,
        max_concurrency=3,
        chunk_size=40,
        chunk_overlap=5,
        backend_options={"max_retries": 0},
        fallback="jina:other",
    )
    fallback = rr.fallback
    assert isinstance(fallback, Reranker)
    s = fallback.settings
    assert (s.api_key, s.base_url, s.timeout, s.max_concurrency) == ("k-1", "http://127.0.0.1:9", 3.0, 3)
    assert (s.chunk_size, s.chunk_overlap, dict(s.backend_options)) == (40, 5, {"max_retries": 0})
    (backend,) = fallback.backends
    assert backend.policy.max_retries == 0  # type: ignore[attr-defined]


def test_a_key_is_never_handed_to_a_fallback_of_another_provider() -> None:
    rr = Reranker("jina:m", api_key="jina-key", base_url="http://127.0.0.1:9", fallback="lexical")
    assert rr.fallback is not None
    assert rr.fallback.settings.api_key is None
    assert rr.fallback.settings.base_url is None


def test_a_given_backend_still_works_without_a_spec() -> None:
    results = Reranker(WordOverlapBackend()).rerank("cats", ["dogs", "cats"])
    assert [r.index for r in results] == [1, 0]
    assert results[0].backend == "overlap"
    assert math.isfinite(results[0].score)


def test_the_default_ships_its_calibration_and_another_normalisation_turns_it_off() -> None:
    default = Reranker("embedded")
    assert default.calibration is not None
    assert default.calibration.model == Reranker().calibration.model  # type: ignore[union-attr]
    calibrated = Reranker("embedded-calibrated")  # the name it had while opt-in
    assert str(calibrated.spec) == "embedded-calibrated"
    assert calibrated.spec.terms == parse_spec("embedded").terms
    assert calibrated.calibration is not None
    assert Reranker("embedded", normalize="minmax").calibration is None
    assert Reranker("embedded", normalize="none").calibration is None


def test_a_calibration_given_with_another_normalisation_is_an_error_not_silently_preferred() -> None:
    shipped = Reranker("embedded").calibration
    assert Reranker("embedded", calibration=shipped, normalize="calibrated").calibration is shipped
    for other in ("none", "minmax", "sigmoid"):
        with pytest.raises(ValueError, match=f"normalize={other!r} asks not to do"):
            Reranker("embedded", calibration=shipped, normalize=other)  # type: ignore[arg-type]


def test_a_calibration_for_another_model_suggests_a_command_with_the_spec_as_written() -> None:
    from rankwise.calibration import CalibrationMismatchError
    from rankwise.embedded import embedded_model_path

    lexical = Calibration("lexical", Reranker("embedded").calibration.variants)  # type: ignore[union-attr]
    with pytest.raises(CalibrationMismatchError, match="--model 'embedded' --out FILE") as info:
        Reranker("embedded", calibration=lexical)
    assert str(embedded_model_path()) not in str(info.value)  # not the alias's expansion with an install path


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("embeded", "did you mean 'embedded'\\? the kind 'embeded' is not one of .*nor an alias \\(.*embedded"),
        ("cross-encodr:m", "did you mean 'cross-encoder'"),
        ("0.5*+lexical", "model spec '0.5\\*\\+lexical' has a weight with no model after its"),
        ("first-stage|", "model spec 'first-stage\\|' has nothing after"),
    ],
)
def test_malformed_specs_are_named_whole_with_the_likely_fix(spec: str, match: str) -> None:
    with pytest.raises(UnknownModelSpecError, match=match):
        Reranker(spec)


async def test_a_backend_shared_by_two_terms_runs_once_per_call_sync_and_async() -> None:
    rr = Reranker("0.5*lexical+0.5*first-stage|lexical")
    assert len(rr.backends) == 1
    docs = ["cats purr", "dogs bark", "cats and dogs"]
    sync = rr.rerank_with_report("cats", docs)[1]
    asynchronous = (await rr.arerank_with_report("cats", docs))[1]
    assert (sync.batches, asynchronous.batches) == (1, 1)
