"""`rankwise serve` as a process: starts, answers the Cohere client, drains in-flight requests on shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_support import CORPUS, SlowBackend, free_port, running

from rankwise import Reranker
from rankwise.serve import RerankService

REPO = Path(__file__).resolve().parents[4]


def start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rankwise", "serve", "--port", str(port), "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"rankwise serve exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("rankwise serve did not become healthy in 240 s")


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def test_graceful_shutdown_finishes_in_flight_requests() -> None:
    backend = SlowBackend(1.0)
    service = RerankService(Reranker(backend))
    answers: list[httpx.Response] = []
    with running(service) as (url, server):
        thread = threading.Thread(
            target=lambda: answers.append(
                httpx.post(url + "/v2/rerank", json={"query": "cats", "documents": ["cats purr", "dogs"]}, timeout=30)
            )
        )
        thread.start()
        while backend.calls == 0:  # the request is being scored
            time.sleep(0.01)
        server.should_exit = True  # what SIGTERM does
        thread.join(timeout=30)
        time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/health", timeout=2)
    assert answers
    assert answers[0].status_code == 200
    assert [r["index"] for r in answers[0].json()["results"]] == [0, 1]


def test_cli_serve_with_keys_from_env_and_file(tmp_path: Path) -> None:
    cohere = pytest.importorskip("cohere")
    keys = tmp_path / "keys.txt"
    keys.write_text("# one key a line\nfile-key\n")
    process, url = start(
        "--model", "lexical", "--api-key-env", "RW_TEST_KEYS", "--api-key-file", str(keys),
        env={"RW_TEST_KEYS": "env-key-1,env-key-2"},
    )  # fmt: skip
    try:
        expected = [(r.index, r.score) for r in Reranker("lexical").rerank("red apple", CORPUS)]
        for key in ("env-key-2", "file-key"):
            response = cohere.ClientV2(api_key=key, base_url=url).rerank(model="m", query="red apple", documents=CORPUS)
            assert [(r.index, r.relevance_score) for r in response.results] == expected
        assert httpx.post(url + "/v2/rerank", json={"query": "q", "documents": ["a"]}).status_code == 401
        assert httpx.get(url + "/info").json()["model"] == "lexical"
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert "env-key" not in err
    assert "file-key" not in err


def test_cli_serve_refuses_a_missing_key_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rankwise", "serve", "--model", "lexical", "--api-key-env", "RW_UNSET_VARIABLE_X"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "RW_UNSET_VARIABLE_X"},
    )
    assert result.returncode == 2
    assert "RW_UNSET_VARIABLE_X" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_readme_example_with_the_embedded_default(embedded_reranker: Reranker) -> None:
    """The README's `rankwise serve --model embedded` + Cohere client example, as written there."""
    cohere = pytest.importorskip("cohere")
    readme = (REPO / "README.md").read_text()
    assert "rankwise serve --model embedded" in readme
    block = readme.split("```python\nimport cohere", 1)[1].split("```", 1)[0]
    process, url = start("--model", "embedded")
    try:
        namespace: dict[str, object] = {}
        exec("import cohere" + block.replace("http://127.0.0.1:8080", url), namespace)
        response = namespace["response"]
        documents = namespace["documents"]
        query = namespace["query"]
        assert isinstance(documents, list)
        assert isinstance(query, str)
        expected = embedded_reranker.rerank(query, documents)
        got = [(r.index, r.relevance_score) for r in response.results]  # type: ignore[attr-defined]
        assert [i for i, _ in got] == [r.index for r in expected][: len(got)]
        assert [s for _, s in got] == pytest.approx([r.score for r in expected][: len(got)], abs=1e-4)
        assert httpx.get(url + "/info").json()["score_kind"] == "calibrated"
    finally:
        code, err = stop(process)
    assert code == 0, err
    del cohere
