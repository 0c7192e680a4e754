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
    idf,
    idf_coverage,
    query_idf_mass,
    query_length,
    stems,
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


def test_idf_coverage_weights_each_query_word_by_its_static_idf() -> None:
    # "protein" is common in the table's Wikipedia paragraphs, "chromodynam(ics)" unseen: matching the rare
    # word covers more of the query than matching the common one
    query = "protein chromodynamics"
    weights = {s: idf(s) for s in stems(query)}
    assert weights["protein"] < weights["chromodynam"]
    assert idf_coverage(query, "Protein structure.") == pytest.approx(weights["protein"] / sum(weights.values()))
    assert idf_coverage(query, "Chromodynamics on a lattice.") > 0.5 > idf_coverage(query, "Proteins fold.")
    assert idf_coverage(query, "Proteins and chromodynamics.") == pytest.approx(1.0)
    assert idf_coverage(query, "Bananas are yellow.") == 0.0
    assert idf_coverage("the of and", "anything") == 0.0  # nothing but stop words


def test_idf_features_read_the_shipped_table_and_never_the_candidates() -> None:
    # the same document scores the same beside any other candidates: the weights come from the table
    alone = feature_matrix(["idf_coverage", "t0*qidf^-1"], "protein folding", ["protein"], [np.array([3.0])])
    crowd = feature_matrix(
        ["idf_coverage", "t0*qidf^-1"], "protein folding", ["protein", "folding " * 50, "x"], [np.array([3.0, 1, 0])]
    )
    np.testing.assert_array_equal(alone[0], crowd[0])
    assert alone[0, 1] == pytest.approx(3.0 / query_idf_mass("protein folding"))
    assert query_idf_mass("the of") == 1.0  # at least 1: no division by zero
