"""ECE and Brier against hand computations."""

from __future__ import annotations

import numpy as np

from rankwise.calibration.metrics import brier_score, expected_calibration_error, top_k


def test_ece_is_the_weighted_gap_per_equal_width_bin() -> None:
    p = [0.05, 0.05, 0.15, 0.95, 0.95, 0.95, 0.95]
    y = [0, 0, 1, 1, 1, 1, 0]
    # bin 0: mean p 0.05, share 0 -> 0.05 x 2/7; bin 1: 0.15 vs 1 -> 0.85 x 1/7; bin 9: 0.95 vs 0.75 -> 0.2 x 4/7
    expected = 0.05 * 2 / 7 + 0.85 / 7 + 0.2 * 4 / 7
    assert abs(expected_calibration_error(p, y) - expected) < 1e-12


def test_a_probability_of_one_falls_in_the_last_bin() -> None:
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == 0.0
    assert expected_calibration_error([], []) == 0.0


def test_brier_is_the_mean_squared_error() -> None:
    assert abs(brier_score([0.8, 0.3, 0.0], [1, 0, 0]) - (0.04 + 0.09) / 3) < 1e-12


def test_top_k_keeps_list_order_on_ties() -> None:
    p, y = top_k([(np.array([0.5, 0.5, 0.9]), np.array([0, 1, 0]))], k=2)
    assert p.tolist() == [0.9, 0.5]
    assert y.tolist() == [0, 0]
