"""Alternating A/B timing: every round runs every contender once, in a rotated order, on the same inputs."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.speed.contenders import Contender, Rerank
from benchmarks.speed.data import Workload


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def build_all(contenders: Sequence[Contender], model_dir: str) -> dict[str, Rerank]:
    built = {}
    for c in contenders:
        started = time.perf_counter()
        built[c.name] = c.build(model_dir)
        print(f"  built {c.name} in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return built


def run_workload(rerank: Rerank, workload: Workload) -> tuple[float, list[list[float]]]:
    started = time.perf_counter()
    scores = [rerank(q, docs) for q, docs in zip(workload.queries, workload.documents, strict=True)]
    return time.perf_counter() - started, scores


def time_workload(
    built: dict[str, Rerank], workload: Workload, *, rounds: int, warmup_docs: int = 16
) -> dict[str, Any]:
    """Median seconds per contender over ``rounds`` alternating rounds, after a warm-up call each."""
    names = list(built)
    for name in names:  # warm-up: first-call costs (thread pools, lazy init) are not timed
        built[name](workload.queries[0], workload.documents[0][:warmup_docs])
    times: dict[str, list[float]] = {n: [] for n in names}
    scores: dict[str, list[list[float]]] = {}
    loads = [load_average()]
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            seconds, out = run_workload(built[name], workload)
            times[name].append(seconds)
            scores.setdefault(name, out)
            print(f"  [{workload.name} round {r + 1}/{rounds}] {name}: {seconds:.2f}s", file=sys.stderr, flush=True)
        loads.append(load_average())
    return {
        "workload": workload.name,
        "describe": workload.describe,
        "pairs": workload.pairs,
        "rounds": rounds,
        "load_average": loads,
        "seconds": times,
        "median_seconds": {n: statistics.median(t) for n, t in times.items()},
        "pairs_per_second": {n: workload.pairs / statistics.median(t) for n, t in times.items()},
        "scores": scores,
    }
