"""`model_fingerprint`: the key of the on-disk caches (ONNX exports, benchmark scores)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rankwise.backends.encoders.model_identity import model_fingerprint


def test_relative_and_absolute_paths_share_a_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert model_fingerprint("model") == model_fingerprint(str(model))
    assert model_fingerprint("./model", "int8") == model_fingerprint(str(model), "int8")


def test_rewriting_a_file_changes_the_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"1")
    before = model_fingerprint(str(tmp_path))
    (tmp_path / "weights.bin").write_bytes(b"12")
    assert model_fingerprint(str(tmp_path)) != before


def test_hub_ids_and_settings_are_distinct() -> None:
    assert model_fingerprint("org/a") != model_fingerprint("org/b")
    assert model_fingerprint("org/a", 1) != model_fingerprint("org/a", 2)
    assert not os.path.exists("org/a")  # a hub id is hashed as a string
