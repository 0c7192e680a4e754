"""Permutation parsing: every malformed answer still yields each passage exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankwise.backends.llm.permutation import identifiers, parse_permutation


def _is_permutation(order: tuple[int, ...], n: int) -> bool:
    return sorted(order) == list(range(n))


@pytest.mark.parametrize(
    ("answer", "n", "order", "parsed", "clean"),
    [
        ("[2] > [1] > [3]", 3, (1, 0, 2), True, True),  # well formed
        ("[3] > [1]", 4, (2, 0, 1, 3), True, False),  # partial: missing appended in previous order
        ("[2] > [2] > [1] > [1]", 3, (1, 0, 2), True, False),  # duplicated
        ("[9] > [0] > [-1] > [2]", 3, (1, 0, 2), True, False),  # out of range, no negative wrap-around
        ("Sure! The 3 passages ranked: [3] > [1] > [2]. Hope it helps.", 3, (2, 0, 1), True, True),  # prose around
        ("", 3, (0, 1, 2), False, False),  # empty
        ("I cannot rank these.", 3, (0, 1, 2), False, False),  # prose only
        ("[7] > [8]", 3, (0, 1, 2), False, False),  # nothing in range
        ("3 > 1 > 2", 3, (2, 0, 1), True, True),  # bare list
        ("3, 1, 2", 3, (2, 0, 1), True, True),
        ("[ 2 ]>[1]", 2, (1, 0), True, True),
        ("[1]", 1, (0,), True, True),
    ],
)
def test_parsing_cases_lose_and_duplicate_nothing(
    answer: str, n: int, order: tuple[int, ...], parsed: bool, clean: bool
) -> None:
    result = parse_permutation(answer, n)
    assert result.order == order
    assert _is_permutation(result.order, n)
    assert result.parsed is parsed
    assert result.clean is clean


def test_details_name_what_was_repaired() -> None:
    result = parse_permutation("[4] > [0] > [4] > [-2] > [1]", 5)
    assert result.order == (3, 0, 1, 2, 4)
    assert result.missing == (1, 2, 4)
    assert result.duplicates == 1
    assert result.out_of_range == (0, -2)


def test_zero_passages_and_bad_n() -> None:
    assert parse_permutation("[1]", 0).order == ()
    with pytest.raises(ValueError, match="non-negative"):
        parse_permutation("[1]", -1)


def test_bracketed_identifiers_win_over_numbers_in_prose() -> None:
    assert identifiers("Of the 20 passages, [2] > [1] is best; 5 more tie.") == [2, 1]


@given(st.text(), st.integers(min_value=0, max_value=40))
def test_any_text_yields_a_permutation(answer: str, n: int) -> None:
    assert _is_permutation(parse_permutation(answer, n).order, n)


@given(
    st.lists(st.integers(min_value=-5, max_value=45), max_size=60),
    st.integers(min_value=1, max_value=40),
    st.sampled_from([" > ", ">", ", ", " "]),
)
def test_identifier_lists_keep_first_mentions_then_the_rest(idents: list[int], n: int, sep: str) -> None:
    answer = sep.join(f"[{i}]" for i in idents)
    result = parse_permutation(answer, n)
    assert _is_permutation(result.order, n)
    mentioned = list(dict.fromkeys(i - 1 for i in idents if 1 <= i <= n))
    assert list(result.order[: len(mentioned)]) == mentioned
    assert list(result.order[len(mentioned) :]) == [p for p in range(n) if p not in mentioned]
    assert result.parsed is bool(mentioned)
