"""Ray Data batch reranking and the Ray Serve deployment: the single-process Reranker's results, on Ray."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from rankwise import Reranker
from rankwise.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DOCS = [
    "cats purr when they are happy",
    "dogs bark at the mail carrier",
    "a red apple a day keeps the doctor away",
    "the river flows to the sea",
    "green pears and red apples are fruit",
    "the cat sat on the mat and purred",
]
ROWS = [
    {"id": i, "query": q, "documents": DOCS[i % 3 :] + DOCS[: i % 3]}
    for i, q in enumerate(["purring cats", "red apple fruit", "river sea", "dogs bark", "cat mat", "pears"] * 3)
]


def reference(model: str) -> list[tuple[list[float], list[int]]]:
    reranker = Reranker(model)
    out = []
    for row in ROWS:
        results = reranker.rerank(row["query"], row["documents"])
        scores = [0.0] * len(row["documents"])
        for r in results:
            scores[r.index] = r.score
        out.append((scores, [r.index for r in results]))
    return out


def test_rerank_dataset_equals_the_single_process_reranker(ray_cluster: Any, tiny_cross_encoder: str) -> None:
    from rankwise.ray import rerank_dataset

    model = f"cross-encoder:{tiny_cross_encoder}"
    ray_cluster.data.DataContext.get_current().execution_options.preserve_order = True
    for workers in (1, 2):
        ds = ray_cluster.data.from_items(ROWS)
        rows = rerank_dataset(ds, model=model, workers=workers, batch_size=4, num_cpus=1).take_all()
        got = {row["id"]: (list(row["scores"]), list(row["ranking"])) for row in rows}
        assert len(got) == len(ROWS)
        for row, (scores, ranking) in zip(ROWS, reference(model), strict=True):
            assert got[row["id"]][1] == ranking
            assert got[row["id"]][0] == pytest.approx(scores, abs=1e-6)


def test_rankwise_batch_ray_and_local_write_the_same_rows(ray_cluster: Any, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.parquet"
    assert main(["batch", str(source), str(local), "--model", "lexical", "--top-n", "3"]) == 0
    assert (
        main(
            [
                "batch",
                str(source),
                str(on_ray),
                "--model",
                "lexical",
                "--top-n",
                "3",
                "--engine",
                "ray",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    import pyarrow.parquet as pq

    local_rows = [json.loads(line) for line in local.read_text().splitlines()]
    ray_rows = pq.read_table(on_ray).to_pylist()
    assert [r["id"] for r in ray_rows] == [r["id"] for r in ROWS]  # input order kept
    expected = reference("lexical")
    for mine, theirs, (scores, ranking) in zip(local_rows, ray_rows, expected, strict=True):
        assert mine["ranking"] == theirs["ranking"] == ranking[:3]
        assert mine["scores"] == theirs["scores"] == scores
        assert mine["query"] == theirs["query"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ray_serve_replicas_answer_the_cohere_client(ray_cluster: Any) -> None:
    cohere = pytest.importorskip("cohere")
    serve = pytest.importorskip("ray.serve")
    from rankwise.ray import serve_app

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(serve_app("lexical", replicas=2, num_cpus=0.5), name="rankwise", route_prefix="/")
        url = f"http://127.0.0.1:{port}"
        client = cohere.ClientV2(api_key="unused", base_url=url, timeout=60)
        expected = [(r.index, r.score) for r in Reranker("lexical").rerank("red apple fruit", DOCS)]
        deadline = time.monotonic() + 300
        while True:
            try:
                response = client.rerank(model="m", query="red apple fruit", documents=DOCS)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert [(r.index, r.relevance_score) for r in response.results] == expected
        status = serve.status().applications["rankwise"]
        replicas = status.deployments["rankwise"].replica_states
        assert replicas.get("RUNNING") == 2
        import httpx

        tei = httpx.post(url + "/rerank", json={"query": "red apple fruit", "texts": DOCS}, timeout=60).json()
        assert [(r["index"], r["score"]) for r in tei] == expected
    finally:
        serve.shutdown()
