"""What returning independent copies costs the adapters (issue 12 item 15), on 100 documents.

Each adapter now returns outputs that share nothing mutable with its inputs: LangChain
deep-copies ``metadata``; LlamaIndex deep-copies the node (text, metadata, relationships);
Haystack deep-copies ``meta`` (and copies the embedding list, sparse embedding and blob).
This times exactly those helpers against what the adapters did before (a shallow
``model_copy`` / ``dataclasses.replace`` sharing the nested parts), on 100 documents with a
realistic metadata dict (a dozen keys, one nested dict, one list) and, for the documents that
carry one, a 384-float embedding (all-MiniLM-L6-v2's size). Before and after alternate within
each round, so a shared machine's slow phases hit both; absolute figures still move with the
machine's load (up to 4x between runs on a 2-core box shared by nine processes).

    .venv/bin/python benchmarks/adapter_copy_cost.py [--docs 100] [--rounds 200]

Prints a markdown table (median microseconds per 100-document call) and writes it to
``benchmarks/results/adapter_copy_cost.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.speed.cpu_class import cpu_line  # noqa: E402


def metadata(i: int) -> dict[str, Any]:
    return {
        "source": f"docs/file_{i}.md",
        "title": f"Document {i}",
        "page": i % 17,
        "author": "someone",
        "year": 2000 + i % 25,
        "lang": "en",
        "url": f"https://example.org/{i}",
        "section": {"name": "intro", "level": 2, "path": ["a", "b", "c"]},
        "tags": ["x", "y", "z"],
        "chunk": i,
        "tokens": 180 + i,
        "score": 0.5,
    }


def paired_us(before: Callable[[], object], after: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median microseconds of each, the two calls alternating within every round (a shared machine's slow
    phases then hit both sides)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for call, bucket in ((before, times[0]), (after, times[1])):
            start = time.perf_counter()
            call()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1e6, statistics.median(times[1]) * 1e6


def langchain_rows(n: int, rounds: int) -> list[tuple[str, float, float]]:
    from langchain_core.documents import Document

    from rankwise_langchain._documents import scored_copies

    docs = [Document(page_content=f"text {i} " * 40, id=str(i), metadata=metadata(i)) for i in range(n)]
    picks = [(i, 0.5, "probability") for i in range(n)]

    def before() -> object:
        return [d.model_copy(update={"metadata": {**d.metadata, "relevance_score": 0.5}}) for d in docs]

    return [("LangChain Document", *paired_us(before, lambda: scored_copies(docs, picks, "relevance_score"), rounds))]


def llamaindex_rows(n: int, rounds: int) -> list[tuple[str, float, float]]:
    from llama_index.core.schema import NodeRelationship, NodeWithScore, RelatedNodeInfo, TextNode

    from rankwise_llamaindex._nodes import scored_copy

    rows = []
    for label, embedding in (("LlamaIndex node", None), ("LlamaIndex node + 384-d embedding", [0.1] * 384)):
        nodes = [
            NodeWithScore(
                node=TextNode(
                    text=f"text {i} " * 40,
                    id_=str(i),
                    metadata=metadata(i),
                    embedding=embedding,
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc{i}")},
                ),
                score=0.5,
            )
            for i in range(n)
        ]

        def before(nodes: list[NodeWithScore] = nodes) -> object:
            return [NodeWithScore(node=item.node, score=0.7) for item in nodes]

        def after(nodes: list[NodeWithScore] = nodes) -> object:
            return [scored_copy(item, 0.7, "probability") for item in nodes]

        rows.append((label, *paired_us(before, after, rounds)))
    return rows


def haystack_rows(n: int, rounds: int) -> list[tuple[str, float, float]]:
    from haystack import Document

    from haystack_integrations.components.rankers.rankwise._documents import scored_copy

    rows = []
    for label, embedding in (("Haystack Document", None), ("Haystack Document + 384-d embedding", [0.1] * 384)):
        docs = [Document(content=f"text {i} " * 40, id=str(i), meta=metadata(i), embedding=embedding) for i in range(n)]

        def before(docs: list[Document] = docs) -> object:
            return [dataclasses.replace(d, score=0.7) for d in docs]

        def after(docs: list[Document] = docs) -> object:
            return [scored_copy(d, 0.7, "probability") for d in docs]

        rows.append((label, *paired_us(before, after, rounds)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    rows = [
        *langchain_rows(args.docs, args.rounds),
        *llamaindex_rows(args.docs, args.rounds),
        *haystack_rows(args.docs, args.rounds),
    ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    lines = [
        f"## Copy cost per call, {args.docs} documents (median of {args.rounds} calls)",
        "",
        f"CPU: {cpu_line()}. Commit {commit.strip()}. Command: `.venv/bin/python benchmarks/adapter_copy_cost.py"
        f" --docs {args.docs} --rounds {args.rounds}`",
        "",
        "| documents | shared (before), µs | independent copies (now), µs | added, µs | added per document, µs |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, before, after in rows:
        lines.append(
            f"| {label} | {before:.0f} | {after:.0f} | {after - before:.0f} | {(after - before) / args.docs:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = REPO / "benchmarks" / "results" / "adapter_copy_cost.md"
    out.write_text("# Adapter copy cost (issue 12 item 15)\n\n" + text)


if __name__ == "__main__":
    main()
