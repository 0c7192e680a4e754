"""Fixtures of the architecture matrix: one tiny random model per architecture, its reference scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from core_support import load_module

tiny_models = load_module(Path(__file__).with_name("tiny_models.py"), "architecture_tiny_models")
QUERY, DOCS = tiny_models.QUERY, tiny_models.DOCS


class Built:
    """The models built so far in this session, each with sentence-transformers' ``predict`` scores."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.onnx_cache = root / "onnx-cache"
        self._paths: dict[str, str] = {}
        self._reference: dict[str, list[float]] = {}

    def path(self, architecture: str) -> str:
        if architecture not in self._paths:
            self._paths[architecture] = str(tiny_models.BUILDERS[architecture](self.root / architecture))
        return self._paths[architecture]

    def reference(self, architecture: str) -> list[float]:
        """``CrossEncoder.predict`` with the identity activation: the model's raw logits, the oracle."""
        if architecture not in self._reference:
            import torch
            from sentence_transformers import CrossEncoder

            model: Any = CrossEncoder(self.path(architecture), activation_fn=torch.nn.Identity())
            scores = model.predict([(QUERY, d) for d in DOCS], batch_size=4)
            self._reference[architecture] = [float(s) for s in scores]
        return self._reference[architecture]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tmp_path_factory.mktemp("architectures"))
