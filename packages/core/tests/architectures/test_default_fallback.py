"""The default never fails where torch fp32 works; the ONNX cache survives half-written and unwritable entries.

The failing model is real: a ``trust_remote_code`` classifier whose Python branch on the batch size is frozen
by the tracer, so its export runs but gives wrong logits, which the export's self-check catches.
"""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from core_support import load_module

from rankwise.backends.base import BackendConfig
from rankwise.backends.encoders import cross_encoder_factory
from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec
from rankwise.backends.encoders.cross_encoder_modes import ModeUnavailableError
from rankwise.backends.encoders.onnx_export import (
    CONFIG_FILE,
    FAILED_FILE,
    MODEL_FILE,
    OnnxCacheError,
    atomic_write,
    entry_dir,
)
from rankwise.errors import RankwiseError

tiny_models = load_module(Path(__file__).with_name("tiny_models.py"), "architecture_tiny_models")
QUERY, DOCS = tiny_models.QUERY, tiny_models.DOCS[:4]


@pytest.fixture(scope="module")
def untraceable(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tiny_models.build_untraceable(tmp_path_factory.mktemp("untraceable") / "model"))


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tiny_models.build_bert(tmp_path_factory.mktemp("bert") / "model"))


@pytest.fixture(autouse=True)
def fresh_process_warnings() -> None:
    """Each test starts like a new process: nothing warned yet."""
    cross_encoder_factory._WARNED.clear()


def build(model: str, cache: Path | str, **options: Any) -> Any:
    return cross_encoder_from_spec(
        model, BackendConfig(max_length=128, options={"onnx_cache_dir": str(cache), **options})
    )


def rankwise_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rankwise" and r.levelno == logging.WARNING]


def predict(model: str, **kwargs: Any) -> list[float]:
    import torch
    from sentence_transformers import CrossEncoder

    encoder: Any = CrossEncoder(model, activation_fn=torch.nn.Identity(), **kwargs)
    return [float(s) for s in encoder.predict([(QUERY, d) for d in DOCS])]


def test_default_falls_back_to_torch_with_one_warning_and_records_why(
    untraceable: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        first = build(untraceable, tmp_path, trust_remote_code=True)
        again = build(untraceable, tmp_path, trust_remote_code=True)  # same process: no second warning
    assert "#onnx" not in first.name
    assert "#onnx" not in again.name
    assert first.score(QUERY, DOCS) == pytest.approx(predict(untraceable, trust_remote_code=True), abs=1e-4)
    (warning,) = rankwise_warnings(caplog)
    assert "ShapeDependentBert" in warning
    assert "onnx fp32" in warning
    assert "does not reproduce" in warning
    record = json.loads((entry_dir(untraceable, tmp_path) / FAILED_FILE).read_text())
    assert record["architecture"] == "ShapeDependentBert"
    assert record["mode"] == "onnx fp32"


def test_a_later_process_reads_the_recorded_decision_instead_of_exporting(
    untraceable: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build(untraceable, tmp_path, trust_remote_code=True)
    entry = entry_dir(untraceable, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in entry.iterdir()}
    cross_encoder_factory._WARNED.clear()  # a new process
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        backend = build(untraceable, tmp_path, trust_remote_code=True)
    assert "#onnx" not in backend.name
    (warning,) = rankwise_warnings(caplog)
    assert "recorded in" in warning
    assert "ShapeDependentBert" in warning
    assert {p.name: p.stat().st_mtime_ns for p in entry.iterdir()} == before  # nothing exported or rewritten


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_explicit_onnx_raises_naming_the_architecture_and_the_mode(
    untraceable: str, tmp_path: Path, precision: str
) -> None:
    with pytest.raises(ModeUnavailableError) as raised:
        build(untraceable, tmp_path, trust_remote_code=True, backend="onnx", precision=precision)
    error = raised.value
    assert isinstance(error, RankwiseError)
    assert isinstance(error, RuntimeError)
    assert (error.architecture, error.mode) == ("ShapeDependentBert", f"onnx {precision}")
    assert f"ShapeDependentBert ({untraceable!r}) cannot run in mode onnx {precision}" in str(error)
    assert "backend_options={'backend': 'torch'}" in str(error)


def test_item3_unwritable_cache_directory_falls_back_to_torch_with_a_warning(
    bert: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # unwritable for every user, root included
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        backend = build(bert, blocker / "onnx")
    assert "#onnx" not in backend.name
    assert backend.score(QUERY, DOCS) == pytest.approx(predict(bert), abs=1e-4)
    (warning,) = rankwise_warnings(caplog)
    assert "cannot write the ONNX export" in warning
    assert str(blocker) in warning
    with pytest.raises(OnnxCacheError, match="onnx_cache_dir") as raised:
        build(bert, blocker / "onnx", backend="onnx")
    assert isinstance(raised.value, OSError)


def test_item3_half_written_model_config_is_rebuilt(bert: str, tmp_path: Path) -> None:
    first = build(bert, tmp_path, backend="onnx")
    config = first.directory / CONFIG_FILE
    text = config.read_text()
    config.write_text(text[: len(text) // 2])  # what a full disk left behind before writes were atomic
    second = build(bert, tmp_path, backend="onnx")
    assert json.loads(config.read_text()) == json.loads(text)
    assert second.score(QUERY, DOCS) == pytest.approx(first.score(QUERY, DOCS), abs=1e-6)


def test_item3_entry_without_its_model_config_counts_as_missing(bert: str, tmp_path: Path) -> None:
    first = build(bert, tmp_path, backend="onnx")
    (first.directory / CONFIG_FILE).unlink()
    build(bert, tmp_path, backend="onnx")
    assert json.loads((first.directory / CONFIG_FILE).read_text())["model_type"] == "bert"


def test_item3_a_failed_write_leaves_neither_the_file_nor_a_fragment(tmp_path: Path) -> None:
    target = tmp_path / "entry" / MODEL_FILE

    def full_disk(path: Path) -> None:
        path.write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(full_disk, target)
    assert list(target.parent.iterdir()) == []


def test_item3_a_full_disk_during_export_is_an_onnx_cache_error(bert: str, tmp_path: Path) -> None:
    """An export that cannot be written (here: the entry is a file, as a full or broken disk leaves it)."""
    entry = entry_dir(bert, tmp_path)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text("")
    with pytest.raises(OnnxCacheError, match="cannot write the ONNX export"):
        build(bert, tmp_path, backend="onnx")


def test_item2_revision_is_part_of_the_onnx_cache_key(bert: str, tmp_path: Path) -> None:
    assert entry_dir(bert, tmp_path, revision="v2") != entry_dir(bert, tmp_path)
    assert entry_dir(bert, tmp_path, revision="v2") == entry_dir(bert, tmp_path, revision="v2")


def test_item18_the_onnx_class_defaults_to_fp32(bert: str, tmp_path: Path) -> None:
    from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

    backend = OnnxCrossEncoderBackend(bert, max_length=128, onnx_cache_dir=tmp_path)
    assert backend.precision == "fp32"
    assert backend.name.endswith("#onnx-fp32")
    assert backend.score(QUERY, DOCS) == pytest.approx(predict(bert), abs=1e-4)
