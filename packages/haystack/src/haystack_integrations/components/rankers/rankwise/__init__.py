"""rankwise for Haystack: `RankwiseRanker` and `RankwiseLostInTheMiddleRanker` components."""

from haystack_integrations.components.rankers.rankwise.lost_in_the_middle import RankwiseLostInTheMiddleRanker
from haystack_integrations.components.rankers.rankwise.ranker import RankwiseRanker

__all__ = ["RankwiseLostInTheMiddleRanker", "RankwiseRanker"]
