"""Peak memory while reranking n candidates (fresh process per n), and the score cache's repeat speed-up.

Memory is measured on the rankwise pipeline with a tiny random cross-encoder (built locally), so that
10,000 pairs score in seconds: what can grow with n is rankwise's batching and bookkeeping, not the model.
``rss_growth_mb`` is the peak resident set (VmHWM) after the call minus before it (the documents already exist);
``tracemalloc_peak_mb`` is the peak of Python-tracked allocations (incl. numpy) during the call.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.speed.data import ROOT

TINY = ROOT / ".cache" / "bench" / "tiny-cross-encoder"

CHILD = """
import json, sys, tracemalloc, random
sys.path.insert(0, {root!r})
from rankwise import Reranker
n, model, options = {n!r}, {model!r}, {options!r}
rng = random.Random(n)
words = "cell gene protein cancer drug study result blood brain heart risk dose trial patient".split()
docs = [" ".join(rng.choice(words) for _ in range(rng.randint(20, 60))) + f" {{i}}" for i in range(n)]
rr = Reranker("cross-encoder:" + model, backend_options=options, cache_size=0).load()
rr.rerank("protein in the cell", docs[:64])
def hwm():  # peak resident set of this process, kB (VmHWM; ru_maxrss would carry the parent's over exec)
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
before = hwm()
tracemalloc.start()
rr.rerank("protein in the cell", docs, top_n=10)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
after = hwm()
print(json.dumps({{"n": n, "rss_growth_mb": (after - before) / 1024, "tracemalloc_peak_mb": peak / 2**20, "max_rss_mb": after / 1024}}))
"""


def tiny_model() -> Path:
    if (TINY / "config.json").exists():
        return TINY
    sys.path.insert(0, str(ROOT / "packages" / "core" / "tests"))
    from core_support import build_tiny_cross_encoder

    return Path(build_tiny_cross_encoder(TINY))


def peak_memory(ns: list[int], options: dict[str, str]) -> list[dict[str, Any]]:
    model = str(tiny_model())
    rows = []
    for n in ns:
        code = CHILD.format(root=str(ROOT), n=n, model=model, options=options)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def cache_speedup(model_dir: str, docs: list[str], query: str, repeats: int = 5) -> dict[str, float]:
    """First call (model runs) vs the same call again (every score from the in-memory cache)."""
    from rankwise import Reranker

    reranker = Reranker(f"cross-encoder:{model_dir}").load()
    reranker.rerank("warm-up", docs[:8])
    started = time.perf_counter()
    reranker.rerank(query, docs, top_n=10)
    first = time.perf_counter() - started
    again = []
    for _ in range(repeats):
        started = time.perf_counter()
        reranker.rerank(query, docs, top_n=10)
        again.append(time.perf_counter() - started)
    return {
        "first_seconds": first,
        "cached_seconds": statistics.median(again),
        "speedup": first / statistics.median(again),
    }


if __name__ == "__main__":
    print(json.dumps(peak_memory([1000, 10000], {}), indent=2))
