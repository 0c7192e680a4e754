"""Session fixtures for the T5/LLM backend tests (tiny local models, a scripted chat server)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _load_fixtures() -> ModuleType:
    name = "t5_llm_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fx = _load_fixtures()


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(fx.build_tiny_t5(tmp_path_factory.mktemp("tiny-t5")))


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(fx.build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llm")))


@pytest.fixture(scope="session")
def _chat_server_session() -> Iterator[object]:
    with fx.chat_server() as server:
        yield server


@pytest.fixture
def chat_server(_chat_server_session: object) -> object:
    _chat_server_session.reset()  # type: ignore[attr-defined]
    return _chat_server_session
