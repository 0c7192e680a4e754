"""Write the "Speed" chapter of docs/benchmarks.md: one section per CPU class, each with its own plot.

Every ``benchmarks/results/speed/latest-<cpu class>.json`` is one class's latest ``make bench`` run; a class
is never mixed with another in a table (`benchmarks.speed.cpu_class`). A results file of the first schema
(before CPU records) is shown through the Markdown it was rendered to then (``latest-<class>.md``).
Other chapters of the document are left untouched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks.speed.data import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"
RESULTS = ROOT / "benchmarks" / "results" / "speed"
PREDICT = "sentence-transformers predict"


def results_path(cpu_class: str) -> Path:
    return RESULTS / f"latest-{cpu_class}.json"


def int8_fidelity_path(cpu_class: str) -> Path:
    """Where ``benchmarks.speed.int8_fidelity`` keeps one CPU class's int8-vs-fp32 ranking fidelity."""
    return RESULTS / f"int8_fidelity-{cpu_class}.json"


def plot_path(cpu_class: str) -> Path:
    return IMG / f"speed-{cpu_class}.png"


def plot(results: dict[str, Any]) -> Path:
    """Pairs per second of each contender, one panel per workload; the title names the CPU class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = results["speed"]
    fig, axes = plt.subplots(1, len(workloads), figsize=(6 * len(workloads), 4.8), squeeze=False)
    for ax, row in zip(axes[0], workloads, strict=True):
        ranked = sorted(row["pairs_per_second"].items(), key=lambda kv: -kv[1])
        colors = ["#4c72b0" if n.startswith("rankwise") else "#999999" for n, _ in ranked]
        ax.barh([n for n, _ in ranked], [v for _, v in ranked], color=colors)
        ax.invert_yaxis()
        ax.set_xlabel("pairs / second (median)")
        ax.set_title(f"{row['describe']}\n({row['rounds']} alternating rounds)", fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(f"MiniLM-L6 cross-encoder on {results['cpu']['title']}", fontsize=10)
    fig.tight_layout()
    path = plot_path(results["cpu"]["class"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _flags(cpu: dict[str, Any]) -> str:
    flags = cpu.get("flags") or {}
    return ", ".join(f"{name} {'yes' if on else 'no'}" for name, on in flags.items()) or "not recorded"


def _generation(cpu: dict[str, Any]) -> str:
    gen = cpu.get("generation") or {}
    return f", family {gen['cpu_family']} model {gen.get('model', '?')}" if "cpu_family" in gen else ""


def _recipe(results: dict[str, Any]) -> str:
    """Which int8 quantization recipe (``INT8_RECIPE``) the int8 rows ran: recorded since v4."""
    recipe = results.get("int8_recipe")
    return f"quantization recipe {recipe}" if recipe else "quantization recipe v3 or older (not recorded then)"


def _workload_tables(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for row in results["speed"]:
        lines += [f"#### {row['describe']} ({row['pairs']:,} pairs, {row['rounds']} rounds)", ""]
        lines += [
            "| contender | median s | pairs/s | × predict | × fastest native | model GFLOP/s | % of its peak | peak |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, pps in sorted(row["pairs_per_second"].items(), key=lambda kv: -kv[1]):
            eff = row["efficiency"][name]
            vs_predict = f"{row['ratio_vs_predict'][name]:.2f}" if row.get("ratio_vs_predict") else "–"
            lines.append(
                f"| {name} | {_fmt(row['median_seconds'][name], 2)} | {_fmt(pps)} | {vs_predict} "
                f"| {row['ratio_vs_fastest_native'][name]:.2f} | {_fmt(eff['gflops'])} "
                f"| {_fmt(100 * eff['fraction_of_peak'])} | {eff['peak']} |"
            )
        lines += [
            "",
            f"Fastest native: **{row['fastest_native']}**. Load average during the rounds: {row['load_average']}.",
            "",
        ]
    return lines


def _peaks(results: dict[str, Any]) -> list[str]:
    peak = results["peak"]
    shape = "×".join(str(x) for x in next(iter(peak.values()))["shape"])
    lines = [
        "#### Hardware efficiency",
        "",
        f"Peaks measured in the same run, on the model's own feed-forward GEMM ({shape}: 16 pairs × 256 tokens, "
        "h=384 → i=1536), best of 7 (the higher of a measurement before and one after the timed rounds):",
        "",
        "| arithmetic | runtime | best GFLOP/s | median GFLOP/s |",
        "|---|---|---:|---:|",
    ]
    for name, p in peak.items():
        fmt = f" ({p['int8_format']})" if "int8_format" in p else ""
        lines.append(f"| {name}{fmt} | {p['runtime']} | {_fmt(p['best_gflops'])} | {_fmt(p['median_gflops'])} |")
    lines += [
        "",
        f"Model FLOPs count real (unpadded) tokens: {results['flops_per_token_note']}. Each contender is divided by "
        "the peak of the arithmetic it runs (the `peak` column): torch fp32 for sentence-transformers and the "
        "framework rankers, ONNX Runtime fp32 for the ONNX fp32 mode, ONNX Runtime int8 (this CPU's format) for "
        "int8, torch bf16 for bf16. Above 100% a mode does fewer FLOPs than the count (fused attention skips "
        "nothing, but padding is not counted and GELU/LayerNorm are ignored): read it as near the peak.",
        "",
    ]
    return lines


def _exactness(results: dict[str, Any]) -> list[str]:
    ex = results["exactness"]
    return [
        "#### Exactness of the fp32 modes",
        "",
        f'rankwise `{{"backend": "torch", "precision": "fp32"}}` vs sentence-transformers `predict` on the mixed '
        f"workload: max |score difference| {ex['max_abs_diff']:.2e} (sigmoid scores), identical top-10 order: "
        f"**{ex['same_top10']}**; ONNX fp32: max diff {ex['onnx_fp32_max_abs_diff']:.2e}, same top-10: "
        f"{ex['onnx_fp32_same_top10']}. Top-10 order identical to every native contender: "
        f"{ex['same_top10_as_each_native']}.",
        "",
    ]


def _int8_fidelity(cpu_class: str) -> list[str]:
    path = int8_fidelity_path(cpu_class)
    if not path.exists():
        return []
    fid = json.loads(path.read_text())
    lines = [
        f"#### int8 ranking fidelity (SciFact, {fid['queries']} test queries, BM25 top-{fid['depth']})",
        "",
        f"`python -m benchmarks.speed.int8_fidelity` ({fid['started']}–{fid['finished']} UTC, load average "
        f"{fid['load_before']} before, {fid['load_after']} after; `benchmarks/results/speed/{path.name}`). Model "
        f"`{fid['model']}`; BM25 alone nDCG@10 {fid['bm25_ndcg10']:.4f}, ONNX fp32 {fid['fp32']['ndcg10']:.4f}. "
        f"This CPU's int8 format: **{fid['chosen_format_on_this_cpu']}**; {_recipe(fid)}.",
        "",
        "| int8 format | nDCG@10 | Δ vs fp32 | queries with identical top-10 | mean \\|Δlogit\\| | max \\|Δlogit\\| |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in fid["int8"].items():
        chosen = " (this CPU's choice)" if name == fid["chosen_format_on_this_cpu"] else ""
        lines.append(
            f"| {name}{chosen} | {row['ndcg10']:.4f} | {row['delta_vs_fp32']:+.4f} "
            f"| {row['queries_with_identical_top10']}/{fid['queries']} | {row['mean_abs_logit_diff']:.4f} "
            f"| {row['max_abs_logit_diff']:.3f} |"
        )
    lines.append("")
    exact = fid.get("default_vs_exact")
    if exact:
        lines += [
            f"The default (ONNX fp32) against the exact mode ({exact['exact_mode']}, sentence-transformers' numbers) "
            f"on the same candidates: identical top-10 on **{exact['queries_with_identical_top10']}/{fid['queries']}** "
            f"queries, max \\|Δlogit\\| {exact['max_abs_logit_diff']:.1e}, nDCG@10 {exact['ndcg10']:.4f} "
            f"(ONNX fp32 {fid['fp32']['ndcg10']:.4f}).",
            "",
        ]
    bf16 = fid.get("bf16")
    if bf16:
        lines += [
            f"torch bf16 (autocast) against ONNX fp32 on the same candidates: nDCG@10 {bf16['ndcg10']:.4f} "
            f"({bf16['delta_vs_fp32']:+.4f}), identical top-10 on {bf16['queries_with_identical_top10']}/"
            f"{fid['queries']} queries, mean \\|Δlogit\\| {bf16['mean_abs_logit_diff']:.4f}, max "
            f"{bf16['max_abs_logit_diff']:.3f}.",
            "",
        ]
    if fid.get("note"):
        lines += [fid["note"], ""]
    return lines


def _embedded(results: dict[str, Any]) -> list[str]:
    emb = results.get("embedded")
    if not emb:
        return []
    s = emb["summary"]
    lines = [
        "#### Embedded default (`Reranker()`), 100 SciFact abstracts of 20–400 words",
        "",
        f"`benchmarks/embedded_latency.py` ({emb['when']}, bi-encoder `{json.dumps(emb['options'])}`, "
        f"{emb['rounds']} rounds, each case in a new process):",
        "",
        "| | seconds |",
        "|---|---:|",
        f"| `load()` in a new process (import + load, ONNX export cached) | {s['load_s_median']:.2f} |",
        f"| a query over 100 never-seen abstracts (median) | {s['cold_query_s_median']:.2f} |",
        f"| a query over already-embedded abstracts (median, vectors in memory) | {s['warm_query_s_median']:.3f} |",
        f"| the first such query in a new process (vectors from sqlite) | {s['warm_first_query_s_median']:.3f} |",
        f"| first answer in a new process (load + first cold query) | {s['first_answer_s_median']:.2f} |",
        "",
    ]
    if emb.get("profile"):
        parts = ", ".join(
            f"{k.removesuffix('_s').replace('_', ' ')} {v * 1000:.1f} ms" for k, v in emb["profile"].items()
        )
        lines += [f"Warm path, medians of 7: {parts}.", ""]
    if emb.get("heavy_modules_after_load") is not None:
        heavy = ", ".join(emb["heavy_modules_after_load"]) or "none of torch, transformers, sentence-transformers"
        lines += [f"Heavy modules imported by `load()`: {heavy}.", ""]
    return lines


def _memory(results: dict[str, Any]) -> list[str]:
    mem = results.get("memory")
    if not mem:
        return []
    lines = [
        "#### Memory and the score cache",
        "",
        "| candidates | RSS growth MB | tracemalloc peak MB | max RSS MB |",
        "|---:|---:|---:|---:|",
    ]
    for row in mem["peak"]:
        lines.append(
            f"| {row['n']:,} | {row['rss_growth_mb']:.1f} | {row['tracemalloc_peak_mb']:.2f} | {row['max_rss_mb']:.0f} |"
        )
    c = mem["cache"]
    return [
        *lines,
        "",
        "One fresh process per n, tiny random cross-encoder (the pipeline's memory, not the model's), default mode. "
        f"Score cache: a repeated query over the mixed 100 documents took {c['cached_seconds'] * 1000:.2f} ms against "
        f"{c['first_seconds']:.2f} s the first time: **{c['speedup']:,.0f}×** faster.",
        "",
    ]


def class_section(results: dict[str, Any]) -> str:
    """The section of one CPU class's run (schema 2: with a CPU record and per-arithmetic peaks)."""
    cpu = results["cpu"]
    lines = [
        f"### {cpu['title']}",
        "",
        f"Run {results['started']} – {results['finished']} UTC by `make bench` (`benchmarks/run_all.py`); raw numbers "
        f"in `benchmarks/results/speed/{results_path(cpu['class']).name}`. CPU: {cpu['model']}, {cpu['logical_cpus']} logical "
        f"CPUs, flags: {_flags(cpu)}{_generation(cpu)}; {results['machine']}. Load average (1/5/15 min) before: "
        f"{results['load_before']}, after: {results['load_after']}. int8 rows: {_recipe(results)}.",
        "",
        f"Model: `{results['model']['dir']}` ({results['model']['note']}).",
        "",
        *_workload_tables(results),
        *_peaks(results),
        *_exactness(results),
        *_int8_fidelity(cpu["class"]),
        "#### Default CPU mode",
        "",
        results["default_mode_note"],
        "",
        *_embedded(results),
        *_memory(results),
        f"![pairs per second per contender and workload, {cpu['title']}](img/{plot_path(cpu['class']).name})",
        "",
    ]
    if results.get("notes"):
        lines += ["#### Notes", ""] + [f"- {n}" for n in results["notes"]] + [""]
    return "\n".join(lines)


