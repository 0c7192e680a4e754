"""`RankwiseReranker`: a PyTerrier re-ranking transformer that scores with a rankwise `Reranker`."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyterrier as pt

from rankwise import Reranker
from rankwise.validation import optional_positive_int

RESULT_COLUMNS = ("qid", "query", "docno")


class RankwiseReranker(pt.Transformer):  # type: ignore[misc]
    """Re-rank a PyTerrier result frame with any rankwise model: ``retriever >> RankwiseReranker(...)``.

    Input: a result frame with ``qid``, ``query``, ``docno`` and the document text (column
    ``text_field``, default ``"text"``; ``pt.text.get_text`` adds it), optionally ``score``: the
    first-stage score, handed to rankwise as ``first_stage_scores`` (specs with a ``first-stage``
    term, such as ``"embedded"``, fuse it). Output: the same rows and columns (cut to ``top_n`` and
    ``score_threshold`` per query), ``score`` replaced by rankwise's score and ``rank`` set as
    PyTerrier's data model defines it (0 for the best document of each query, in score order; rankwise
    keeps input order for ties), each query's rows together (queries in input order), best first. Each query's candidates go to rankwise
    in one ``rerank`` call, which batches them; nothing is scored here.

    ``model`` is a rankwise spec (``"embedded"``, ``"cross-encoder:<hub id or path>"``, ``"lexical"``, a
    fusion) or a ready `rankwise.Reranker`; ``reranker_kwargs`` go to `Reranker` (``device``,
    ``batch_size``, ...). The model is built on first use.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"qid": ["q1", "q1"], "query": ["cats", "cats"], "docno": ["d1", "d2"],
    ...                       "text": ["dogs bark", "cats purr"], "score": [2.0, 1.0]})
    >>> out = RankwiseReranker("lexical").transform(frame)
    >>> out[["qid", "docno", "rank"]].values.tolist()
    [['q1', 'd2', 0], ['q1', 'd1', 1]]
    """

    def __init__(
        self,
        model: str | Reranker = "embedded",
        *,
        top_n: int | None = None,
        score_threshold: float | None = None,
        text_field: str = "text",
        use_first_stage_score: bool = True,
        **reranker_kwargs: Any,
    ) -> None:
        optional_positive_int("top_n", top_n)
        if isinstance(model, Reranker) and reranker_kwargs:
            raise TypeError(
                f"options {sorted(reranker_kwargs)} are for building a Reranker from a spec; "
                "a ready Reranker was given: configure it where it is built"
            )
        self.model = model
        self.top_n = top_n
        self.score_threshold = score_threshold
        self.text_field = text_field
        self.use_first_stage_score = use_first_stage_score
        self.reranker_kwargs = reranker_kwargs
        self._reranker: Reranker | None = model if isinstance(model, Reranker) else None

    @property
    def reranker(self) -> Reranker:
        """The `rankwise.Reranker` in use, built from ``model`` on first access."""
        if self._reranker is None:
            self._reranker = Reranker.of(self.model, **self.reranker_kwargs)
        return self._reranker

    def __repr__(self) -> str:
        model = self.model if isinstance(self.model, str) else self.model.model
        return f"RankwiseReranker({model!r})"

    def transform(self, inp: pd.DataFrame) -> pd.DataFrame:
        """Re-rank every query of ``inp`` (see the class docstring for the frame's columns)."""
        pt.validate.result_frame(inp, extra_columns=["query", self.text_field])
        if len(inp) == 0:
            out = inp.copy()
            out["score"] = pd.Series(dtype="float64")
            out["rank"] = pd.Series(dtype="int64")
            return out
        first_stage = self.use_first_stage_score and "score" in inp.columns
        parts: list[pd.DataFrame] = []
        for qid, group in inp.groupby("qid", sort=False):
            queries = group["query"].unique()
            if len(queries) != 1:
                raise ValueError(f"query id {qid!r} has {len(queries)} different query texts; one qid, one query")
            results = self.reranker.rerank(
                str(queries[0]),
                [str(text) for text in group[self.text_field]],
                top_n=self.top_n,
                score_threshold=self.score_threshold,
                first_stage_scores=group["score"].astype("float64").tolist() if first_stage else None,
            )
            rows = group.iloc[[r.index for r in results]].copy()
            rows["score"] = [r.score for r in results]
            rows["rank"] = list(range(pt.model.FIRST_RANK, pt.model.FIRST_RANK + len(results)))
            parts.append(rows)
        return pd.concat(parts, ignore_index=True)
