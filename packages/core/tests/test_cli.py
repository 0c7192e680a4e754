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
from rankwise.cli._common import cache_options

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
    code, out, err = _run(monkeypatch, capsys, [*argv, "--ignore-identical-ids"])
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
    assert json.loads(out_json.read_text())["backend_options"] == {}  # lexical has no embeddings to store
    options = cache_options(cache, "embedded")
    assert options == {"bi-encoder": {"embedding_cache_dir": cache}}


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


# ------------------------------------------------------------------ issue 12, item 19: the flag
def test_item19_eval_ignore_identical_ids_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dataset = write_tiny_beir(tmp_path / "tiny")  # q1 is also a document, as in ArguAna
    reports = {}
    for flag in ("--ignore-identical-ids", "--no-ignore-identical-ids"):
        out_json = tmp_path / f"{flag}.json"
        argv = ["eval", str(dataset), "-m", "lexical", "--no-progress", flag, "--json", str(out_json)]
        assert _run(monkeypatch, capsys, argv)[0] == 0
        reports[flag] = json.loads(out_json.read_text())
    assert reports["--ignore-identical-ids"]["ignore_identical_ids"] is True
    assert reports["--no-ignore-identical-ids"]["ignore_identical_ids"] is False
    # The self-match q1 (not judged relevant) ranks first for q1 only when it is kept.
    assert reports["--no-ignore-identical-ids"]["first_stage"]["RR@10"] < 1.0
    assert reports["--ignore-identical-ids"]["first_stage"]["RR@10"] == pytest.approx(1.0)


# ------------------------------------------------------------------ issue 12, item 21
def test_item21_input_score_and_rank_are_kept_under_another_name_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [{"id": "a", "text": "dogs bark", "score": 0.9, "rank": 1}, {"id": "b", "text": "cats purr", "score": 0.1}]
    argv = ["rerank", "-q", "cats purr", "-m", "lexical", "--first-stage-field", "score"]
    code, out, err = _run(monkeypatch, capsys, argv, _jsonl(docs))
    assert code == 0
    ranked = _lines(out)
    assert [r["id"] for r in ranked] == ["b", "a"]
    assert (ranked[0]["input_score"], ranked[0]["rank"]) == (0.1, 1)
    assert (ranked[1]["input_score"], ranked[1]["input_rank"], ranked[1]["rank"]) == (0.9, 1, 2)
    assert ranked[0]["score"] != 0.1
    assert "warning" in err
    assert "'score' as 'input_score'" in err
    assert len(err.strip().splitlines()) == 1
    clash = [{"text": "x", "score": 1, "input_score": 2}]
    code, out, err = _run(monkeypatch, capsys, ["rerank", "-q", "x", "-m", "lexical"], _jsonl(clash))
    assert (code, out) == (2, "")
    assert "has both 'score' and 'input_score'" in err


def _one_line_exit_2(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("rankwise ")


def test_item21_non_utf8_file_names_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    code, out, err = _run(monkeypatch, capsys, ["rerank", "-q", "cafe", "-m", "lexical", str(path)])
    assert (code, out) == (2, "")
    assert f"{path}, line 2: not valid UTF-8" in err
    _one_line_exit_2(err)


def test_item21_deeply_nested_json_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "ok"}\n' + "[" * 100_000 + "\n")
    code, out, err = _run(monkeypatch, capsys, ["rerank", "-q", "x", "-m", "lexical", str(path)])
    assert (code, out) == (2, "")
    assert "line 2: JSON nested too deeply" in err
    _one_line_exit_2(err)


def test_item21_a_directory_as_input_is_reported_as_a_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(monkeypatch, capsys, ["rerank", "-q", "x", "-m", "lexical", str(tmp_path)])
    assert code == 2
    assert "is a directory" in err
    assert "does not exist" not in err
    _one_line_exit_2(err)


