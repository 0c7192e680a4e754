"""Which matrix multiplies to quantize: logit error, nDCG@10 and speed of int8 variants against ONNX fp32.

``python -m benchmarks.speed.int8_variants --model DIR --queries 10`` quantizes the model's cached fp32
export (``quantize_dynamic``, per-channel int8 weights, this CPU's int8 format) with some MatMuls (or fused
``Attention`` nodes) kept in fp32, scores the same SciFact candidates (BM25 top-100 of the first test queries)
with each, and writes the mean and max |logit − fp32 logit|, nDCG@10 and its difference from fp32's, the
queries whose top 10 is fp32's, and pairs/s (one pass each, a rough speed) to
``benchmarks/results/speed/int8_variants-<cpu class>.json``. ``--queries 300`` is the whole test split: the
figure the 0.005 bar of issue #13 is about (`int8_fidelity.py` measures the recipe in use the same way and
shares its fp32 scores through the same cache). ``--variants`` picks some of `VARIANTS`. ``--time-only ROUNDS``
instead times the variants through the whole `Reranker` int8 path against sentence-transformers `predict`
on the mixed 1x100 workload (alternating rounds; run it on a quiet machine) and adds that to the JSON.

The variant with the best error for its cost is what `quantize_onnx` ships: recipe v3 kept the feed-forward
output MatMuls fp32 ("v3" below); v4, in use since 2026-12-04, also the first layer and the head. Results files
written before then call v3 "shipped".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.build_model import build
from benchmarks.speed.cpu_class import cpu_record
from benchmarks.speed.data import ROOT
from benchmarks.speed.fidelity import bm25_candidates, ndcg10
from benchmarks.speed.int8_fidelity import cache_key, compared, rerank_all, score_mode
from rankwise.backends.encoders.onnx_cross_encoder import (
    INT8_FORMATS,
    Int8Format,
    OnnxCrossEncoderBackend,
    feed_forward_outputs,
    int8_format_for,
    quantize_int8,
)
from rankwise.cpu_features import cpu_features

RESULTS = ROOT / "benchmarks" / "results" / "speed"


def layer_nodes(graph: Path) -> list[list[str]]:
    """Per encoder layer, in order: its fused ``Attention`` node and its three dense MatMuls (BERT export names)."""
    import onnx

    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    attention = [n.name for n in nodes if n.op_type == "Attention"]
    layers: list[list[str]] = [[name] for name in attention]
    for n in nodes:
        if n.op_type == "MatMul" and "/layer." in n.name:
            index = int(n.name.split("/layer.")[1].split("/")[0])
            layers[index].append(n.name)
    return layers


def head_nodes(graph: Path) -> list[str]:
    """The classification head's ``Gemm`` nodes (pooler, classifier) under the names the quantizer gives them:
    dynamic quantization first rewrites each ``Gemm`` into a ``MatMul`` named ``<name>_MatMul``, which
    ``op_types_to_quantize=["MatMul", ...]`` then quantizes (`onnxruntime.quantization.onnx_model`, 1.32)."""
    import onnx

    gemms = [n.name for n in onnx.load(str(graph), load_external_data=False).graph.node if n.op_type == "Gemm"]
    return [*gemms, *(f"{name}_MatMul" for name in gemms)]


# name -> the nodes kept in fp32, given the fp32 graph
VARIANTS: dict[str, Callable[[Path], list[str]]] = {
    "control: every node kept fp32": lambda g: [*(name for layer in layer_nodes(g) for name in layer), *head_nodes(g)],
    "every MatMul + Attention": lambda g: [],
    "v3: FFN-output MatMuls fp32": feed_forward_outputs,
    "v3 + head fp32": lambda g: sorted({*feed_forward_outputs(g), *head_nodes(g)}),
    "v4 (in use): v3 + head + layer 0 fp32": lambda g: sorted(
        {*feed_forward_outputs(g), *head_nodes(g), *layer_nodes(g)[0]}
    ),
    "v3 + layer 0 fp32": lambda g: sorted({*feed_forward_outputs(g), *layer_nodes(g)[0]}),
    "v3 + last layer fp32": lambda g: sorted({*feed_forward_outputs(g), *layer_nodes(g)[-1]}),
    "v3 + layers 0 and last fp32": lambda g: sorted(
        {*feed_forward_outputs(g), *layer_nodes(g)[0], *layer_nodes(g)[-1]}
    ),
    "v3 + every Attention fp32": lambda g: sorted({*feed_forward_outputs(g), *(layer[0] for layer in layer_nodes(g))}),
}


def scan(model_dir: str, n_queries: int, names: list[str], fmt: Int8Format) -> dict[str, Any]:
    queries, candidates = bm25_candidates(n_queries, 100)
    reference, fp32_seconds = score_mode(model_dir, "fp32", queries, candidates, cache_key(model_dir, n_queries, 100))
    backend = OnnxCrossEncoderBackend(model_dir, precision="fp32", max_length=512)
    pairs = sum(len(c) for c in candidates.values())
    out: dict[str, Any] = {
        "cpu": cpu_record(),
        "model": model_dir,
        "int8_format": fmt.name,
        "queries": n_queries,
        "pairs": pairs,
        "fp32": {"ndcg10": ndcg10(reference), "pairs_per_second": pairs / fp32_seconds},
        "variants": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            keep = VARIANTS[name](backend.model_path)
            target = Path(scratch) / "variant.onnx"
            quantize_int8(
                backend.model_path, target, keep_fp32=keep, weight_type=fmt.weight_type, reduce_range=fmt.reduce_range
            )
            backend.model_path = target  # the same tokenizer, batching and session options, another graph
            backend._session = backend._open_session(None)
            run, seconds = rerank_all(backend, queries, candidates)
            row = compared(run, reference)
            out["variants"][name] = {
                **row,
                "delta_vs_fp32": row["ndcg10"] - out["fp32"]["ndcg10"],
                "kept_fp32": len(keep),
                "pairs_per_second": pairs / seconds,
                "speed_vs_fp32": fp32_seconds / seconds,
            }
            print(name, json.dumps(out["variants"][name]), file=sys.stderr, flush=True)
    return out


def time_mixed(model_dir: str, names: list[str], rounds: int, fmt: Int8Format) -> dict[str, Any]:
    """Each variant through the whole `Reranker` int8 path against sentence-transformers `predict`, side by side.

    The mixed 1x100 workload of `make bench`, alternating rounds. Each variant gets its own ONNX cache: a copy
    of the fp32 export with the variant's graph where the backend looks for its int8 file, so it is loaded,
    batched and run exactly as the shipped recipe is.
    """
    import shutil

    from benchmarks.speed.contenders import rankwise, sentence_transformers_predict
    from benchmarks.speed.data import workloads
    from benchmarks.speed.timing import time_workload
    from rankwise.backends.encoders.onnx_cross_encoder import int8_file

    fp32 = OnnxCrossEncoderBackend(model_dir, precision="fp32", max_length=512)
    built = {"sentence-transformers predict": sentence_transformers_predict(model_dir)}
    with tempfile.TemporaryDirectory() as scratch:
        for i, name in enumerate(names):
            cache = Path(scratch) / f"variant-{i}"
            entry = cache / fp32.directory.name
            shutil.copytree(fp32.directory, entry, ignore=shutil.ignore_patterns("model.int8-*"))
            keep = VARIANTS[name](fp32.model_path)
            quantize_int8(
                entry / fp32.model_path.name,
                entry / int8_file(fmt),
                keep_fp32=keep,
                weight_type=fmt.weight_type,
                reduce_range=fmt.reduce_range,
            )
            options = {"backend": "onnx", "precision": "int8", "int8_format": fmt.name, "onnx_cache_dir": str(cache)}
            built[name] = rankwise(options)(model_dir)
        row = time_workload(built, workloads()["mixed-1x100"], rounds=rounds)
    predict = row["median_seconds"]["sentence-transformers predict"]
    return {
        "workload": row["describe"],
        "rounds": rounds,
        "load_average": row["load_average"],
        "median_seconds": row["median_seconds"],
        "times_predict": {n: predict / t for n, t in row["median_seconds"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a cross-encoder directory (default: build_model.py's, built if absent)")
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--format",
        choices=list(INT8_FORMATS),
        help="another int8 format than this CPU's (u8u8 and u8s7 compute the same on every x86 CPU)",
    )
    parser.add_argument(
        "--time-only",
        type=int,
        metavar="ROUNDS",
        help="only time the variants on the mixed 1x100 workload against predict; add it to this class's JSON",
    )
    args = parser.parse_args()
    model_dir = args.model or str(build())
    fmt = INT8_FORMATS[args.format] if args.format else int8_format_for(cpu_features())
    suffix = f"-{args.format}" if args.format else ""  # another format than this CPU's: its own file
    path = RESULTS / f"int8_variants-{cpu_record()['class']}{suffix}.json"
    if args.time_only:
        results = json.loads(path.read_text()) if path.exists() else {"cpu": cpu_record(), "model": model_dir}
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results["speed_mixed_1x100"] = {
            **time_mixed(model_dir, args.variants, args.time_only, fmt),
            "measured": f"{started} – {time.strftime('%H:%M UTC', time.gmtime())}",
        }
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(json.dumps(results["speed_mixed_1x100"], indent=1))
        return
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = scan(model_dir, args.queries, args.variants, fmt)
    results["measured"] = f"{started} – {time.strftime('%H:%M UTC', time.gmtime())}"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
