"""`RankwiseDiversityRanker`: rankwise's MMR diversity order as a Haystack component."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations to build the sockets.

from haystack import Document, component

from haystack_integrations.components.rankers.rankwise._documents import Settings, check_top_k, text_of
from rankwise.diversity import Diversifier


@component
class RankwiseDiversityRanker(Settings):
    """Order documents by maximal marginal relevance, like ``SentenceTransformersDiversityRanker``'s MMR.

    ``model`` names the embeddings: ``"embedded"`` (the bundled MiniLM) or any spec with a
    bi-encoder term. ``lambda_threshold`` is Haystack's name for the trade-off (1:
    relevance only, 0: novelty only); ``top_k`` cuts. The text embedded is
    ``meta_fields_to_embed`` values and ``content`` joined with ``embedding_separator``.
    The same `Document` objects are returned, reordered (see `rankwise.diversity`).

    >>> from haystack import Document
    >>> ranker = RankwiseDiversityRanker(lambda_threshold=0.3)
    >>> ranker.warm_up()
    >>> docs = [Document(content=t) for t in ["cats purr", "a cat purrs", "dogs bark"]]
    >>> ranker.run(query="cats", documents=docs)["documents"][-1].content != "dogs bark"
    True
    """

    settings = ("model", "top_k", "lambda_threshold", "meta_fields_to_embed", "embedding_separator")

    def __init__(
        self,
        model: str = "embedded",
        *,
        top_k: int | None = None,
        lambda_threshold: float = 0.5,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
    ) -> None:
        top_k = check_top_k(top_k)
        self._diversifier = Diversifier(model, lambda_mult=lambda_threshold)  # checks the spec; loads nothing
        self.model, self.top_k, self.lambda_threshold = model, top_k, lambda_threshold
        self.meta_fields_to_embed = meta_fields_to_embed or []
        self.embedding_separator = embedding_separator

    def warm_up(self) -> None:
        """Load the encoder; calling it again does nothing."""
        self._diversifier.load()

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, documents: list[Document], top_k: int | None = None, lambda_threshold: float | None = None
    ) -> dict[str, list[Document]]:
        """``documents`` in MMR order for ``query``; ``top_k``/``lambda_threshold`` override the init values."""
        top_k = check_top_k(top_k)
        texts = [text_of(d, i, self.meta_fields_to_embed, self.embedding_separator) for i, d in enumerate(documents)]
        results = self._diversifier.diversify(
            query, texts, top_n=self.top_k if top_k is None else top_k, lambda_mult=lambda_threshold
        )
        return {"documents": [documents[r.index] for r in results]}
