"""Measure ``rankwise train`` on SciFact: the embedded default fine-tuned within a 20-minute budget on this CPU.

Runs ``rankwise train ../shared/datasets/scifact --base embedded --budget-minutes 20 --out OUT`` (the command
line, in-process), then evaluates the embedded default and the fine-tuned model (calibrated by the
calibration the run fitted, and as the min-max fusion) on Cranfield and ArguAna test — domains it was not
tuned on — on the same BM25 top-100 candidates each. Records the CPU (model, AVX-512/VNNI/AMX flags) and
the load average: other engineers' jobs share the two cores, so wall times (and with them the number of
steps the budget allows) depend on that load; the nDCG figures depend on the steps run.

    .venv/bin/python benchmarks/train_embedded.py [--budget-minutes 20] [--out /tmp/rankwise-train-scifact]

Writes benchmarks/results/training/scifact-embedded.json (the run's training.json, the transfer figures and
the machine) and prints a summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "training"
# ArguAna's 1,406 test queries are sampled like the other quality benchmarks (Makefile `eval`): 300.
ARGUANA_QUERIES = 300


def cpu_record() -> dict[str, Any]:
    """The CPU's model name and every AVX-512 / VNNI / AMX flag /proc/cpuinfo lists, and the load average."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags_line = next((line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags")), "")
    flags = sorted(f for f in flags_line.split() if f.startswith(("avx512", "amx")) or "vnni" in f)
    return {"model": model, "flags": flags, "logical_cpus": os.cpu_count(), "loadavg": list(os.getloadavg())}


def transfer(
    out: Path, cache: str, samples: dict[str, int | None], done: Any, results: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The embedded default vs the fine-tuned model on each dataset's test split (``samples``: how many queries,
    ``None`` for all), same candidates, with a paired t-test of per-query nDCG@10 (scipy, as rankwise compare);
    ``done(results)`` is called after each dataset."""
    from rankwise import Reranker
    from rankwise.evaluation import load_beir
    from rankwise.evaluation.compare import paired_tests, per_query
    from rankwise.evaluation.run import candidates, evaluate
    from rankwise.training import trained_reranker

    options = {"bi-encoder": {"embedding_cache_dir": cache}}
    tuned = {"bi-encoder": {"embedding_cache_dir": cache, "runtime": "onnx", "precision": "fp32"}}
    results = dict(results or {})
    for name, sample in samples.items():
        if name in results:  # measured by an earlier run of this script (--skip-train)
            continue
        started = time.monotonic()
        data = load_beir(DATASETS / name, split="test", max_queries=sample)
        hits = candidates(data, depth=100)
        models = {
            "embedded": Reranker("embedded", backend_options=options),
            "embedded, min-max fusion": Reranker("embedded", normalize="none", backend_options=options),
            "fine-tuned, calibrated": trained_reranker(out, backend_options=tuned),
            "fine-tuned, min-max fusion": trained_reranker(out, normalize="none", backend_options=tuned),
        }
        runs, per = {}, {}
        for label, reranker in models.items():
            report = evaluate(data, model=reranker, run=hits, depth=100)
            runs[label] = report.reranked
            per[label] = per_query(data.qrels, report.runs["reranked"])
            print(f"{name:<10} {label:<28} nDCG@10 {report.reranked['nDCG@10']:.4f}", file=sys.stderr, flush=True)
            reranker.close()
        tests = {}
        for tuned, base in (
            ("fine-tuned, calibrated", "embedded"),
            ("fine-tuned, min-max fusion", "embedded, min-max fusion"),
        ):
            qids = list(per[base])
            test = paired_tests({tuned: [per[tuned][q] for q in qids]}, [per[base][q] for q in qids], base)[tuned]
            tests[f"{tuned} vs {base}"] = dataclasses.asdict(test)
        results[name] = {
            "queries": len(data.queries),
            "bm25": report.first_stage,
            "reranked": runs,
            "paired_t_test_ndcg10": tests,
            "seconds": round(time.monotonic() - started, 1),
            "loadavg_after": list(os.getloadavg()),
        }
        done(results)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/rankwise-train-scifact"))
    parser.add_argument(
        "--embedding-cache-dir",
        default="/tmp/rankwise-train-bench-embeddings",
        help="document embeddings (speed only, same scores); seeded from /tmp/rankwise-embeddings when it exists",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "scifact-embedded.json")
    parser.add_argument("--arguana-queries", type=int, default=ARGUANA_QUERIES)
    parser.add_argument(
        "--launch-loadavg", nargs=3, type=float, help="with --skip-train: the load average when the training run began"
    )
    parser.add_argument(
        "--skip-train",
        action="store_true",
        help="reuse the model already in --out (its training.json) and the run's record",
    )
    args = parser.parse_args()

    cache = Path(args.embedding_cache_dir)
    seed = Path("/tmp/rankwise-embeddings/embeddings.sqlite3")  # `make eval`'s store of the bundled MiniLM's
    if seed.is_file() and not (cache / seed.name).exists():
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy(seed, cache / seed.name)
    if args.skip_train and args.json.is_file():
        record = json.loads(args.json.read_text(encoding="utf-8"))
    elif args.skip_train:  # the training ran, its record was not written: rebuild it from training.json
        training = json.loads((args.out / "training.json").read_text(encoding="utf-8"))
        record = {
            "command": f"rankwise train ../shared/datasets/scifact --base embedded --budget-minutes {args.budget_minutes:g}",
            "wall_seconds": round(training["seconds"]["total"], 1),
            "machine": {"before": {"loadavg": args.launch_loadavg}, "after_training": training["machine"]},
            "note": "2 logical CPUs shared with other engineers' jobs: the load average says how busy they were",
            "scifact": training,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
    else:
        record = run_training(args, cache)
        if not record:
            return 1

    def save(results: dict[str, Any]) -> None:
        record["transfer"] = results
        record["machine"]["end"] = cpu_record()
        args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    # SciFact again, for per-query figures (a paired t-test of the gain); then the domains not tuned on
    samples = {"scifact": None, "cranfield": None, "arguana": args.arguana_queries}
    transfer(args.out, str(cache), samples, save, record.get("transfer"))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


def run_training(args: argparse.Namespace, cache: Path) -> dict[str, Any]:
    """``rankwise train`` itself; the record (without the transfer figures) is written to ``args.json``."""
    from rankwise.cli import main as rankwise

    machine_before = cpu_record()
    print(f"CPU {machine_before['model']}, load average {machine_before['loadavg']}", file=sys.stderr, flush=True)
    started = time.monotonic()
    command = [
        "train",
        str(DATASETS / "scifact"),
        "--base",
        "embedded",
        "--budget-minutes",
        f"{args.budget_minutes:g}",
        "--out",
        str(args.out),
        "--embedding-cache-dir",
        str(cache),
        "--overwrite",
        "--no-progress",
    ]
    if rankwise(command) != 0:
        return {}
    record = {
        "command": "rankwise " + " ".join(command).replace(str(DATASETS), "../shared/datasets"),
        "wall_seconds": round(time.monotonic() - started, 1),
        "machine": {"before": machine_before, "after_training": cpu_record()},
        "note": "2 logical CPUs shared with other engineers' jobs: the load average says how busy they were",
        "scifact": json.loads((args.out / "training.json").read_text(encoding="utf-8")),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


if __name__ == "__main__":
    sys.exit(main())
