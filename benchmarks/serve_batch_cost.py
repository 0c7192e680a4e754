"""What dynamic batching saves inside the model, without the server: one batch of requests, packed or not.

`benchmarks/serve_load.py` measures the whole server under concurrent clients, where the share of the
cores that other processes leave it moves the figures. This script isolates the model's side: the same
``--requests`` requests of ``--docs`` SciFact abstracts (≤ ``--doc-words`` words, no text repeated), scored

- **per request**: one ``score(query, texts)`` call each, as ``rankwise serve --no-batching`` does;
- **packed**: in batches of at most ``--max-batch-pairs`` pairs (the server's default, 256), as dynamic
  batching does: ``score_pairs`` for a cross-encoder, ``embed_documents`` then ``score`` per query for
  the bi-encoder of the embedded default;

and reports, per mode, the best of ``--rounds`` rounds of wall time and of process CPU time (all threads:
ONNX Runtime's pool included), and how that CPU time splits between the tokenizer and the forward passes
(cross-encoders: the tokenizer timed alone on the same pairs). Scores of the two modes are compared.

    .venv/bin/python benchmarks/serve_batch_cost.py [--models tiny,minilm,embedded] [--requests 32] [--docs 20]

Writes benchmarks/results/serve/batch_cost.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import RESULTS, cross_encoder_dir, load_texts, request_body, tiny_cross_encoder_dir

from benchmarks.speed.cpu_class import cpu_line, cpu_record


def timed(work: Callable[[], Any], rounds: int) -> tuple[float, float, Any]:
    """Best wall and best process-CPU seconds of ``rounds`` runs of ``work``, and its last result."""
    walls, cpus, result = [], [], None
    for _ in range(rounds):
        wall, used = time.perf_counter(), time.process_time()
        result = work()
        cpus.append(time.process_time() - used)
        walls.append(time.perf_counter() - wall)
    return min(walls), min(cpus), result


def chunks(requests: list[tuple[str, list[str]]], max_pairs: int) -> list[list[tuple[str, list[str]]]]:
    """Requests grouped as the batcher groups them: a batch closes once it holds ``max_pairs`` pairs."""
    out: list[list[tuple[str, list[str]]]] = [[]]
    pairs = 0
    for request in requests:
        if pairs >= max_pairs:
            out.append([])
            pairs = 0
        out[-1].append(request)
        pairs += len(request[1])
    return out


def cross_encoder(path: Path, requests: list[tuple[str, list[str]]], args: argparse.Namespace) -> dict[str, Any]:
    from rankwise import Reranker
    from rankwise.backends.encoders.pair_batches import pair_batches

    (loaded,) = Reranker(f"cross-encoder:{path}").load().backends
    backend: Any = loaded  # a cross-encoder runtime: score_pairs, tokenizer, max_length, batch_size
    per_request = lambda: [backend.score(q, t) for q, t in requests]  # noqa: E731
    batches = chunks(requests, args.max_batch_pairs)
    packed = lambda: [backend.score_pairs([(q, t) for q, ts in b for t in ts]) for b in batches]  # noqa: E731

    def tokenize(groups: list[list[tuple[str, list[str]]]]) -> Callable[[], int]:
        def run() -> int:
            rows = 0
            for group in groups:
                pairs = [(q, t) for q, ts in group for t in ts]
                for batch in pair_batches(
                    backend.tokenizer, pairs, max_length=backend.max_length, batch_size=backend.batch_size
                ):
                    rows += len(batch.positions)
            return rows

        return run

    out: dict[str, Any] = {"backend": backend.name}
    for mode, work, groups in (("per request", per_request, [[r] for r in requests]), ("packed", packed, batches)):
        wall, used, scores = timed(work, args.rounds)
        _, tokenizer_cpu, _ = timed(tokenize(groups), args.rounds)
        out[mode] = {
            "wall_s": round(wall, 3),
            "cpu_s": round(used, 3),
            "tokenizer_cpu_s": round(tokenizer_cpu, 3),
            "forward_calls": sum(-(-sum(len(ts) for _, ts in g) // backend.batch_size) for g in groups),
        }
        out[mode + " scores"] = np.concatenate([np.asarray(s, dtype=np.float64) for s in scores]).tolist()
    return out


def embedded(requests: list[tuple[str, list[str]]], args: argparse.Namespace) -> dict[str, Any]:
    from rankwise import Reranker

    bi = Reranker("embedded").load().backends[0]
    out: dict[str, Any] = {"backend": bi.name}

    def fresh() -> None:  # no embedding survives from one round to the next
        bi._cache.clear()  # type: ignore[attr-defined]
        bi._queries.clear()  # type: ignore[attr-defined]

    def per_request() -> list[Sequence[float]]:
        fresh()
        return [bi.score(q, t) for q, t in requests]

    def packed() -> list[Sequence[float]]:
        fresh()
        scores: list[Sequence[float]] = []
        for batch in chunks(requests, args.max_batch_pairs):
            bi.embed_documents(list(dict.fromkeys(t for _, ts in batch for t in ts)))  # type: ignore[attr-defined]
            scores += [bi.score(q, ts) for q, ts in batch]
        return scores

    for mode, work in (("per request", per_request), ("packed", packed)):
        wall, used, scores = timed(work, args.rounds)
        out[mode] = {"wall_s": round(wall, 3), "cpu_s": round(used, 3)}
        out[mode + " scores"] = np.concatenate([np.asarray(s, dtype=np.float64) for s in scores]).tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny,minilm,embedded")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--doc-words", type=int, default=32)
    parser.add_argument("--max-batch-pairs", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "batch_cost"))
    args = parser.parse_args()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    queries, corpus = load_texts(args.doc_words)
    bodies = [request_body(k, queries, corpus, args.docs) for k in range(args.requests)]
    requests = [(b["query"], list(b["documents"])) for b in bodies]
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    for name in args.models.split(","):
        if name == "embedded":
            results[name] = embedded(requests, args)
        else:
            path = tiny_cross_encoder_dir() if name == "tiny" else cross_encoder_dir()
            results[name] = cross_encoder(path, requests, args)
        r = results[name]
        r["max_abs_score_diff"] = float(
            np.max(np.abs(np.subtract(r.pop("per request scores"), r.pop("packed scores"))))
        )
        print(name, r, flush=True)
    report: dict[str, Any] = {
        "cpu": cpu_record(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    lines = [
        f"CPU: {cpu_line(report['cpu'])}; "
        f"{args.requests} requests × {args.docs} documents (≤{args.doc_words} words), batches of ≤{args.max_batch_pairs} "
        f"pairs, best of {args.rounds}; load average {report['load_average_before'][0]} → {report['load_average_after'][0]}; "
        f"finished {report['finished_utc']} UTC.",
        "",
        "| model | mode | wall s | CPU s | tokenizer CPU s | forward calls | CPU per-request / packed | max abs score diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        ratio = r["per request"]["cpu_s"] / r["packed"]["cpu_s"] if r["packed"]["cpu_s"] else float("nan")
        for mode in ("per request", "packed"):
            m = r[mode]
            lines.append(
                f"| {name} | {mode} | {m['wall_s']} | {m['cpu_s']} | {m.get('tokenizer_cpu_s', '–')} | {m.get('forward_calls', '–')} "
                f"| {f'{ratio:.2f}×' if mode == 'packed' else ''} | {r['max_abs_score_diff']:.1e} |"
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
