"""Fixtures of the serve tests: a lexical server (fast, exact scores) and its in-process twin."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # after the others: only serve_support lives here

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

from serve_support import running


@pytest.fixture(scope="module")
def lexical_server() -> Iterator[str]:
    from rankwise.serve import RerankService

    service = RerankService("lexical", api_keys=["test-key"])
    with running(service) as (url, _):
        yield url


@pytest.fixture(scope="module")
def lexical_reranker():  # type: ignore[no-untyped-def]
    from rankwise import Reranker

    return Reranker("lexical")
