"""rankwise.meta_field: every combination rule checked against a hand computation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from rankwise.meta_field import MetaFieldRanking


def ranked(ranking: MetaFieldRanking, docs: list[str], values: list[object], **kw: object) -> list[str]:
    return [r.document for r in ranking.rank(docs, values, **kw)]  # type: ignore[arg-type]


def test_rrf_matches_a_hand_computation() -> None:
    # Previous order a, b, c (ranks 1, 2, 3); field order (descending) c, a, b. k = 60, w = 0.5.
    ranking = MetaFieldRanking("year", weight=0.5)
    out = ranking.rank(["a", "b", "c"], [2010, 2000, 2020])
    expected = {"a": 0.5 / 61 + 0.5 / 62, "b": 0.5 / 62 + 0.5 / 63, "c": 0.5 / 63 + 0.5 / 61}
    assert [r.document for r in out] == ["a", "c", "b"]
    assert [r.score for r in out] == pytest.approx([expected[r.document] for r in out], abs=1e-15)
    assert [r.index for r in out] == [0, 2, 1]
    assert [r.rank for r in out] == [1, 2, 3]
    assert {r.score_kind for r in out} == {"relative"}
    assert out[0].backend == "meta-field:year"


def test_weights_zero_and_one_and_sort_order() -> None:
    docs, values = ["a", "b", "c"], [2010, 2000, 2020]
    assert ranked(MetaFieldRanking("y", weight=0.0), docs, values) == ["a", "b", "c"]
    assert ranked(MetaFieldRanking("y", weight=1.0), docs, values) == ["c", "a", "b"]
    assert ranked(MetaFieldRanking("y", weight=1.0, sort_order="ascending"), docs, values) == ["b", "a", "c"]


def test_linear_matches_a_hand_computation() -> None:
    # field scaled: (v - 2000) / 20 -> a 0.5, b 0, c 1; w = 0.25 -> 0.75 * prev + 0.25 * field.
    ranking = MetaFieldRanking("y", weight=0.25, ranking_mode="linear_score")
    out = ranking.rank(["a", "b", "c"], [2010, 2000, 2020], scores=[0.9, 0.8, 0.3])
    assert [(r.document, r.score) for r in out] == [
        ("a", pytest.approx(0.75 * 0.9 + 0.25 * 0.5)),
        ("b", pytest.approx(0.75 * 0.8)),
        ("c", pytest.approx(0.75 * 0.3 + 0.25)),
    ]
    asc = MetaFieldRanking("y", weight=1.0, ranking_mode="linear_score", sort_order="ascending")
    assert [r.score for r in asc.rank(["a", "b", "c"], [2010, 2000, 2020])] == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="index 1 has None"):
        ranking.rank(["a", "b"], [1, 2], scores=[0.5, None])
    with pytest.raises(ValueError, match="index 0 has None"):
        ranking.rank(["a", "b"], [1, 2])


def test_missing_value_policies() -> None:
    docs, values = ["a", "b", "c", "d"], [None, 1, None, 2]
    assert ranked(MetaFieldRanking("y"), docs, values) == ["d", "b", "a", "c"]
    assert ranked(MetaFieldRanking("y", missing="top"), docs, values) == ["a", "c", "d", "b"]
    assert ranked(MetaFieldRanking("y", missing="drop"), docs, values) == ["d", "b"]
    assert ranked(MetaFieldRanking("y", missing="drop"), ["a"], [None]) == []
    rrf = MetaFieldRanking("y", weight=0.5).rank(docs, values)
    assert rrf[2].document == "a"
    assert rrf[2].score == pytest.approx(0.5 / 61)


def test_values_dates_strings_numpy_and_ties() -> None:
    docs = ["a", "b", "c", "d"]
    values: list[object] = [
        date(2020, 1, 1),
        datetime(2021, 1, 1, tzinfo=UTC),
        "2019-06-01T00:00:00",
        np.float32(1.7e9),  # 2023-11
    ]
    assert ranked(MetaFieldRanking("when"), docs, values) == ["d", "b", "a", "c"]
    assert ranked(MetaFieldRanking("n"), ["a", "b", "c"], ["3", 5, "3"]) == ["b", "a", "c"]  # the tie keeps order
    with pytest.raises(TypeError, match="index 1 is 'soon'"):
        MetaFieldRanking("when").rank(["a", "b"], [1, "soon"])
    with pytest.raises(TypeError, match="index 0 is a bool"):
        MetaFieldRanking("flag").rank(["a"], [True])
    with pytest.raises(ValueError, match="not finite"):
        MetaFieldRanking("n").rank(["a"], [float("inf")])


def test_top_n_and_bad_settings() -> None:
    assert ranked(MetaFieldRanking("y", top_n=1), ["a", "b"], [1, 2]) == ["b"]
    assert ranked(MetaFieldRanking("y"), ["a", "b"], [1, 2], top_n=1) == ["b"]
    for kwargs, match in [
        ({"weight": 1.5}, "weight"),
        ({"weight": True}, "weight"),
        ({"ranking_mode": "linear"}, "ranking_mode"),
        ({"missing": "last"}, "missing"),
        ({"sort_order": "desc"}, "sort_order"),
        ({"top_n": 0}, "top_n"),
        ({"top_n": True}, "top_n"),
    ]:
        with pytest.raises(ValueError, match=match):
            MetaFieldRanking("y", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one field value"):
        MetaFieldRanking("y").rank(["a", "b"], [1])
