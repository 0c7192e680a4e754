"""docs/benchmarks.md's Speed chapter: one section per CPU class, each from its own results file, never mixed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.speed import report  # noqa: E402
from benchmarks.speed.cpu_class import class_of, title_of  # noqa: E402
from rankwise.cpu_features import CpuFeatures  # noqa: E402


def _result(cpu_class: str, title: str, pairs_per_second: float) -> dict[str, Any]:
    names = ["sentence-transformers predict", "rankwise onnx fp32"]
    peak = {"best_gflops": 50.0, "median_gflops": 45.0, "shape": [4096, 384, 1536], "runtime": "onnxruntime"}
    return {
        "schema": 2,
        "cpu": {"class": cpu_class, "title": title, "model": title, "logical_cpus": 2, "flags": {"avx2": True}},
        "started": "2026-12-02 17:00",
        "finished": "2026-12-02 17:30",
        "load_before": [0.1, 0.1, 0.1],
        "load_after": [1.0, 1.0, 1.0],
        "machine": "torch 2.13.0+cpu (2 threads)",
        "model": {"dir": ".cache/bench/m", "note": "trained"},
        "peak": {"torch fp32": peak, "onnx fp32": peak},
        "speed": [
            {
                "describe": "1 query x 100 documents",
                "pairs": 100,
                "rounds": 3,
                "load_average": [],
                "median_seconds": {"sentence-transformers predict": 4.0, "rankwise onnx fp32": 100 / pairs_per_second},
                "pairs_per_second": {"sentence-transformers predict": 25.0, "rankwise onnx fp32": pairs_per_second},
                "fastest_native": "sentence-transformers predict",
                "ratio_vs_fastest_native": {
                    "sentence-transformers predict": 1.0,
                    "rankwise onnx fp32": pairs_per_second / 25,
                },
                "ratio_vs_predict": {"sentence-transformers predict": 1.0, "rankwise onnx fp32": pairs_per_second / 25},
                "efficiency": {
                    n: {"gflops": 30.0, "peak": "onnx fp32" if "onnx" in n else "torch fp32", "fraction_of_peak": 0.6}
                    for n in names
                },
            }
        ],
        "exactness": {
            "max_abs_diff": 0.0,
            "same_top10": True,
            "onnx_fp32_max_abs_diff": 1e-6,
            "onnx_fp32_same_top10": True,
            "same_top10_as_each_native": {},
        },
        "flops_per_token_note": "per token",
        "default_mode_note": "default note",
    }


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    return tmp_path


def test_each_class_gets_its_own_section_with_its_own_numbers(results_dir: Path) -> None:
    (results_dir / "latest-amd-avx2.json").write_text(json.dumps(_result("amd-avx2", "AVX2 box", 33.0)))
    (results_dir / "latest-intel-amx.json").write_text(json.dumps(_result("intel-amx", "AMX box", 66.0)))
    sections = {part.split("\n", 1)[0]: part for part in report.speed_chapter().split("\n### ")[1:]}
    assert set(sections) == {"AVX2 box", "AMX box"}
    # Each class's ratio vs predict (33/25, 66/25) and plot appear only inside its own section.
    assert "| 1.32 |" in sections["AVX2 box"]
    assert "| 2.64 |" not in sections["AVX2 box"]
    assert "| 2.64 |" in sections["AMX box"]
    assert "| 1.32 |" not in sections["AMX box"]
    assert "img/speed-amd-avx2.png" in sections["AVX2 box"]
    assert "img/speed-intel-amx.png" in sections["AMX box"]


def test_a_first_schema_result_is_shown_through_its_frozen_markdown(results_dir: Path) -> None:
    old = {"schema": 1, "cpu": {"class": "amd-avx512-bf16", "title": "Old box"}}
    (results_dir / "latest-amd-avx512-bf16.json").write_text(json.dumps(old))
    (results_dir / "latest-amd-avx512-bf16.md").write_text("<!-- frozen -->\n\nOld figures: 2.03x\n")
    chapter = report.speed_chapter()
    assert "### Old box\n\nOld figures: 2.03x" in chapter
    assert "frozen" not in chapter


def test_cpu_classes_name_the_instruction_set_level() -> None:
    assert class_of(CpuFeatures("AMD EPYC 7B13", frozenset({"avx2"}))) == "amd-avx2"
    assert class_of(CpuFeatures("AMD EPYC 9B14", frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}))) == (
        "amd-avx512-bf16"
    )
    assert class_of(CpuFeatures("Intel Xeon", frozenset({"avx2", "avx512f", "amx"}))) == "intel-amx"
    assert "AVX2 only" in title_of(CpuFeatures("AMD EPYC", frozenset({"avx2"})), 2)
    assert "AMX" in title_of(CpuFeatures("Intel Xeon", frozenset({"avx2", "avx512f", "amx"})), 2)