@pytest.mark.slow
def test_item21_a_model_path_that_does_not_exist_is_one_line_exit_2(tmp_path: Path) -> None:
    # A subprocess: the real script, as a user runs it (stderr is exactly what they see).
    missing = tmp_path / "nonexistent"
    for spec in ("cross-encoder:/nonexistent", f"cross-encoder:{missing}"):
        done = subprocess.run(
            [sys.executable, "-m", "rankwise", "rerank", "-q", "x", "-m", spec],
            input=_jsonl(DOCS),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        _one_line_exit_2(done.stderr)


# ------------------------------------------------------------------ issue 12, item 22
def _stored_rows(cache: Path) -> int:
    import sqlite3

    files = list(cache.rglob("*.sqlite3"))
    assert files, f"no embedding store under {cache}"
    with sqlite3.connect(files[0]) as db:
        return sum(int(row[0]) for row in db.execute("SELECT COUNT(*) FROM embeddings"))


@pytest.mark.slow
@pytest.mark.skipif(not _bi_encoder_has_disk_cache(), reason="the bi-encoder's embedding_cache_dir has not landed")
def test_item22_warming_a_dataset_folder_embeds_what_eval_reranks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, minilm_path: str
) -> None:
    from beir_fixture import CORPUS

    from rankwise.evaluation import load_beir

    dataset = write_tiny_beir(tmp_path / "tiny")
    spec = f"bi-encoder:{minilm_path}"
    eval_argv = ["eval", str(dataset), "-m", spec, "--no-progress", "--depth", "10"]

    # Warming the folder stores title + " " + text: eval afterwards encodes no document.
    folder_cache = tmp_path / "folder-cache"
    code, out, _ = _run(monkeypatch, capsys, ["warm", str(dataset), "-m", spec, "--cache-dir", str(folder_cache)])
    assert code == 0
    assert f"warmed {len(CORPUS)} distinct texts from {len(CORPUS)} documents" in out
    warmed = _stored_rows(folder_cache)
    assert warmed == len({d.content for d in load_beir(dataset).corpus.values()})
    assert _run(monkeypatch, capsys, [*eval_argv, "--embedding-cache-dir", str(folder_cache)])[0] == 0
    assert _stored_rows(folder_cache) == warmed

    # Warming corpus.jsonl stores the text field only (as `rerank` reads it), and says so.
    file_cache = tmp_path / "file-cache"
    argv = ["warm", str(dataset / "corpus.jsonl"), "-m", spec, "--cache-dir", str(file_cache)]
    code, _, err = _run(monkeypatch, capsys, argv)
    assert code == 0
    assert "give the dataset folder" in err
    before = _stored_rows(file_cache)
    assert _run(monkeypatch, capsys, [*eval_argv, "--embedding-cache-dir", str(file_cache)])[0] == 0
    assert _stored_rows(file_cache) > before  # eval had to embed the titled documents itself


def test_item22_eval_synopsis_in_the_docs_names_the_embedding_cache_dir() -> None:
    from core_support import REPO_ROOT

    cli_md = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    synopsis = cli_md.split("rankwise eval DATASET_DIR", 1)[1].split("```", 1)[0]
    assert "--embedding-cache-dir DIR" in synopsis


# ------------------------------------------------------------------ issue 17 part 5: progress bars
BIG = [{"id": str(i), "text": f"document {i} about {'cats' if i % 3 else 'dogs'} number {i}"} for i in range(130)]


def _script(*args: str) -> list[str]:
    return [sys.executable, "-m", "rankwise", *args]


def _run_on_a_tty(command: list[str], stdin_path: Path) -> tuple[int, str, str]:
    """Run ``command`` with stderr on a pseudo-terminal (stdout to a pipe); return its exit code, stdout, tty text."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    with stdin_path.open("rb") as stdin:
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen.extend(chunk)
    out = process.stdout.read() if process.stdout else b""
    code = process.wait(timeout=300)
    os.close(controller)
    return code, out.decode(), seen.decode(errors="replace")


@pytest.mark.slow
def test_rerank_and_warm_draw_a_progress_bar_on_a_terminal_only(
    tmp_path: Path, minilm_path: str, tiny_cross_encoder: str
) -> None:
    docs = tmp_path / "big.jsonl"
    docs.write_text(_jsonl(BIG))  # more documents than one chunk (64): a bar is drawn
    rerank = _script("rerank", "-q", "cats", "-m", f"cross-encoder:{tiny_cross_encoder}", "--top-n", "5")
    code, tty_out, tty_err = _run_on_a_tty(rerank, docs)
    assert code == 0, tty_err
    assert "reranking" in tty_err
    assert "130/130" in tty_err
    piped = subprocess.run(rerank, stdin=docs.open("rb"), capture_output=True, timeout=300, check=False)
    assert piped.returncode == 0
    assert piped.stderr.decode() == ""  # no bar, nothing at all, when stderr is a pipe
    assert piped.stdout.decode() == tty_out  # pre-scoring behind the bar changes no score and no order

    warm = _script("warm", str(docs), "-m", f"bi-encoder:{minilm_path}", "--cache-dir", str(tmp_path / "cache"))
    code, out, tty_err = _run_on_a_tty(warm, docs)
    assert code == 0, tty_err
    assert "warming" in tty_err
    assert "130/130" in tty_err
    assert "warmed 130 distinct texts from 130 documents" in out
    piped = subprocess.run([*warm[:-1], str(tmp_path / "cache2")], capture_output=True, timeout=300, check=False)
    assert piped.returncode == 0
    assert piped.stderr.decode() == ""
    assert "warmed 130 distinct texts" in piped.stdout.decode()
