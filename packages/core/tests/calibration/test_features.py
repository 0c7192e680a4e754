"""The per-document features calibrations read."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rankwise.calibration.features import (
    FeatureError,
    check_features,
    coverage,
    feature_matrix,
    query_length,
    terms_used,
)


def test_coverage_counts_distinct_stemmed_query_words_without_stop_words() -> None:
    assert coverage("the cats are sleeping", "A cat sleeps.") == 1.0
    assert coverage("cats and dogs", "a dog") == 0.5
    assert coverage("the of and", "anything") == 0.0  # nothing but stop words
    assert coverage("quantum chromodynamics", "Bananas are yellow.") == 0.0


def test_query_length_ignores_stop_words_and_is_at_least_one() -> None:
    assert query_length("What is in Paris?") == 2
    assert query_length("the of") == 1


def test_feature_matrix_multiplies_factors() -> None:
    raw = [np.array([0.5, -0.2]), np.array([3.0, 0.0])]
    got = feature_matrix(
        ["t0", "log1p(t1)", "t0*log1p(t1)", "t1*qlen^-1", "log(qlen)", "t0^2", "1"], "cats purr", ["x", "y"], raw
    )
    expected = [
        [0.5, math.log(4.0), 0.5 * math.log(4.0), 1.5, math.log(2.0), 0.25, 1.0],
        [-0.2, 0.0, 0.0, 0.0, math.log(2.0), 0.04, 1.0],
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_log1p_clips_negative_scores_at_zero() -> None:
    got = feature_matrix(["log1p(t0)"], "q", ["a"], [np.array([-5.0])])
    assert got.tolist() == [[0.0]]


@pytest.mark.parametrize("name", ["sqrt(t0)", "t", "tx", "log1p(coverage)", "t0^3"])
def test_unknown_features_are_refused(name: str) -> None:
    with pytest.raises(FeatureError) as info:
        check_features([name])
    assert isinstance(info.value, ValueError)


def test_terms_used_lists_the_term_indices_read() -> None:
    assert terms_used(["t0", "coverage", "t2*log1p(t1)"]) == {0, 1, 2}
