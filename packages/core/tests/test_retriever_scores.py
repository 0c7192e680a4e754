"""rankwise.retriever_scores: the one rule every adapter uses for the retriever's scores."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise.retriever_scores import retriever_scores


def test_all_scores_or_none() -> None:
    assert retriever_scores([1, 0.5, np.float32(0.25)]) == [1.0, 0.5, 0.25]
    assert all(type(s) is float for s in retriever_scores([1, np.float64(2.0)]) or [])
    assert retriever_scores([0.5, None]) is None
    assert retriever_scores([]) is None
    assert retriever_scores([0.5, 0.2], use=False) is None
    assert retriever_scores(iter([0.1, 0.2])) == [0.1, 0.2]


def test_unset_means_unless_calibrated_and_an_explicit_switch_wins() -> None:
    assert retriever_scores([0.5, 0.2], calibrated=True) is None  # a calibration's first-stage scale is fixed
    assert retriever_scores([0.5, 0.2], calibrated=False) == [0.5, 0.2]
    assert retriever_scores([0.5, 0.2], use=True, calibrated=True) == [0.5, 0.2]
    assert retriever_scores([0.5, 0.2], use=False, calibrated=False) is None


@pytest.mark.parametrize("bad", ["0.5", True, [0.5], object()])
def test_a_non_number_names_the_index(bad: object) -> None:
    with pytest.raises(TypeError, match=r"index 1 is .*use_retriever_scores=False"):
        retriever_scores([0.3, bad])
