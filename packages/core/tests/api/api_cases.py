"""What the rerank-API tests share: one spec per provider, fast retry settings, the expected ranking."""

from __future__ import annotations

from typing import Any

from rerank_api_server import FakeRerankServer, logit, relevance

from rankwise import Reranker

KEY = "rk-test-9f2c41d7e8b3SECRET"

SPECS = {
    "cohere": "cohere:rerank-v3.5",
    "voyage": "voyage:rerank-2.5",
    "jina": "jina:jina-reranker-v2-base-multilingual",
    "mixedbread": "mixedbread:mixedbread-ai/mxbai-rerank-large-v2",
    "nvidia": "nvidia:nvidia/llama-3.2-nv-rerankqa-1b-v2",
    "pinecone": "pinecone:bge-reranker-v2-m3",
    "tei": "tei",
    "vllm": "vllm:BAAI/bge-reranker-v2-m3",
    "infinity": "infinity:mixedbread-ai/mxbai-rerank-xsmall-v1",
}
KINDS = list(SPECS)

#: Documents per request each provider accepts (the local server enforces the same).
CAPS = {"cohere": 1000, "voyage": 1000, "jina": 1000, "mixedbread": 1000, "nvidia": 64, "pinecone": 100, "tei": 32}
#: vLLM and Infinity document no cap: the server here is configured with 8, and so is the backend.
SELF_HOSTED_CAP = 8

ENV_VARS = (
    "CO_API_KEY",
    "COHERE_API_KEY",
    "VOYAGE_API_KEY",
    "JINA_API_KEY",
    "MXBAI_API_KEY",
    "NVIDIA_API_KEY",
    "PINECONE_API_KEY",
    "TEI_API_KEY",
    "VLLM_API_KEY",
    "INFINITY_API_KEY",
)

#: Tiny backoffs so the fault matrix runs in seconds; attempts as in production minus one.
FAST = {"max_retries": 2, "backoff": 0.001, "max_backoff": 0.01, "deadline": 10.0}
# Per-attempt timeout of every API test: long enough that a loaded 2-core machine answers in time (0.25 s
# made a normal answer time out and be retried at load average ~9, so request counts differed).
TIMEOUT = 1.0


def cap(kind: str) -> int:
    return CAPS.get(kind, SELF_HOSTED_CAP)


def reranker(kind: str, server: FakeRerankServer, **overrides: Any) -> Reranker:
    options = dict(FAST)
    if kind in ("vllm", "infinity"):
        options["max_batch_size"] = SELF_HOSTED_CAP
    options.update(overrides.pop("backend_options", {}))
    settings: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url(kind), "timeout": TIMEOUT}
    settings.update(overrides)
    return Reranker(SPECS[kind], backend_options=options, **settings)


def documents(n: int, topic: str = "red apple") -> list[str]:
    """``n`` distinct documents, some sharing words with the query ``topic``."""
    words = topic.split()
    return [
        f"doc {i} " + " ".join(w for j, w in enumerate(words) if (i >> j) & 1) + f" filler {i % 7}" for i in range(n)
    ]


def expected(kind: str, query: str, docs: list[str]) -> list[tuple[int, float]]:
    """The right ``(index, score)`` ranking: the provider's per-pair scores, best first, ties in input order."""
    raw = [relevance(query, d) for d in docs]
    scores = [logit(p) for p in raw] if kind == "nvidia" else raw
    order = sorted(range(len(docs)), key=lambda i: -scores[i])
    return [(i, scores[i]) for i in order]


def ranking(results: list[Any]) -> list[tuple[int, float]]:
    return [(r.index, r.score) for r in results]
