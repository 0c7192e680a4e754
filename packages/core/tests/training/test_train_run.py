"""`rankwise.training.train` end to end on a tiny labelled BEIR folder with tiny random models built locally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bi_encoder_support import build_tiny_bi_encoder
from training_support import write_labelled_beir

from rankwise import Reranker
from rankwise.training import REPORT_FILE, TrainReport, TrainSettings, train, trained_reranker

# A high learning rate, so that a few steps visibly move a tiny random model's weights.
FAST = TrainSettings(budget_minutes=5, epochs=2, batch_size=8, learning_rate=1e-3, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("train")
    return {
        "dataset": write_labelled_beir(root / "tiny"),
        "bi": Path(build_tiny_bi_encoder(root / "bi", seed=1)),
        "root": root,
    }


@pytest.fixture(scope="module")
def bi_run(tiny: dict[str, Path]) -> tuple[TrainReport, Path]:
    out = tiny["root"] / "runs" / "bi"
    return train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=out, settings=FAST), out


@pytest.fixture(scope="module")
def fused_run(tiny: dict[str, Path]) -> tuple[TrainReport, Path]:
    out = tiny["root"] / "runs" / "fused"
    base = f"1.3*bi-encoder:{tiny['bi']}+0.7*first-stage|lexical"
    return train(tiny["dataset"], base=base, out=out, settings=FAST), out


def _cosines(model: str, query: str, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model)
    q = encoder.encode([query], normalize_embeddings=True)
    d = encoder.encode(texts, normalize_embeddings=True)
    return np.asarray((d @ q.T)[:, 0], dtype=np.float64)


TEXTS = ["the cats and the dogs sleep in the house", "the river and the sea with boat", "a red apple"]


def test_a_bi_encoder_is_fine_tuned_into_a_spec_directory(bi_run: tuple[TrainReport, Path], tiny: dict[str, Path]):
    report, out = bi_run
    assert report.spec == f"bi-encoder:{out.resolve()}"
    assert report.calibration is None
    assert report.outcome.steps == report.outcome.planned_steps == 8  # ceil(30 / 8) = 4 steps x 2 epochs
    assert not report.outcome.stopped_by_budget
    assert report.train_queries == 30
    assert report.mined["examples"] == 30
    assert report.mined["by_model"] is True
    # the weights moved: the saved model's cosines are not the base's
    before = _cosines(str(tiny["bi"]), "cats dogs", TEXTS)
    after = _cosines(str(out), "cats dogs", TEXTS)
    assert np.max(np.abs(before - after)) > 1e-3
    # the directory is a spec: rankwise's bi-encoder scores are the saved model's cosines
    scores = Reranker(f"bi-encoder:{out}").score("cats dogs", TEXTS)
    np.testing.assert_allclose(scores, after, atol=1e-5)
    # no staging directory is left beside it
    assert not [p.name for p in out.parent.iterdir() if ".partial-" in p.name]


def test_the_report_is_written_and_evaluates_both_on_the_same_candidates(bi_run: tuple[TrainReport, Path]):
    report, out = bi_run
    record: dict[str, Any] = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    assert record["spec"] == report.spec
    assert record["out"] == str(out.resolve())
    assert ".partial-" not in (out / REPORT_FILE).read_text(encoding="utf-8")  # staging paths are rewritten
    (before,) = record["before"].values()
    (after,) = record["after"].values()
    assert before["first_stage"] == after["first_stage"]  # one BM25 run for both
    assert before["queries"] == after["queries"] == 8
    assert before["split"] == "test"
    assert record["training"]["steps"] == 8
    assert record["machine"]["cpu"]["model"]
    table = report.table()
    assert "before: bi-encoder:" in table
    assert "after: fine-tuned" in table
    assert "8 of 8 planned steps" in table


def test_an_embedded_style_base_gets_a_calibration_fitted_on_held_out_train_queries(
    fused_run: tuple[TrainReport, Path], monkeypatch: pytest.MonkeyPatch
):
    report, out = fused_run
    calibration = out / "calibration.json"
    assert report.calibration == str(calibration.resolve())
    assert report.spec == f"1.3*bi-encoder:{out.resolve()}+0.7*first-stage|lexical"
    assert report.calibration_queries > 0
    assert report.train_queries + report.calibration_queries == 30
    fitted = json.loads(calibration.read_text(encoding="utf-8"))
    assert fitted["model"] == report.spec
    assert [v["kinds"] for v in fitted["variants"]] == [["similarity", "first-stage"], ["similarity", "*"]]
    assert set(report.after) == {"fine-tuned, calibrated", "fine-tuned, min-max fusion"}
    # usable as documented, the path spelled absolute or relative, with or without first-stage scores
    monkeypatch.chdir(out.parent)
    for path in (str(out.resolve()), f"./{out.name}", f"../{out.parent.name}/{out.name}"):
        reranker = Reranker(f"1.3*bi-encoder:{path}+0.7*first-stage|lexical", calibration=str(calibration))
        results = reranker.rerank("cats dogs", TEXTS, first_stage_scores=[3.0, 0.5, 0.0])
        assert all(r.score_kind == "calibrated" and 0.0 <= r.score <= 1.0 for r in results)
        assert len(reranker.rerank("cats dogs", TEXTS)) == 3  # no first stage: the other fitted map


def test_trained_reranker_follows_a_moved_directory(fused_run: tuple[TrainReport, Path], tmp_path: Path):
    _, out = fused_run
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    reranker = trained_reranker(moved)
    assert reranker.model == f"1.3*bi-encoder:{moved}+0.7*first-stage|lexical"
    first = reranker.score("cats dogs", TEXTS, first_stage_scores=[3.0, 0.5, 0.0])
    original = trained_reranker(out).score("cats dogs", TEXTS, first_stage_scores=[3.0, 0.5, 0.0])
    np.testing.assert_allclose(first, original, rtol=1e-6)
    assert trained_reranker(moved, normalize="none").calibration is None


def test_a_cross_encoder_is_fine_tuned_into_a_spec_directory(
    tiny: dict[str, Path], tiny_cross_encoder: str, tmp_path: Path
):
    out = tmp_path / "ce"
    report = train(tiny["dataset"], base=f"cross-encoder:{tiny_cross_encoder}", out=out, settings=FAST)
    assert report.spec == f"cross-encoder:{out.resolve()}"
    assert report.mined["by_model"] is False  # a cross-encoder does not mine by default: every pair is a forward pass
    assert report.outcome.examples == 60  # one positive and one negative pair per train query
    base = Reranker(f"cross-encoder:{tiny_cross_encoder}", normalize="none").score("cats dogs", TEXTS)
    tuned = Reranker(f"cross-encoder:{out}", normalize="none").score("cats dogs", TEXTS)
    assert np.max(np.abs(np.subtract(base, tuned))) > 1e-3


def test_the_time_budget_stops_training_and_says_how_many_steps_ran(tiny: dict[str, Path], tmp_path: Path):
    settings = TrainSettings(budget_minutes=0.5 / 60, epochs=500, batch_size=4, progress=False)
    report = train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "m", settings=settings)
    outcome = report.outcome
    assert outcome.stopped_by_budget
    assert 1 <= outcome.steps < outcome.planned_steps == 500 * 8
    assert outcome.seconds >= 0.5
    assert f"trained {outcome.steps} of 4000 planned steps" in report.table()
    assert "stopped by the 0.5 s budget" in report.table()
    assert (tmp_path / "m" / "model.safetensors").is_file()  # a budget stop still saves the model