INTRO = """## Speed

One section per CPU class (vendor and instruction-set level: AVX2, AVX-512, VNNI, native bf16/AMX), each
regenerated by `make bench` on a machine of that class; classes are never mixed in a table. Every
contender loads the same local model directory (`benchmarks/build_model.py`: all-MiniLM-L6-v2 weights
under a one-logit `BertForSequenceClassification` head) and is called the way its framework documents
it, with its defaults; rankwise through the core `Reranker` with the score cache off (`cache_size=0`).
Alternating rounds (rotated order), one warm-up call each, medians reported. Timing does not depend on
the weights; the fidelity figures do, so each section names its model's training.

| mode | `backend_options` | scores |
|---|---|---|
| torch fp32 (exact) | `{"backend": "torch", "precision": "fp32"}` | as sentence-transformers `predict` |
| torch bf16 | `{"backend": "torch", "precision": "bf16"}` | bf16 matmuls (autocast), float32 head and scores; warns where the CPU has no native bf16 |
| ONNX fp32 (the CPU default) | `{"backend": "onnx", "precision": "fp32"}` | within 1e-4 of torch fp32 |
| ONNX int8 | `{"backend": "onnx", "precision": "int8"}` (or just `{"precision": "int8"}`) | per-channel int8 weights in this CPU's format (U8S8 with VNNI, U8U8 without), dynamic activations; the first layer, every feed-forward output projection and the classification head stay fp32 (recipe v5: v4 for the node names of DistilBERT, ModernBERT and decoder exports, the same graph on BERT-style ones; v3 kept only the feed-forward outputs) |

ONNX modes export the model once (`torch.onnx.export(..., dynamo=False)`, ONNX Runtime's BERT fusions,
`quantize_dynamic` for int8) into `$RANKWISE_CACHE_DIR/onnx` (default `~/.cache/rankwise/onnx`, or
`onnx_cache_dir=`), keyed by the model's files; later processes load the export in about a second.
Other options: `num_threads`, `max_tokens_per_batch`; `batch_size` is pairs per forward pass. On a CPU a
forward pass also holds at most 1,024 padded tokens unless `max_tokens_per_batch` says otherwise
(`rankwise.backends.encoders.pair_batches.CPU_TOKENS_PER_BATCH`: 14% faster than 16 pairs a pass on the
mixed workload on the AVX2 EPYC, whose caches 16 long pairs' activations overflow).
"""


def speed_chapter() -> str:
    sections = [INTRO]
    for path in sorted(RESULTS.glob("latest-*.json")):
        results = json.loads(path.read_text())
        if results.get("schema", 1) >= 2:
            sections.append(class_section(results))
        else:
            frozen = path.with_suffix(".md").read_text()
            frozen = re.sub(r"^<!--.*?-->\n\n", "", frozen, flags=re.S)
            sections.append(f"### {results['cpu']['title']}\n\n{frozen.strip()}\n")
    return "\n".join(sections)


def write_doc(results: dict[str, Any] | None = None) -> None:
    """Re-plot ``results`` (this run's class) and rewrite the Speed chapter from every class's results."""
    if results is not None:
        plot(results)
    chapter = speed_chapter()
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n## Speed\n\n## Quality\n"
    if "## Speed" not in text:
        text = text.rstrip() + "\n\n## Speed\n"
    # Replace only from "## Speed" up to the next level-2 heading.
    text = re.sub(r"## Speed\n.*?(?=\n## |\Z)", lambda _: chapter.rstrip() + "\n", text, count=1, flags=re.S)
    DOC.write_text(text)


if __name__ == "__main__":
    write_doc()
