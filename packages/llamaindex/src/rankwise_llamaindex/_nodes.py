"""LlamaIndex nodes in and out: the texts the core scores, independent scored copies, the shared option checks."""

from __future__ import annotations

import copy
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.schema import MetadataMode, NodeWithScore, RelatedNodeInfo

from rankwise.adapter_support import kind_key

#: The node metadata key of the score's kind (``NodeWithScore.score`` holds the score).
SCORE_KIND_KEY = kind_key("score")


def texts_of(nodes: list[NodeWithScore], mode: MetadataMode) -> list[str]:
    """Each node's content as the core scores it, with a clear error for anything else."""
    for index, item in enumerate(nodes):
        if not isinstance(item, NodeWithScore):
            raise TypeError(f"node at index {index} is a {type(item).__name__}, expected a NodeWithScore")
    return [n.node.get_content(metadata_mode=mode) for n in nodes]


def scored_copy(item: NodeWithScore, score: float, kind: str, extra: dict[str, Any] | None = None) -> NodeWithScore:
    """A copy of ``item``'s node that shares nothing mutable with it, with the score and its kind.

    Every mutable field (metadata, relationships, the excluded-key lists, the embedding) is
    copied; a shallow ``model_copy`` plus these copies is ~10x cheaper than ``model_copy(deep=True)``
    (benchmarks/adapter_copy_cost.py). The added metadata keys are excluded from the embedding and
    LLM text, so they never reach a prompt.
    """
    source = item.node
    mutable = {
        name: list(value) if name == "embedding" else _independent(value)
        for name in type(source).model_fields
        if isinstance(value := getattr(source, name), (dict, list, set, BaseModel))
    }
    node = source.model_copy(update=mutable)
    added = {SCORE_KIND_KEY: kind, **(extra or {})}
    node.metadata.update(added)
    for excluded in (node.excluded_embed_metadata_keys, node.excluded_llm_metadata_keys):
        excluded.extend(k for k in added if k not in excluded)
    return NodeWithScore(node=node, score=score)


def _independent(value: Any) -> Any:
    """A copy sharing nothing mutable (related-node infos field by field: a deep pydantic copy is slow)."""
    if isinstance(value, dict) and all(isinstance(v, RelatedNodeInfo) for v in value.values()):
        return {k: v.model_copy(update={"metadata": copy.deepcopy(v.metadata)}) for k, v in value.items()}
    return copy.deepcopy(value)
