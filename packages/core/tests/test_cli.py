"""The ``rankwise`` command line: rerank, eval, warm, models; bad input exits 2 without a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from beir_fixture import write_tiny_beir

from rankwise.cli import main

DOCS = [
    {"id": "a", "text": "dogs bark at night", "source": "web"},
    {"id": "b", "text": "cats purr when happy", "meta": {"page": 3}},
    {"id": "c", "text": "a cat naps on the mat"},
]


def _jsonl(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


# ------------------------------------------------------------------ rerank
def test_rerank_reads_stdin_and_writes_ranked_json_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(monkeypatch, capsys, ["rerank", "--query", "cats purr", "--model", "lexical"], _jsonl(DOCS))
    assert (code, err) == (0, "")
    ranked = _lines(out)
    assert [r["id"] for r in ranked] == ["b", "c", "a"]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[2]
    assert ranked[0]["meta"] == {"page": 3}  # every input field comes back
    assert {k: v for k, v in ranked[2].items() if k not in ("score", "rank")} == DOCS[0]


def test_rerank_top_n_threshold_and_text_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl([{"id": d["id"], "body": d["text"]} for d in DOCS]) + "\n")  # a blank line is fine
    argv = ["rerank", "-q", "cats purr", "-m", "lexical", "--text-field", "body", "--top-n", "1", str(path)]
    code, out, _ = _run(monkeypatch, capsys, argv)
    assert code == 0
    assert [r["id"] for r in _lines(out)] == ["b"]
    argv = ["rerank", "-q", "cats purr", "-m", "lexical", "--score-threshold", "0.01", "-"]
    code, out, _ = _run(monkeypatch, capsys, argv, _jsonl(DOCS))
    assert code == 0
    assert [r["id"] for r in _lines(out)] == ["b", "c"]  # the dog document scores 0


def test_rerank_uses_first_stage_scores_from_a_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [{"text": "x", "retriever": 0.2}, {"text": "y", "retriever": 0.9}]
    argv = ["rerank", "-q", "anything", "-m", "first-stage", "--first-stage-field", "retriever"]
    code, out, _ = _run(monkeypatch, capsys, argv, _jsonl(docs))
    assert code == 0
    assert [r["text"] for r in _lines(out)] == ["y", "x"]


@pytest.mark.parametrize(
    ("stdin", "argv_extra", "message"),
    [
        ('{"text": "ok"}\n{"text": broken\n', [], "line 2: not valid JSON"),
        ('{"text": "ok"}\n\n{"id": 3}\n', [], "line 3: the object has no 'text' field"),
        ('{"text": 5}\n', [], "line 1: the object has a non-string 'text' field"),
        ("[1, 2]\n", [], "line 1: expected a JSON object"),
        ('{"text": "x"}\n', ["--first-stage-field", "s"], "'s' must be a finite number"),
        ('{"text": "x"}\n', ["/no/such/file.jsonl"], "does not exist"),
    ],
)
def test_rerank_bad_input_exits_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    argv_extra: list[str],
    message: str,
) -> None:
    code, out, err = _run(monkeypatch, capsys, ["rerank", "-q", "cats", "-m", "lexical", *argv_extra], stdin)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_unknown_model_spec_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(monkeypatch, capsys, ["rerank", "-q", "cats", "-m", "nonsense:x"], _jsonl(DOCS))
    assert code == 2
    assert "unknown model spec 'nonsense:x'" in err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["rerank", "-q", "cats", "--top-n", "0"])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


# ------------------------------------------------------------------ eval, models, warm
def test_eval_prints_a_table_and_writes_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dataset = write_tiny_beir(tmp_path / "tiny")
    out_json = tmp_path / "out" / "report.json"
    argv = ["eval", str(dataset), "--model", "lexical", "--depth", "10", "--json", str(out_json)]
    code, out, err = _run(monkeypatch, capsys, argv)
    assert code == 0
    assert "nDCG@10" in out
    assert "reranked" in out
    assert "reranking tiny" in err  # the progress bar goes to stderr
    report = json.loads(out_json.read_text())
    assert report["first_stage"]["RR@10"] == pytest.approx(1.0)
    assert set(report["reranked"]) == {"nDCG@10", "RR@10", "AP", "R@100", "P@10"}
    assert (report["model"], report["dataset"], report["queries"]) == ("lexical", "tiny", 3)
    assert report["latency_ms"]["p95"] >= report["latency_ms"]["p50"]
    assert report["backend_options"] == {}


def test_eval_records_the_embedding_cache_dir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dataset = write_tiny_beir(tmp_path / "tiny")
    out_json, cache = tmp_path / "r.json", str(tmp_path / "emb")
    argv = [
        "eval",
        str(dataset),
        "-m",
        "lexical",
        "--no-progress",
        "--embedding-cache-dir",
        cache,
        "--json",
        str(out_json),
    ]
    code, _, err = _run(monkeypatch, capsys, argv)
    assert (code, err) == (0, "")
    assert json.loads(out_json.read_text())["backend_options"] == {"bi-encoder": {"embedding_cache_dir": cache}}


def test_eval_of_a_folder_that_is_not_a_dataset_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(monkeypatch, capsys, ["eval", str(tmp_path), "--model", "lexical", "--no-progress"])
    assert code == 2
    assert "is not a BEIR-layout dataset" in err


def test_models_lists_the_known_kinds(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from rankwise.backends.registry import known_kinds

    code, out, _ = _run(monkeypatch, capsys, ["models"])
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines()}
    assert set(known_kinds()) | {"embedded"} == listed


def test_warm_with_a_model_without_embeddings_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl(DOCS))
    code, out, _ = _run(monkeypatch, capsys, ["warm", str(path), "-m", "lexical", "--cache-dir", str(tmp_path / "c")])
    assert code == 0
    assert "nothing to pre-compute" in out


def _bi_encoder_has_disk_cache() -> bool:
    import inspect

    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend

    return "embedding_cache_dir" in inspect.signature(BiEncoderBackend.__init__).parameters


@pytest.mark.slow
@pytest.mark.skipif(not _bi_encoder_has_disk_cache(), reason="the bi-encoder's embedding_cache_dir has not landed")
def test_warm_persists_embeddings_to_the_cache_dir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, minilm_path: str
) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl(DOCS))
    cache = tmp_path / "embeddings"
    code, out, err = _run(
        monkeypatch, capsys, ["warm", str(path), "-m", f"bi-encoder:{minilm_path}", "--cache-dir", str(cache)]
    )
    assert (code, err.count("Traceback")) == (0, 0)
    assert "warmed 3 distinct texts from 3 documents" in out
    assert cache.is_dir()
    assert any(p.is_file() and p.stat().st_size > 0 for p in cache.rglob("*"))


# ------------------------------------------------------------------ the installed script
def test_installed_script_and_python_m_rerank(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("rankwise")
    assert script.is_file(), "the rankwise script is missing: pip install -e packages/core"
    for command in ([str(script)], [sys.executable, "-m", "rankwise"]):
        done = subprocess.run(
            [*command, "rerank", "-q", "cats purr", "-m", "lexical", "--top-n", "2"],
            input=_jsonl(DOCS),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["b", "c"]
    bad = subprocess.run(
        [str(script), "rerank", "-q", "cats", "-m", "lexical"],
        input="not json\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert "<stdin>, line 1: not valid JSON" in bad.stderr
    assert "Traceback" not in bad.stderr
