"""Fixtures for the rerank-API tests: one real local server for the session, reset before each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # after the others: only api_cases and rerank_api_server live here

from api_cases import ENV_VARS, KEY
from rerank_api_server import FakeRerankServer


@pytest.fixture(scope="session")
def _running_server() -> Iterator[FakeRerankServer]:
    with FakeRerankServer(key=KEY) as server:
        yield server


@pytest.fixture
def server(_running_server: FakeRerankServer, monkeypatch: pytest.MonkeyPatch) -> FakeRerankServer:
    """The local server with no faults scripted and no requests recorded; provider env vars cleared."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("CO_API_URL", raising=False)
    _running_server.reset()
    return _running_server
