"""Run every benchmark under benchmarks/ and regenerate docs/benchmarks.md's "Speed" section (``make bench``).

Standard profile on an idle 2-core CPU: the mixed 1x100 workload with every contender, the ~150-word
1x100 workload with the fastest natives and rankwise's modes, SciFact ranking fidelity (all 300 test
queries x BM25 top-100: about 25 min the first time, then read from ``.cache/bench/fidelity``), the
embedded default's latency, memory and cache checks. ``--big`` adds 32x100 and 1x1000 (one round each,
about 12 min). The first run also builds the benchmark model (``build_model.py``: about 35 min of
fine-tuning, kept in ``.cache/bench``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.build_model import build  # noqa: E402
from benchmarks.speed import contenders  # noqa: E402
from benchmarks.speed.data import workloads  # noqa: E402
from benchmarks.speed.embedded_latency import embedded_latency  # noqa: E402
from benchmarks.speed.fidelity import FIDELITY_MODES, MODES, fidelity, fidelity_summary  # noqa: E402
from benchmarks.speed.flops import matmul_peak, model_flops, pair_lengths  # noqa: E402
from benchmarks.speed.memory import cache_speedup, peak_memory  # noqa: E402
from benchmarks.speed.report import write_doc  # noqa: E402
from benchmarks.speed.timing import build_all, load_average, time_workload  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "speed"
OTHER_BENCHMARKS = ["adapter_overhead.py", "api_concurrency.py"]  # owned by other parts of the team


# Framework-native contenders timed on the big workloads (the two fastest on 1x100).
BIG_NATIVES = ("sentence-transformers predict", "Haystack SentenceTransformersSimilarityRanker")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor()
    )
    import torch

    return f"{model}, {os.cpu_count()} logical CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def efficiency(row: dict[str, Any], model_dir: str, peak: dict[str, Any], workload: Any) -> None:
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    lengths = [
        n
        for q, docs in zip(workload.queries, workload.documents, strict=True)
        for n in pair_lengths(tokenizer, q, docs, 512)
    ]
    flops = model_flops(config, lengths)
    row["tokens"] = sum(lengths)
    row["model_gflop"] = flops / 1e9
    row["efficiency"] = {
        name: {
            "gflops": flops / s / 1e9,
            "fraction_fp32_peak": flops / s / 1e9 / peak["fp32"]["best_gflops"],
            "fraction_bf16_peak": flops / s / 1e9 / peak["bf16"]["best_gflops"],
        }
        for name, s in row["median_seconds"].items()
    }


def ratios(row: dict[str, Any], native: list[str]) -> None:
    pps = row["pairs_per_second"]
    fastest = max((n for n in pps if n in native), key=pps.__getitem__)
    row["fastest_native"] = fastest
    row["ratio_vs_fastest_native"] = {n: v / pps[fastest] for n, v in pps.items()}


def top10(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:10]


def exactness(row: dict[str, Any], native: list[str]) -> dict[str, Any]:
    scores = {n: s[0] for n, s in row["scores"].items()}
    exact, reference = scores["rankwise torch fp32 (exact)"], scores["sentence-transformers predict"]
    onnx = scores["rankwise onnx fp32"]
    return {
        "max_abs_diff": max(abs(a - b) for a, b in zip(exact, reference, strict=True)),
        "same_top10": top10(exact) == top10(reference),
        "onnx_fp32_max_abs_diff": max(abs(a - b) for a, b in zip(onnx, reference, strict=True)),
        "onnx_fp32_same_top10": top10(onnx) == top10(reference),
        "same_top10_as_each_native": {n: top10(exact) == top10(scores[n]) for n in native if n in scores},
    }


def fidelity_notes(results: dict[str, Any]) -> list[str]:
    notes = [
        "rankwise torch fp32 runs the same arithmetic as sentence-transformers (so the same speed, within noise); "
        "ONNX fp32 is the fast exact mode (scores within 1e-4 of torch, identical top-10)."
    ]
    return ([fidelity_summary(results["fidelity"])] if results.get("fidelity") else []) + notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds on the 1x100 workloads")
    parser.add_argument("--rounds-150w", type=int, default=5, help="alternating rounds on the ~150-word 1x100 workload")
    parser.add_argument(
        "--fidelity-queries", type=int, default=300, help="SciFact test queries for the nDCG check (300: all)"
    )
    parser.add_argument(
        "--fidelity-modes",
        nargs="+",
        default=FIDELITY_MODES,
        choices=list(MODES),
        help="modes whose SciFact nDCG@10 is compared with ONNX fp32 (each costs 10-20 min at 300 queries)",
    )
    parser.add_argument("--big", action="store_true", help="also time 32x100 and 1x1000 (one round each)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["150w", "fidelity", "embedded", "memory", "others"])
    parser.add_argument(
        "--only-embedded",
        action="store_true",
        help="re-measure only the embedded default, keep the rest of latest.json",
    )
    parser.add_argument(
        "--only-big",
        action="store_true",
        help="time only 32x100 and 1x1000 (one round each), keep the rest of latest.json",
    )
    args = parser.parse_args()
    results: dict[str, Any]
    if args.only_big:
        results = json.loads((RESULTS / "latest.json").read_text())
        model_dir = str(build())
        data = workloads()
        native_names = [c.name for c in contenders.NATIVE]
        names = [*BIG_NATIVES, "rankwise onnx fp32", "rankwise onnx int8"]
        built = build_all([c for c in (*contenders.NATIVE, *contenders.RANKWISE) if c.name in names], model_dir)
        big_rows = []
        for name in ("32x100", "1x1000"):
            row = time_workload(built, data[name], rounds=1)
            ratios(row, native_names)
            efficiency(row, model_dir, results["peak"], data[name])
            row.pop("scores")
            row["measured"] = f"{now()} UTC, load average {load_average()}"
            big_rows.append(row)
        results["speed"] = [r for r in results["speed"] if r.get("workload") not in ("32x100", "1x1000")] + big_rows
        results["notes"] = [n for n in results.get("notes", []) if "only with `--big`" not in n]
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=1))
        write_doc(results)
        return
    if args.only_embedded:
        results = json.loads((RESULTS / "latest.json").read_text())
        results["embedded"] = embedded_latency([{}, {"precision": "fp32"}])
        results["embedded_measured"] = f"{now()} UTC, load average {load_average()}"
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=1))
        write_doc(results)
        return

    started, load_before = now(), load_average()
    model_dir = str(build())
    peak = {"fp32": matmul_peak("fp32"), "bf16": matmul_peak("bf16")}
    print(f"peak: {peak}", file=sys.stderr, flush=True)
    data = workloads()
    native_names = [c.name for c in contenders.NATIVE]
    modes = [c for c in contenders.RANKWISE if c.name != "rankwise default"]
    everyone = [c for c in contenders.NATIVE if c.name != "sentence-transformers rank"] + modes
    built = build_all(everyone, model_dir)
    plan = [("mixed-1x100", [c.name for c in everyone], args.rounds)]
    if "150w" not in args.skip:
        fast_natives = ["sentence-transformers predict", "Haystack SentenceTransformersSimilarityRanker"]
        plan.append(("150w-1x100", fast_natives + [c.name for c in modes], args.rounds_150w))
    if args.big:
        for name in ("32x100", "1x1000"):
            plan.append((name, [*BIG_NATIVES, "rankwise onnx fp32", "rankwise onnx int8"], 1))
    speed = []
    for name, names, rounds in plan:
        row = time_workload({n: built[n] for n in names}, data[name], rounds=rounds)
        ratios(row, native_names)
        efficiency(row, model_dir, peak, data[name])
        speed.append(row)
    results = {
        "started": started,
        "load_before": load_before,
        "machine": machine(),
        "peak": peak,
        "speed": speed,
    }
    results["exactness"] = exactness(speed[0], native_names)
    for row in speed:
        row.pop("scores")
    results["flops_per_token_note"] = (
        "per layer and token 8h² + 4hi (projections, feed-forward) + 4nh (attention over n tokens), h=384, i=1536, 6 layers: ≈21.2 MFLOP/token + attention"
    )
    peak_after = {"fp32": matmul_peak("fp32"), "bf16": matmul_peak("bf16")}
    for dtype in peak:  # the peak is the best seen in this run
        peak[dtype]["best_gflops"] = max(peak[dtype]["best_gflops"], peak_after[dtype]["best_gflops"])
    if "fidelity" not in args.skip:
        results["fidelity"] = fidelity(model_dir, n_queries=args.fidelity_queries, modes=args.fidelity_modes)
    from rankwise.backends.encoders.cross_encoder_modes import DEFAULT_CPU_MODE

    default = f"rankwise {DEFAULT_CPU_MODE['backend']} {DEFAULT_CPU_MODE['precision']}"
    mixed = speed[0]
    note = (
        f"`cross-encoder:MODEL` with no options runs `{json.dumps(DEFAULT_CPU_MODE)}` on a CPU: on the mixed 1x100 workload "
        f"it is **{mixed['ratio_vs_fastest_native'][default]:.2f}×** the fastest native contender ({mixed['fastest_native']})"
    )
    fid_mode = (
        results.get("fidelity", {})
        .get("modes", {})
        .get(f"{DEFAULT_CPU_MODE['backend']} {DEFAULT_CPU_MODE['precision']}")
    )
    if fid_mode:
        note += f", with nDCG@10 {fid_mode['delta_vs_fp32']:+.4f} from fp32"
    results["default_mode_note"] = note + '. Exact mode: `{"backend": "torch", "precision": "fp32"}`.'
    if "embedded" not in args.skip:
        results["embedded"] = embedded_latency([{}, {"precision": "fp32"}])
    if "memory" not in args.skip:
        results["memory"] = {
            "peak": peak_memory([1000, 10000], {}),
            "cache": cache_speedup(model_dir, data["mixed-1x100"].documents[0], data["mixed-1x100"].queries[0]),
        }
    results["notes"] = [
        "`sentence-transformers rank` is `predict` plus a sort: not timed separately.",
        "LangChain's `CrossEncoderReranker` returns documents without scores: its top-10 order is compared, not its scores.",
        *fidelity_notes(results),
        "The embedded-default cases run one after another (not alternating) in fresh processes; cold numbers swing "
        "with the machine's load. The query is embedded on one thread: with two threads on a busy 2-core machine a "
        "25 ms query encode took 500 ms.",
    ]
    if not args.big:
        results["notes"].append("32x100 and 1x1000 run only with `--big` (one round each): not run here.")
    if "others" not in args.skip:
        for script in OTHER_BENCHMARKS:
            if (ROOT / "benchmarks" / script).exists():
                subprocess.run([sys.executable, str(ROOT / "benchmarks" / script)], cwd=ROOT, check=False)
    results["finished"], results["load_after"] = now(), load_average()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1))
    write_doc(results)
    print(f"wrote {RESULTS / 'latest.json'} and docs/benchmarks.md (Speed)", file=sys.stderr)


if __name__ == "__main__":
    main()
