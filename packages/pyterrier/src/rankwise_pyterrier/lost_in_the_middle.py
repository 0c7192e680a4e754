"""`RankwiseLostInTheMiddle`: rankwise's lost-in-the-middle order as a PyTerrier transformer."""

from __future__ import annotations

import pandas as pd
import pyterrier as pt

from rankwise import lost_in_the_middle


class RankwiseLostInTheMiddle(pt.Transformer):  # type: ignore[misc]
    """Order each query's ranked documents for an LLM context: the best at both edges, the weakest in the middle.

    Input: a result frame (``qid``, ``docno``, and ``rank`` or ``score``), e.g. the output of
    `RankwiseReranker`. Each query's documents are taken best first (by ``rank``, else by ``score``
    descending, ties in input order) and reordered by `rankwise.lost_in_the_middle`: the best stays
    first, the second goes last. ``top_n`` keeps the best ``top_n``; ``word_count_threshold`` keeps
    documents while their total word count (of column ``text_field``) fits. The rows come back in the
    context order with ``rank`` set to that position; ``score`` is left as it was, so a relevance
    measure computed after this step is the one computed before it.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"qid": ["q"] * 5, "docno": list("abcde"), "rank": [0, 1, 2, 3, 4]})
    >>> RankwiseLostInTheMiddle().transform(frame)["docno"].tolist()
    ['a', 'c', 'e', 'd', 'b']
    """

    def __init__(
        self, *, top_n: int | None = None, word_count_threshold: int | None = None, text_field: str = "text"
    ) -> None:
        self.top_n = top_n
        self.word_count_threshold = word_count_threshold
        self.text_field = text_field

    def __repr__(self) -> str:
        return f"RankwiseLostInTheMiddle(top_n={self.top_n!r}, word_count_threshold={self.word_count_threshold!r})"

    def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
        """Reorder every query's documents of ``inp`` (see the class docstring)."""
        pt.validate.result_frame(inp, extra_columns=[self.text_field] if self.word_count_threshold else [])
        if "rank" not in inp.columns and "score" not in inp.columns:
            raise ValueError("the frame needs a 'rank' or a 'score' column to know which documents are best")
        if len(inp) == 0:
            return inp.copy()
        parts: list[pd.DataFrame] = []
        for _, group in inp.groupby("qid", sort=False):
            if "rank" in group.columns:
                best_first = group.sort_values("rank", kind="stable")
            else:
                best_first = group.sort_values("score", ascending=False, kind="stable")
            words = (
                [len(str(text).split()) for text in best_first[self.text_field]] if self.word_count_threshold else []
            )
            positions = lost_in_the_middle(
                list(range(len(best_first))),
                top_n=self.top_n,
                word_count_threshold=self.word_count_threshold,
                word_count=words.__getitem__,
            )
            rows = best_first.iloc[positions].copy()
            rows["rank"] = list(range(pt.model.FIRST_RANK, pt.model.FIRST_RANK + len(rows)))
            parts.append(rows)
        return pd.concat(parts, ignore_index=True)
