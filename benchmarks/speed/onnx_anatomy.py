"""Where the ONNX cross-encoder's time goes on this CPU: fused operators, padding, batch size and threads.

For the benchmark model on the mixed 1x100 workload (``benchmarks.speed.data``):

- ``fusion``: the operator counts of the exported fp32 graph (did ONNX Runtime's BERT fusion produce
  ``Attention``/``SkipLayerNormalization``/``BiasGelu``, or is attention still separate MatMuls/Softmax);
- ``padding``: real tokens / padded tokens of the batches the backend actually runs (length-bucketed, at its
  default ``batch_size`` and CPU token budget), and without length bucketing at ``batch_size`` rows (the
  pairs' own order), so the share of wasted work is known;
- ``batch_size``: seconds for the 100 pairs at batch sizes 1, 4, 8, 16, 32 with no token budget (median of
  ``--rounds``);
- ``tokens_per_batch``: the same at token budgets 256 to 4,096 (``max_tokens_per_batch``, batch size 64), the
  default being ``CPU_TOKENS_PER_BATCH``;
- ``threads``: ONNX Runtime intra-op threads 1 and 2, alone and with a second session in a second thread
  running at the same time (what a fusion of two local models does), so oversubscription shows;
- ``operators``: ONNX Runtime's own profile of one pass (``SessionOptions.enable_profiling``), each operator
  type's share of the time spent in kernels, for the fp32 graph and for this CPU's int8 graph, so it shows
  whether the time is in the GEMMs or around them.

Run: ``python -m benchmarks.speed.onnx_anatomy --model DIR [--rounds 3]``; writes
``benchmarks/results/speed/onnx-anatomy-<cpu class>.json`` with the CPU record.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.speed.cpu_class import cpu_record
from benchmarks.speed.data import ROOT, workloads

RESULTS = ROOT / "benchmarks" / "results" / "speed"


def fused_operators(model_path: str) -> dict[str, int]:
    import onnx

    graph = onnx.load(model_path, load_external_data=False).graph
    return dict(collections.Counter(node.op_type for node in graph.node).most_common())


def operator_shares(backend: Any, query: str, docs: list[str]) -> dict[str, Any]:
    """Each operator type's share of kernel time in one profiled pass of ``backend`` over the pairs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(backend.model_path), options, providers=["CPUExecutionProvider"])
        profiled = backend._session
        backend._session = session
        try:
            backend.score(query, docs)
        finally:
            backend._session = profiled
        trace = json.loads(Path(session.end_profiling()).read_text())
    kernels: collections.Counter[str] = collections.Counter()
    for event in trace:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernels[event["args"]["op_name"]] += event["dur"]
    total = sum(kernels.values())
    return {
        "kernel_ms": total / 1000,
        "shares": {op: round(us / total, 4) for op, us in kernels.most_common()},
    }


def padding(
    tokenizer: Any, query: str, docs: list[str], batch_size: int, max_length: int, max_tokens: int | None
) -> dict[str, float]:
    from rankwise.backends.encoders.pair_batches import pair_batches

    pairs = [(query, d) for d in docs]
    real = padded = 0
    for batch in pair_batches(tokenizer, pairs, max_length=max_length, batch_size=batch_size, max_tokens=max_tokens):
        mask = batch.arrays["attention_mask"]
        real += int(mask.sum())
        padded += int(mask.size)
    lengths = [
        len(r)
        for r in tokenizer([query] * len(docs), docs, truncation="longest_first", max_length=max_length)["input_ids"]
    ]
    unsorted = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size]) for i in range(0, len(lengths), batch_size)
    )
    return {
        "real_tokens": real,
        "padded_tokens_bucketed": padded,
        "padding_share_bucketed": 1 - real / padded,
        "padded_tokens_unsorted": unsorted,
        "padding_share_unsorted": 1 - real / unsorted,
    }


def _median_seconds(fn: Any, rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(model_dir: str, rounds: int) -> dict[str, Any]:
    from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

    mixed = workloads()["mixed-1x100"]
    query, docs = mixed.queries[0], list(mixed.documents[0])
    backend = OnnxCrossEncoderBackend(model_dir)
    out: dict[str, Any] = {
        "cpu": cpu_record(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "model": model_dir,
        "fusion": fused_operators(str(backend.model_path)),
        "padding": padding(
            backend.tokenizer, query, docs, backend.batch_size, backend.max_length, backend.max_tokens_per_batch
        ),
        "default_tokens_per_batch": backend.max_tokens_per_batch,
        "batch_size": {},
        "tokens_per_batch": {},
        "threads": {},
    }
    for size in (1, 4, 8, 16, 32):  # a token budget no batch reaches: batch_size rows, whatever their length
        sized = OnnxCrossEncoderBackend(model_dir, batch_size=size, max_tokens_per_batch=10**9)
        out["batch_size"][str(size)] = _median_seconds(lambda b=sized: b.score(query, docs), rounds)
        print(f"  batch {size}: {out['batch_size'][str(size)]:.2f}s", file=sys.stderr, flush=True)
    for tokens in (256, 512, 768, 1024, 1536, 2048, 4096):
        budgeted = OnnxCrossEncoderBackend(model_dir, batch_size=64, max_tokens_per_batch=tokens)
        out["tokens_per_batch"][str(tokens)] = _median_seconds(lambda b=budgeted: b.score(query, docs), rounds)
        print(f"  {tokens} tokens: {out['tokens_per_batch'][str(tokens)]:.2f}s", file=sys.stderr, flush=True)
    for threads in (1, 2):
        alone = OnnxCrossEncoderBackend(model_dir, num_threads=threads)
        other = OnnxCrossEncoderBackend(model_dir, num_threads=threads)
        out["threads"][f"{threads} alone"] = _median_seconds(lambda a=alone: a.score(query, docs), rounds)

        def both(a: Any = alone, b: Any = other) -> None:
            worker = threading.Thread(target=b.score, args=(query, docs))
            worker.start()
            a.score(query, docs)
            worker.join()

        out["threads"][f"{threads} x2 sessions at once"] = _median_seconds(both, rounds)
        print(f"  threads {threads}: {out['threads']}", file=sys.stderr, flush=True)
    out["operators"] = {
        "fp32": operator_shares(backend, query, docs),
        "int8": operator_shares(OnnxCrossEncoderBackend(model_dir, precision="int8"), query, docs),
    }
    print(f"  operators: {out['operators']}", file=sys.stderr, flush=True)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a local cross-encoder directory (benchmarks/build_model.py)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.model, args.rounds)
    path = RESULTS / f"onnx-anatomy-{result['cpu']['class']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
