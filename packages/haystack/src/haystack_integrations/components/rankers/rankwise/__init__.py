"""rankwise for Haystack: `RankwiseRanker`, `RankwiseDiversityRanker`, `RankwiseMetaFieldRanker`, `RankwiseLostInTheMiddleRanker`."""

from haystack_integrations.components.rankers.rankwise.diversity import RankwiseDiversityRanker
from haystack_integrations.components.rankers.rankwise.lost_in_the_middle import RankwiseLostInTheMiddleRanker
from haystack_integrations.components.rankers.rankwise.meta_field import RankwiseMetaFieldRanker
from haystack_integrations.components.rankers.rankwise.ranker import RankwiseRanker

__all__ = ["RankwiseDiversityRanker", "RankwiseLostInTheMiddleRanker", "RankwiseMetaFieldRanker", "RankwiseRanker"]
