"""`RankwiseMetaFieldRanker`: rankwise's metadata-field ranking as a Haystack component."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations to build the sockets.

from haystack import Document, component

from haystack_integrations.components.rankers.rankwise._documents import Settings, check_top_k, scored_copy
from rankwise.adapter_support import meta_field_ranking
from rankwise.meta_field import MissingPolicy, RankingMode, SortOrder


@component
class RankwiseMetaFieldRanker(Settings):
    """Combine the previous ranking with ``meta[meta_field]``, with ``MetaFieldRanker``'s parameters.

    ``weight`` 1 ranks by the field alone, 0 keeps the previous order; ``ranking_mode`` is
    ``"reciprocal_rank_fusion"`` or ``"linear_score"`` (with the documents' ``score``);
    ``missing_meta`` places documents without the field (``"bottom"``, ``"top"``,
    ``"drop"``). Values may be numbers, dates or ISO-8601 strings (see
    `rankwise.meta_field` for every rule). Returns copies scored with the combination
    (``meta["score_kind"] == "relative"``).

    >>> from haystack import Document
    >>> docs = [Document(content="old", meta={"year": 2001}), Document(content="new", meta={"year": 2024})]
    >>> [d.content for d in RankwiseMetaFieldRanker(meta_field="year").run(documents=docs)["documents"]]
    ['new', 'old']
    """

    settings = ("meta_field", "weight", "top_k", "ranking_mode", "sort_order", "missing_meta")

    def __init__(
        self,
        meta_field: str,
        weight: float = 1.0,
        top_k: int | None = None,
        ranking_mode: RankingMode = "reciprocal_rank_fusion",
        sort_order: SortOrder = "descending",
        missing_meta: MissingPolicy = "bottom",
    ) -> None:
        top_k = check_top_k(top_k)
        self.meta_field, self.weight, self.top_k = meta_field, weight, top_k
        self.ranking_mode, self.sort_order, self.missing_meta = ranking_mode, sort_order, missing_meta
        self._ranking = meta_field_ranking(self)  # checks them now

    @component.output_types(documents=list[Document])
    def run(
        self, documents: list[Document], top_k: int | None = None, weight: float | None = None
    ) -> dict[str, list[Document]]:
        """Re-rank ``documents`` by the field; ``top_k``/``weight`` override the init values."""
        top_k = check_top_k(top_k)
        ranking = self._ranking if weight is None else meta_field_ranking(self, weight=weight)
        values = [d.meta.get(self.meta_field) for d in documents]
        results = ranking.rank(
            documents, values, scores=[d.score for d in documents], top_n=self.top_k if top_k is None else top_k
        )
        return {"documents": [scored_copy(documents[r.index], r.score, r.score_kind) for r in results]}
