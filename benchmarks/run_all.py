"""Run every benchmark under benchmarks/ and regenerate docs/benchmarks.md's "Speed" section (``make bench``).

Standard profile on an idle 2-core CPU: the mixed 1x100 workload with every contender, the ~150-word
1x100 workload with the fastest natives and rankwise's modes, int8 ranking fidelity on SciFact (all 300 test
queries x BM25 top-100, ONNX fp32 against this CPU's int8 format: 20-45 min the first time, then read from
``.cache/bench/int8-fidelity``; ``--skip fidelity`` and later ``--only-fidelity`` split a run in two), the
embedded default's load / cold / warm latency, memory and cache checks.
``--big`` adds 32x100 and 1x1000 (one round each, about 12 min; ``--only-big`` times just those and adds
them to the class's results). The first run also builds the benchmark
model (``build_model.py``, kept in ``.cache/bench``). Results go to
``benchmarks/results/speed/latest-<cpu class>.json`` (``benchmarks.speed.cpu_class``) and the Speed chapter
of docs/benchmarks.md is rewritten from every class's file: one section per CPU class, never mixed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.build_model import BUILD_RECORD, build  # noqa: E402
from benchmarks.embedded_latency import run as embedded_run  # noqa: E402
from benchmarks.speed import contenders  # noqa: E402
from benchmarks.speed.cpu_class import cpu_record  # noqa: E402
from benchmarks.speed.data import workloads  # noqa: E402
from benchmarks.speed.flops import all_peaks, model_flops, pair_lengths  # noqa: E402
from benchmarks.speed.int8_fidelity import measure as int8_fidelity  # noqa: E402
from benchmarks.speed.memory import cache_speedup, peak_memory  # noqa: E402
from benchmarks.speed.report import PREDICT, RESULTS, int8_fidelity_path, results_path, write_doc  # noqa: E402
from benchmarks.speed.timing import build_all, load_average, time_workload  # noqa: E402

OTHER_BENCHMARKS = ["adapter_overhead.py", "api_concurrency.py"]  # owned by other parts of the team


# Framework-native contenders timed on the big workloads (the two fastest on 1x100).
BIG_NATIVES = ("sentence-transformers predict", "Haystack SentenceTransformersSimilarityRanker")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")


def machine() -> str:
    import torch

    return f"torch {torch.__version__} ({torch.get_num_threads()} threads)"


# Which measured peak each contender's arithmetic is compared with (the rest run torch fp32).
PEAK_OF = {
    "rankwise onnx fp32": "onnx fp32",
    "rankwise default": "onnx fp32",
    "rankwise onnx int8": "onnx int8",
    "rankwise torch bf16": "torch bf16",
}


def efficiency(row: dict[str, Any], model_dir: str, workload: Any) -> None:
    """Model FLOP/s of each contender and which peak it is compared with (the fraction comes with the run's best peak)."""
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
    row["efficiency"] = {}
    for name, s in row["median_seconds"].items():
        row["efficiency"][name] = {"gflops": flops / s / 1e9, "peak": PEAK_OF.get(name, "torch fp32")}


def ratios(row: dict[str, Any], native: list[str]) -> None:
    pps = row["pairs_per_second"]
    fastest = max((n for n in pps if n in native), key=pps.__getitem__)
    row["fastest_native"] = fastest
    row["ratio_vs_fastest_native"] = {n: v / pps[fastest] for n, v in pps.items()}
    if PREDICT in pps:
        row["ratio_vs_predict"] = {n: v / pps[PREDICT] for n, v in pps.items()}


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


def embedded(rounds: int) -> dict[str, Any]:
    """The embedded default's load / cold / warm latency (``benchmarks/embedded_latency.py``, default runtime)."""
    run = embedded_run(["onnx"], rounds=rounds, queries=6, profile=True)
    rows = run["runtimes"]["onnx"]
    profile = (rows["warm"][-1] or {}).get("profile")
    return {
        "when": run["when"],
        "options": rows["options"],
        "rounds": rounds,
        "summary": rows["summary"],
        "export_s": rows["export"]["load_s"],
        "profile": profile,
        "heavy_modules_after_load": rows["heavy_modules_after_load"],
    }


def int8_recipe() -> str:
    from rankwise.backends.encoders.onnx_cross_encoder import INT8_RECIPE

    return INT8_RECIPE


def build_record(model_dir: str) -> dict[str, Any] | None:
    """``build_model.py``'s training record of ``model_dir``, if it has one."""
    recipe = Path(model_dir) / BUILD_RECORD
    return json.loads(recipe.read_text()) if recipe.exists() else None


def timing_only(built: dict[str, Any] | None) -> bool:
    """Whether a build record says ``--train none``: a random head, whose rankings mean nothing."""
    return built is not None and built.get("train") == "none"


def model_note(model_dir: str) -> str:
    built = build_record(model_dir)
    if built is not None:
        if timing_only(built):
            return "random head, not fine-tuned: timing only"
        return (
            f"fine-tuned {built['steps_done']} of {built['steps_planned']} steps on SciFact train claims and SQuAD "
            f"train questions, {built['precision']}, {built['minutes']:.0f} min on this CPU; SciFact test claims are "
            "never trained on"
        )
    return "built by benchmarks/build_model.py; its training record is missing"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="an existing cross-encoder directory (default: build_model.py's, built if absent)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds on the 1x100 workloads")
    parser.add_argument("--rounds-150w", type=int, default=5, help="alternating rounds on the ~150-word 1x100 workload")
    parser.add_argument(
        "--fidelity-queries", type=int, default=300, help="SciFact test queries for the int8 nDCG check (300: all)"
    )
    parser.add_argument("--fidelity-depth", type=int, default=100, help="BM25 candidates per query in that check")
    parser.add_argument("--embedded-rounds", type=int, default=2, help="rounds of the embedded default's latency")
    parser.add_argument("--big", action="store_true", help="also time 32x100 and 1x1000 (one round each)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["150w", "fidelity", "embedded", "memory", "others"])
    parser.add_argument(
        "--only-embedded",
        action="store_true",
        help="re-measure only the embedded default, keep the rest of this CPU class's results",
    )
    parser.add_argument(
        "--only-big",
        action="store_true",
        help="time only 32x100 and 1x1000 (one round each) and add them to this CPU class's results",
    )
    parser.add_argument(
        "--only-fidelity",
        action="store_true",
        help="measure only the int8 / default-vs-exact fidelity (after a run with --skip fidelity), keep the rest",
    )
    return parser.parse_args()


BIG_WORKLOADS = ("32x100", "1x1000")
BIG_CONTENDERS = (*BIG_NATIVES, "rankwise onnx fp32", "rankwise onnx int8")


def speed_rows(args: argparse.Namespace, model_dir: str) -> list[dict[str, Any]]:
    modes = [c for c in contenders.RANKWISE if c.name != "rankwise default"]
    everyone = [c for c in contenders.NATIVE if c.name != "sentence-transformers rank"] + modes
    plan = [("mixed-1x100", [c.name for c in everyone], args.rounds)]
    if "150w" not in args.skip:
        plan.append(("150w-1x100", [*BIG_NATIVES] + [c.name for c in modes], args.rounds_150w))
    if args.big:
        plan += [(name, list(BIG_CONTENDERS), 1) for name in BIG_WORKLOADS]
    return timed_rows(plan, everyone, model_dir)


def timed_rows(plan: list[tuple[str, list[str], int]], everyone: list[Any], model_dir: str) -> list[dict[str, Any]]:
    """Each ``(workload, contender names, rounds)`` of ``plan`` timed, with its ratios and model FLOP/s."""
    data = workloads()
    native_names = [c.name for c in contenders.NATIVE]
    built = build_all(everyone, model_dir)
    rows = []
    for name, names, rounds in plan:
        row = time_workload({n: built[n] for n in names}, data[name], rounds=rounds)
        ratios(row, native_names)
        efficiency(row, model_dir, data[name])
        rows.append(row)
    return rows


def big_only(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """32x100 and 1x1000 (one round each) added to this class's results, against a peak measured around them."""
    results: dict[str, Any] = json.loads(path.read_text())
    model_dir = args.model or str(ROOT / results["model"]["dir"])
    everyone = [c for c in contenders.NATIVE + contenders.RANKWISE if c.name in BIG_CONTENDERS]
    started, load_before, before = now(), load_average(), all_peaks()
    rows = timed_rows([(name, list(BIG_CONTENDERS), 1) for name in BIG_WORKLOADS], everyone, model_dir)
    peak = best_peaks(before, all_peaks())
    for row in rows:
        row.pop("scores")
        for eff in row["efficiency"].values():
            eff["fraction_of_peak"] = eff["gflops"] / peak[eff["peak"]]["best_gflops"]
    results["speed"] = [r for r in results["speed"] if r["workload"] not in BIG_WORKLOADS] + rows
    results["big"] = {
        "model": os.path.relpath(model_dir, ROOT),
        "model_note": model_note(model_dir),
        "started": started,
        "finished": now(),
        "load_before": load_before,
        "load_after": load_average(),
        "peak": peak,
        "int8_recipe": int8_recipe(),
    }
    earlier = ("32x100 and 1x1000 run only with `--big`", "32x100 and 1x1000: one round each")  # replaced, not stacked
    results["notes"] = [n for n in results["notes"] if not n.startswith(earlier)] + [big_note(results["big"])]
    return results


def big_note(big: dict[str, Any]) -> str:
    peak = big["peak"]
    return (
        f"32x100 and 1x1000: one round each, measured {big['started']}–{big['finished'][-5:]} UTC with `--only-big` "
        f"after the rest of this run, on `{big['model']}` ({big['model_note']}; int8 quantization recipe "
        f"{big.get('int8_recipe', 'v3 or older')}); their share of peak is against "
        f"the peaks measured around them (onnx fp32 {peak['onnx fp32']['best_gflops']:.0f}, onnx int8 "
        f"{peak['onnx int8']['best_gflops']:.0f}, torch fp32 {peak['torch fp32']['best_gflops']:.0f} GFLOP/s)."
    )


def default_note(mixed: dict[str, Any], fid: dict[str, Any] | None) -> str:
    from rankwise.backends.encoders.cross_encoder_modes import DEFAULT_CPU_MODE

    default = f"rankwise {DEFAULT_CPU_MODE['backend']} {DEFAULT_CPU_MODE['precision']}"
    note = (
        f"`cross-encoder:MODEL` with no options runs `{json.dumps(DEFAULT_CPU_MODE)}` on a CPU: on the mixed 1x100 "
        f"workload it is **{mixed['ratio_vs_predict'][default]:.2f}×** sentence-transformers `predict` and "
        f"{mixed['ratio_vs_fastest_native'][default]:.2f}× the fastest native contender ({mixed['fastest_native']})"
    )
    if fid:
        fmt = fid["chosen_format_on_this_cpu"]
        int8 = fid["int8"][fmt]
        note += (
            f"; int8 ({fmt}) is {mixed['ratio_vs_predict']['rankwise onnx int8']:.2f}× `predict` with nDCG@10 "
            f"{int8['delta_vs_fp32']:+.4f} from fp32 on {fid['queries']} SciFact test queries"
        )
    return note + '. Exact mode: `{"backend": "torch", "precision": "fp32"}`.'


def fidelity(args: argparse.Namespace, model_dir: str, cpu_class: str) -> dict[str, Any]:
    """int8 (this CPU's format) and the default against the exact mode on SciFact test, saved per CPU class;
    torch bf16 too where the CPU has native bf16 (elsewhere it is emulated and far too slow to be a choice)."""
    from rankwise.backends.encoders.onnx_cross_encoder import int8_format_for
    from rankwise.cpu_features import cpu_features, native_bf16

    fid = int8_fidelity(
        model_dir,
        n_queries=args.fidelity_queries,
        depth=args.fidelity_depth,
        formats=[int8_format_for(cpu_features()).name],
        exact=True,
        bf16=native_bf16(),
    )
    int8_fidelity_path(cpu_class).write_text(json.dumps(fid, indent=1) + "\n")
    return fid


def saved_fidelity(cpu_class: str) -> dict[str, Any] | None:
    """This class's last int8 fidelity result, if measured with the int8 recipe in use or one that quantizes
    the benchmark model (a BERT) alike (else ``None``).

    With ``--skip fidelity`` the default-mode note still quotes int8's nDCG@10 shift, from the check that
    ``--only-fidelity`` (or an earlier full run) saved; a result of an older recipe is not quoted."""
    from rankwise.backends.encoders.onnx_cross_encoder import INT8_RECIPE, INT8_RECIPE_SAME_ON_BERT

    path = int8_fidelity_path(cpu_class)
    if not path.exists():
        return None
    saved: dict[str, Any] = json.loads(path.read_text())
    # the benchmark model is a BERT (MiniLM-L6): a recipe that quantizes BERT exports alike gives its result
    same = INT8_RECIPE_SAME_ON_BERT if INT8_RECIPE in INT8_RECIPE_SAME_ON_BERT else (INT8_RECIPE,)
    return saved if saved.get("int8_recipe") in same else None


def best_peaks(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The peak is the best seen in the run: the higher of the measurements before and after the rounds."""
    return {k: max(before[k], after[k], key=lambda p: p["best_gflops"]) for k in before}


def main() -> None:
    args = parse_args()
    cpu = cpu_record()
    path = results_path(cpu["class"])
    results: dict[str, Any]
    fid: dict[str, Any] | None
    if args.only_embedded:
        results = json.loads(path.read_text())
        results["embedded"] = embedded(args.embedded_rounds)
        path.write_text(json.dumps(results, indent=1) + "\n")
        write_doc(results)
        return

    if args.only_big:
        results = big_only(args, path)
        path.write_text(json.dumps(results, indent=1) + "\n")
        write_doc(results)
        return

    if args.only_fidelity:
        results = json.loads(path.read_text())
        model_dir = args.model or str(ROOT / results["model"]["dir"])
        if timing_only(build_record(model_dir)):
            sys.exit(f"{model_dir} has a random head (built with --train none): its int8 fidelity means nothing")
        fid = fidelity(args, model_dir, cpu["class"])
        mixed = next(row for row in results["speed"] if row["workload"] == "mixed-1x100")
        results["default_mode_note"] = default_note(mixed, fid)
        path.write_text(json.dumps(results, indent=1) + "\n")
        write_doc(results)
        return

    started, load_before = now(), load_average()
    model_dir = args.model or str(build())
    peak = all_peaks()
    print(f"peak: {peak}", file=sys.stderr, flush=True)
    speed = speed_rows(args, model_dir)
    native_names = [c.name for c in contenders.NATIVE]
    results = {
        "schema": 2,
        "cpu": cpu,
        "started": started,
        "load_before": load_before,
        "machine": machine(),
        "int8_recipe": int8_recipe(),
        "model": {"dir": os.path.relpath(model_dir, ROOT), "note": model_note(model_dir)},
        "speed": speed,
        "exactness": exactness(speed[0], native_names),
        "flops_per_token_note": (
            "per layer and token 8h² + 4hi (projections, feed-forward) + 4nh (attention over n tokens), h=384, "
            "i=1536, 6 layers: ≈21.2 MFLOP/token + attention"
        ),
    }
    for row in speed:
        row.pop("scores")
    results["peak"] = peak = best_peaks(peak, all_peaks())
    for row in speed:  # each contender against the best peak of its arithmetic in the run
        for eff in row["efficiency"].values():
            eff["fraction_of_peak"] = eff["gflops"] / peak[eff["peak"]]["best_gflops"]
    if "fidelity" in args.skip or timing_only(build_record(model_dir)):
        # a random head's nDCG says nothing about int8's ranking shift: keep the class's saved result instead
        fid = saved_fidelity(cpu["class"])
    else:
        fid = fidelity(args, model_dir, cpu["class"])
    results["default_mode_note"] = default_note(speed[0], fid)
    if "embedded" not in args.skip:
        results["embedded"] = embedded(args.embedded_rounds)
    if "memory" not in args.skip:
        mixed = workloads()["mixed-1x100"]
        results["memory"] = {
            "peak": peak_memory([1000, 10000], {}),
            "cache": cache_speedup(model_dir, mixed.documents[0], mixed.queries[0]),
        }
    results["notes"] = [
        "`sentence-transformers rank` is `predict` plus a sort: not timed separately.",
        "LangChain's `CrossEncoderReranker` returns documents without scores: its top-10 order is compared, not its scores.",
        "rankwise torch fp32 gives sentence-transformers' scores (see Exactness); where it is faster than `predict`, "
        "the difference is rankwise's batching (pairs bucketed by token length, each batch padded to its own "
        "longest pair), not the arithmetic. ONNX fp32 is the fast exact mode (scores within 1e-4 of torch).",
    ]
    if not args.big:
        results["notes"].append("32x100 and 1x1000 run only with `--big` (one round each): not run here.")
    if "others" not in args.skip:
        for script in OTHER_BENCHMARKS:
            if (ROOT / "benchmarks" / script).exists():
                subprocess.run([sys.executable, str(ROOT / "benchmarks" / script)], cwd=ROOT, check=False)
    results["finished"], results["load_after"] = now(), load_average()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    write_doc(results)
    print(f"wrote {path} and docs/benchmarks.md (Speed)", file=sys.stderr)


if __name__ == "__main__":
    main()
