"""`RankwiseLostInTheMiddleRanker`: rankwise's lost-in-the-middle order as a Haystack component."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations to build the sockets.

from haystack import Document, component

from haystack_integrations.components.rankers.rankwise._documents import Settings, check_top_k
from rankwise import lost_in_the_middle


@component
class RankwiseLostInTheMiddleRanker(Settings):
    """Place best-first documents so the best sit at both edges of the context, the weakest in the middle.

    Put it after `RankwiseRanker` (documents must be ranked best first). The best
    document stays first and the second goes last, as in Haystack's
    ``LostInTheMiddleRanker``. ``top_k`` (rankwise's ``top_n``) keeps the best
    ``top_k``; ``word_count_threshold`` keeps documents while their total word
    count fits (the document that crosses it is kept). The same `Document`
    objects are returned, reordered.

    >>> from haystack import Document
    >>> docs = [Document(content=str(i)) for i in range(1, 6)]
    >>> [d.content for d in RankwiseLostInTheMiddleRanker().run(documents=docs)["documents"]]
    ['1', '3', '5', '4', '2']
    """

    settings = ("top_k", "word_count_threshold")

    def __init__(self, top_k: int | None = None, word_count_threshold: int | None = None) -> None:
        top_k = check_top_k(top_k)
        lost_in_the_middle([], word_count_threshold=word_count_threshold)  # the core validates it
        self.top_k = top_k
        self.word_count_threshold = word_count_threshold

    @component.output_types(documents=list[Document])
    def run(
        self, documents: list[Document], top_k: int | None = None, word_count_threshold: int | None = None
    ) -> dict[str, list[Document]]:
        """Reorder ``documents``; ``top_k``/``word_count_threshold`` override the init values."""
        top_k = check_top_k(top_k)
        return {
            "documents": lost_in_the_middle(
                documents,
                top_n=self.top_k if top_k is None else top_k,
                word_count_threshold=self.word_count_threshold
                if word_count_threshold is None
                else word_count_threshold,
                word_count=lambda doc: len((doc.content or "").split()),
            )
        }
