"""`rankwise compare` and the TREC files of `rankwise eval` (issue 16): tiny BEIR fixture, tiny TREC files."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path

import ir_measures
import pytest
from beir_fixture import write_tiny_beir
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rankwise.cli import main
from rankwise.evaluation import evaluate, load_beir
from rankwise.evaluation.compare import best_under_budget, compare, pareto_front, per_query
from rankwise.evaluation.metrics import run_from_rankings
from rankwise.evaluation.trec import read_trec_qrels, read_trec_run, write_trec_run

MODELS = ["lexical", "first-stage", "0.5*lexical+0.5*first-stage"]

# A run as Pyserini writes it: q1's candidates in an order BM25 would not give, q3 absent.
TREC_RUN = """q1 Q0 d3 1 9.0 pyserini
q1 Q0 d1 2 8.0 pyserini
q1 Q0 d2 3 1.5 pyserini
q2 Q0 d5 1 4.0 pyserini
q2 Q0 d4 2 3.0 pyserini
"""
TREC_QRELS = "q1 0 d1 2\nq1 0 d3 1\nq2 0 d4 1\nq3 0 d2 1\n"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_beir(tmp_path / "tiny")


def _run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------ decisions
def test_pareto_front_and_budget() -> None:
    points = {"slow-best": (0.72, 120.0), "fast": (0.60, 2.0), "dominated": (0.59, 50.0), "mid": (0.70, 30.0)}
    assert pareto_front(points) == ["fast", "mid", "slow-best"]
    assert best_under_budget(points, 40.0) == "mid"
    assert best_under_budget(points, 1.0) is None
    assert pareto_front({"a": (0.5, 1.0), "b": (0.5, 1.0)}) == ["a", "b"]  # equal points dominate neither


# ------------------------------------------------------------------ compare on the tiny dataset
def test_compare_metrics_equal_evaluate_and_the_statistics_equal_scipy(tiny: Path) -> None:
    report = compare(tiny, MODELS, depth=10, budget_ms=1e6)
    assert [m.spec for m in report.models] == MODELS
    data = load_beir(tiny)
    for model in report.models:  # every model saw the same candidates evaluate() would give it
        alone = evaluate(tiny, model=model.spec, depth=10)
        assert model.metrics == pytest.approx(alone.reranked)
        assert report.first_stage == pytest.approx(alone.first_stage)
        assert model.per_query == pytest.approx(per_query(data.qrels, alone.runs["reranked"]))
        assert model.latency_ms["p95"] >= model.latency_ms["p50"] >= 0
        assert model.cost_per_1k_queries is None
        assert model.tokens_per_1k_queries is None

    # first-stage reranks nothing: it ties the first stage on every query.
    first = report.models[1].vs_first_stage
    assert first is not None
    assert (first.wins, first.ties, first.losses, first.p_value) == (0, 3, 0, 1.0)

    # The p-values are scipy's paired t-test, Holm-corrected by statsmodels, over the same per-query values.
    qids = list(data.qrels)
    baseline = [report.first_stage_per_query[q] for q in qids]
    raw = []
    for model in report.models:
        values = [model.per_query[q] for q in qids]
        raw.append(1.0 if values == baseline else float(stats.ttest_rel(values, baseline).pvalue))
    holm = multipletests(raw, method="holm")[1]
    for model, p, p_holm in zip(report.models, raw, holm, strict=True):
        assert model.vs_first_stage is not None
        assert model.vs_first_stage.p_value == pytest.approx(p)
        assert model.vs_first_stage.p_holm == pytest.approx(p_holm)
        w, t, lo = model.vs_first_stage.wins, model.vs_first_stage.ties, model.vs_first_stage.losses
        assert w + t + lo == len(qids)

    best = report.best()
    assert best == max(report.models, key=lambda m: m.metrics["nDCG@10"]).spec
    for model in report.models:
        assert (model.vs_best is None) == (model.spec == best)
    assert report.pareto() == pareto_front(report.points())
    assert "Pareto set" in report.recommendation()
    assert "Best within p50 <= 1e+06 ms" in report.recommendation()


def test_compare_writes_markdown_html_json_png_and_runs(tiny: Path, tmp_path: Path) -> None:
    report = compare(tiny, ["lexical", "first-stage"], depth=10, budget_ms=0.000001)
    paths = report.write(tmp_path / "out")
    png = paths["png"].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    page = paths["html"].read_text()
    # Self-contained: the plot is inline, nothing is fetched.
    embedded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert embedded is not None
    assert base64.b64decode(embedded.group(1)) == png
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<table>" in page
    assert "Recommendation" in page
    markdown = paths["markdown"].read_text()
    assert "| lexical |" in markdown
    assert "![nDCG@10 against p50 latency](compare.png)" in markdown
    assert "No model meets p50 <= 1e-06 ms" in markdown
    payload = json.loads(paths["json"].read_text())
    assert [m["spec"] for m in payload["models"]] == ["lexical", "first-stage"]
    assert payload["pareto"] == report.pareto()
    run_file = tmp_path / "out" / "runs" / "lexical.trec"
    measured = ir_measures.calc_aggregate(
        [ir_measures.parse_measure("nDCG@10")], load_beir(tiny).qrels, ir_measures.read_trec_run(str(run_file))
    )
    assert float(next(iter(measured.values()))) == pytest.approx(report.models[0].metrics["nDCG@10"])


def test_plot_labels_stay_inside_the_axes() -> None:
    """The slowest model's label is drawn left of its point, inside the axes (drawn right of it, a long spec
    ran past the plot area, and tight_layout shrank the axes to 60% of the figure to make room)."""
    from matplotlib import pyplot

    from rankwise.evaluation.compare import CompareReport, ModelResult

    def model(spec: str, ndcg: float, p50: float) -> ModelResult:
        return ModelResult(spec, {"nDCG@10": ndcg}, {"p50": p50, "p95": p50, "mean": p50})

    slow = "cross-encoder:/some/where/models/minilm-l6-cross-encoder-fully-trained"
    report = CompareReport(
        "scifact", "test", 100, 100, "BM25", {"nDCG@10": 0.66},
        [model("lexical", 0.62, 9.0), model("embedded", 0.69, 17.0), model(slow, 0.67, 3600.0)],
    )  # fmt: skip
    figure = report.plot_figure()
    try:
        renderer = figure.canvas.get_renderer()
        axes = figure.axes[0]
        assert {t.get_text() for t in axes.texts} >= {"lexical", "embedded"}
        for text in axes.texts:
            assert text.get_window_extent(renderer).x1 <= axes.bbox.x1, text.get_text()
    finally:
        pyplot.close(figure)


def test_compare_rejects_bad_arguments(tiny: Path) -> None:
    with pytest.raises(ValueError, match="at least one model"):
        compare(tiny, [])
    with pytest.raises(ValueError, match="listed twice"):
        compare(tiny, ["lexical", "lexical"])
    with pytest.raises(ValueError, match="not one of the models"):
        compare(tiny, ["lexical"], prices_per_1k_tokens={"cohere:x": 1.0})
    with pytest.raises(ValueError, match="budget_ms"):
        compare(tiny, ["lexical"], budget_ms=-1.0)


def test_compare_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "report"
    argv = ["compare", str(tiny), "-m", "lexical", "-m", "first-stage", "--depth", "10", "--no-progress"]
    code, out, err = _run_cli(monkeypatch, capsys, [*argv, "--budget-ms", "500", "--out", str(out_dir)])
    assert (code, err) == (0, "")
    assert "| lexical |" in out
    assert "Best within p50 <= 500 ms" in out
    assert {p.name for p in out_dir.iterdir()} >= {"report.md", "report.html", "report.json", "compare.png"}
    code, _, err = _run_cli(monkeypatch, capsys, ["compare", str(tiny), "-m", "lexical", "-m", "lexical"])
    assert code == 2
    assert "listed twice" in err
    with pytest.raises(SystemExit):
        main(["compare", str(tiny), "-m", "lexical", "--price-per-1k-tokens", "free"])
    assert "[SPEC=]PRICE" in capsys.readouterr().err


# ------------------------------------------------------------------ TREC files
def test_trec_run_and_qrels_readers(tmp_path: Path) -> None:
    run_file, qrels_file = tmp_path / "run.trec", tmp_path / "qrels.trec"
    run_file.write_text(TREC_RUN)
    qrels_file.write_text(TREC_QRELS)
    run = read_trec_run(run_file)
    assert run["q1"] == [("d3", 9.0), ("d1", 8.0), ("d2", 1.5)]
    assert read_trec_qrels(qrels_file) == {"q1": {"d1": 2, "d3": 1}, "q2": {"d4": 1}, "q3": {"d2": 1}}
    bad = tmp_path / "bad.trec"
    bad.write_text("q1 Q0 d1 1 2.0 tag\nq1 Q0 d1 2 1.0 tag\n")
    with pytest.raises(ValueError, match="line 2: document 'd1' is listed twice"):
        read_trec_run(bad)
    bad.write_text("q1 Q0 d1 1\n")
    with pytest.raises(ValueError, match="line 1: a TREC run line has 6 fields"):
        read_trec_run(bad)


def test_trec_line_errors_name_the_file_the_line_and_the_layout() -> None:
    run = io.StringIO("\ufeffq1 Q0 d1 1 2.0 tag\n\nq1 Q0 d2 2\n")
    message = "run.trec, line 3: a TREC run line has 6 fields (qid Q0 docno rank score tag), got 4"
    with pytest.raises(ValueError, match=re.escape(message)):
        read_trec_run(run, "run.trec")
    message = "qrels.trec, line 2: a TREC qrels line has 4 fields (qid 0 docno grade), got 3"
    with pytest.raises(ValueError, match=re.escape(message)):
        read_trec_qrels(io.StringIO("q1 0 d1 1\nq1 0 d2\n"), "qrels.trec")


def test_eval_reranks_a_trec_run_with_trec_qrels_and_saves_a_trec_run(tiny: Path, tmp_path: Path) -> None:
    run_file, qrels_file, saved = tmp_path / "run.trec", tmp_path / "qrels.trec", tmp_path / "out" / "reranked.trec"
    run_file.write_text(TREC_RUN)
    qrels_file.write_text(TREC_QRELS)
    report = evaluate(tiny, model="lexical", run=run_file, qrels=qrels_file, save_run=saved, depth=2)
    first = report.runs["first_stage"]
    assert list(first["q1"]) == ["d3", "d1"]  # the run's candidates, cut to depth, not BM25's
    assert first["q3"] == {}  # not in the run: nothing retrieved, counts as 0
    assert report.first_stage_name == "run:run.trec"
    for qid in first:
        assert set(report.runs["reranked"][qid]) == set(first[qid])
    qrels = read_trec_qrels(qrels_file)
    # trec_eval's view (ir-measures reading the files) agrees with the report.
    expected_first = ir_measures.calc_aggregate(
        [ir_measures.parse_measure("nDCG@10")], qrels, run_from_rankings({q: list(d) for q, d in first.items()})
    )
    assert report.first_stage["nDCG@10"] == pytest.approx(float(next(iter(expected_first.values()))))
    from_file = ir_measures.calc_aggregate(
        [ir_measures.parse_measure("nDCG@10"), ir_measures.parse_measure("AP")],
        qrels,
        ir_measures.read_trec_run(str(saved)),
    )
    assert {str(k): float(v) for k, v in from_file.items()} == pytest.approx(
        {"nDCG@10": report.reranked["nDCG@10"], "AP": report.reranked["AP"]}
    )
    lines = saved.read_text().splitlines()
    assert lines[0].split()[:4] == ["q1", "Q0", next(iter(report.runs["reranked"]["q1"])), "1"]


def test_a_run_naming_a_document_outside_the_corpus_is_an_error(tiny: Path, tmp_path: Path) -> None:
    run_file = tmp_path / "run.trec"
    run_file.write_text("q1 Q0 d404 1 3.0 x\n")
    with pytest.raises(ValueError, match="'d404', which is not in the corpus"):
        evaluate(tiny, model="lexical", run=run_file)


def test_compare_cli_with_trec_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny: Path, tmp_path: Path
) -> None:
    run_file, qrels_file = tmp_path / "run.trec", tmp_path / "qrels.trec"
    run_file.write_text(TREC_RUN)
    qrels_file.write_text(TREC_QRELS)
    argv = ["compare", str(tiny), "-m", "lexical", "--run", str(run_file), "--qrels", str(qrels_file), "--no-progress"]
    code, out, err = _run_cli(monkeypatch, capsys, argv)
    assert (code, err) == (0, "")
    assert "run:run.trec" in out


def test_write_trec_run_scores_fall_with_rank(tmp_path: Path) -> None:
    path = tmp_path / "r.trec"
    write_trec_run(path, {"q": ["b", "a", "c"]}, tag="my model")
    assert path.read_text().splitlines() == [
        "q Q0 b 1 3.000000 mymodel",
        "q Q0 a 2 2.000000 mymodel",
        "q Q0 c 3 1.000000 mymodel",
    ]
    assert read_trec_run(path)["q"] == [("b", 3.0), ("a", 2.0), ("c", 1.0)]
