"""Lost in the middle: Haystack's golden orders and the budget options."""

from __future__ import annotations

import pytest

from rankwise import lost_in_the_middle


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [1]),
        (2, [1, 2]),
        (3, [1, 3, 2]),
        (9, [1, 3, 5, 7, 9, 8, 6, 4, 2]),
        (10, [1, 3, 5, 7, 9, 10, 8, 6, 4, 2]),
    ],
)
def test_golden_orders(n: int, expected: list[int]) -> None:
    assert lost_in_the_middle(list(range(1, n + 1))) == expected


def test_empty() -> None:
    assert lost_in_the_middle([]) == []


def test_top_n_keeps_the_best_before_reordering() -> None:
    assert lost_in_the_middle(list(range(1, 11)), top_n=4) == [1, 3, 4, 2]


def test_word_budget_includes_the_item_that_crosses_it() -> None:
    items = ["one two", "three four five", "six", "seven eight"]
    assert lost_in_the_middle(items, word_count_threshold=5) == ["one two", "three four five"]
    assert lost_in_the_middle(items, word_count_threshold=6) == ["one two", "six", "three four five"]


def test_custom_word_count() -> None:
    items = [{"text": "a b c"}, {"text": "d"}, {"text": "e f"}]
    out = lost_in_the_middle(items, word_count_threshold=4, word_count=lambda d: len(d["text"].split()))
    assert out == [{"text": "a b c"}, {"text": "d"}]


def test_does_not_mutate_input() -> None:
    items = [3, 2, 1]
    lost_in_the_middle(items)
    assert items == [3, 2, 1]


@pytest.mark.parametrize("kwargs", [{"top_n": 0}, {"top_n": -2}, {"word_count_threshold": 0}, {"top_n": True}])
def test_invalid_budgets(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        lost_in_the_middle([1, 2], **kwargs)  # type: ignore[arg-type]
