"""The architecture matrix as a table: max |logit - sentence-transformers predict| per architecture and mode.

Builds the test suite's tiny random models (``packages/core/tests/architectures/tiny_models.py``), runs each
through every cross-encoder mode on the same 8 pairs, and writes
``benchmarks/results/speed/architecture_matrix-<cpu class>.json`` (one file per CPU class, with the CPU's model
and flags: a run on one class never overwrites another's) and a Markdown table on stdout. A mode that cannot run an architecture shows
the rankwise error it raised. Run: ``python -m benchmarks.speed.architecture_matrix``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.speed.cpu_class import cpu_record
from benchmarks.speed.data import ROOT

TESTS = ROOT / "packages" / "core" / "tests"
MODES: dict[str, dict[str, str]] = {
    "default": {},
    "torch fp32": {"backend": "torch", "precision": "fp32"},
    "torch bf16": {"backend": "torch", "precision": "bf16"},
    "onnx fp32": {"backend": "onnx", "precision": "fp32"},
    "onnx int8": {"backend": "onnx", "precision": "int8"},
    "onnx int8 u8s8": {"backend": "onnx", "precision": "int8", "int8_format": "u8s8"},
    "onnx int8 u8u8": {"backend": "onnx", "precision": "int8", "int8_format": "u8u8"},
}


def matrix(workdir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(TESTS))
    import numpy as np
    import torch
    from core_support import load_module
    from sentence_transformers import CrossEncoder

    from rankwise.backends.base import BackendConfig
    from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec
    from rankwise.backends.encoders.onnx_cross_encoder import INT8_RECIPE
    from rankwise.errors import RankwiseError

    tiny = load_module(TESTS / "architectures" / "tiny_models.py", "architecture_tiny_models")
    rows: dict[str, dict[str, Any]] = {}
    for name, builder in tiny.BUILDERS.items():
        path = str(builder(workdir / name))
        model: Any = CrossEncoder(path, activation_fn=torch.nn.Identity())
        reference = np.array(model.predict([(tiny.QUERY, d) for d in tiny.DOCS], batch_size=4), dtype=np.float64)
        spread = float(reference.max() - reference.min())
        rows[name] = {"spread": spread}
        for mode, options in MODES.items():
            config = BackendConfig(max_length=128, options={**options, "onnx_cache_dir": str(workdir / "onnx")})
            try:
                backend = cross_encoder_from_spec(path, config)
                scores = np.array(backend.score(tiny.QUERY, tiny.DOCS))
            except RankwiseError as exc:
                rows[name][mode] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            delta = float(np.max(np.abs(scores - reference)))
            rows[name][mode] = {"max_abs_diff": delta, "relative_to_spread": delta / spread, "ran_as": backend.name}
    return {
        "cpu": cpu_record(),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "int8_recipe": INT8_RECIPE,
        "rows": rows,
    }


def result_path(cpu_class: str) -> Path:
    return ROOT / "benchmarks" / "results" / "speed" / f"architecture_matrix-{cpu_class}.json"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| architecture | " + " | ".join(MODES) + " |",
        "|---|" + "---:|" * len(MODES),
    ]
    for name, row in result["rows"].items():
        cells = []
        for mode in MODES:
            cell = row[mode]
            if "error" in cell:
                cells.append(cell["error"].split(":")[0])
            elif mode == "torch bf16" or mode.startswith("onnx int8"):
                cells.append(f"{cell['max_abs_diff']:.2g} ({cell['relative_to_spread']:.1%})")
            else:
                cells.append(f"{cell['max_abs_diff']:.1e}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        result = matrix(Path(scratch))
    out = result_path(result["cpu"]["class"])
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
