"""The cache tests keep every rankwise cache (ONNX exports, the file-hash memo) in their own tmp directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_rankwise_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANKWISE_CACHE_DIR", str(tmp_path / "rankwise-cache"))
