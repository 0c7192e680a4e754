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


def test_content_not_size_or_mtime_names_a_directory(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 64)
    stat = weights.stat()
    before = model_fingerprint(str(tmp_path))
    weights.write_bytes(b"b" * 64)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert model_fingerprint(str(tmp_path)) != before


def test_the_disk_memo_is_reused_and_never_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rankwise.backends.encoders import model_identity

    monkeypatch.setenv("RANKWISE_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(os.urandom(2 << 20))  # over the 1 MiB the disk memo starts at
    model_identity.forget_file_hashes()
    first = model_fingerprint(str(model))
    assert (tmp_path / "cache" / "file-hashes.json").is_file()
    model_identity.forget_file_hashes()  # a new process: the memo file answers, the file is not read

    def never_open(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"re-read {args[0]} although the disk memo knew it")

    monkeypatch.setattr(model_identity, "open", never_open, raising=False)  # shadows the builtin there
    assert model_fingerprint(str(model)) == first
    monkeypatch.delattr(model_identity, "open")
    stat = weights.stat()
    weights.write_bytes(os.urandom(2 << 20))  # same size, same mtime: the ctime still moves
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    model_identity.forget_file_hashes()
    assert model_fingerprint(str(model)) != first
