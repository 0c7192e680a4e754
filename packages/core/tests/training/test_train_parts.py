"""The parts of `rankwise train` on their own: hard-negative mining, the time budget and its schedule, staging."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rankwise.evaluation import BeirDataset, Document
from rankwise.training import BudgetCallback, TrainSettings, budget_schedule, labelled_queries, mine_examples
from rankwise.training.fit import planned_steps
from rankwise.training.staging import staged_directory

CORPUS = {
    "p": Document("p", "", "cats purr when happy"),
    "h1": Document("h1", "", "cats purr loudly at night"),
    "h2": Document("h2", "", "happy cats sleep"),
    "h3": Document("h3", "", "cats eat fish"),
    "judged0": Document("judged0", "", "cats are judged not relevant"),
    "far": Document("far", "", "stock prices fell"),
}


def _data(qrels: dict[str, dict[str, int]] | None = None) -> BeirDataset:
    return BeirDataset("toy", "train", CORPUS, {"q": "happy cats purr"}, qrels or {"q": {"p": 1, "judged0": 0}})


def test_bm25_negatives_come_from_its_top_candidates_never_a_positive():
    mined = mine_examples(_data(), per_positive=2, depth=3, seed=1)
    (example,) = mined.examples
    assert example.query == "happy cats purr"
    assert example.positive == CORPUS["p"].text
    pool = {CORPUS[d].text for d in ("h1", "h2", "h3", "judged0")}  # BM25's top 3 besides the positive
    assert len(example.negatives) == 2
    assert set(example.negatives) <= pool
    assert mine_examples(_data(), per_positive=2, depth=3, seed=1).examples == mined.examples  # seeded
    assert mined.by_model is False
    assert mined.queries == 1


def test_a_document_judged_not_relevant_is_a_negative_not_a_positive():
    assert labelled_queries(_data({"q": {"judged0": 0}})) == []
    mined = mine_examples(_data(), per_positive=4, depth=10)
    assert CORPUS["judged0"].text in mined.examples[0].negatives


def test_the_base_model_picks_the_hardest_negatives_except_those_too_close_to_the_positive():
    scores = {"p": 0.80, "h1": 0.79, "h2": 0.60, "h3": 0.70, "judged0": 0.10, "far": 0.0}
    by_text = {doc.text: scores[doc_id] for doc_id, doc in CORPUS.items()}
    calls = []

    def scorer(query: str, texts: list[str]) -> list[float]:
        calls.append(len(texts))
        return [by_text[t] for t in texts]

    mined = mine_examples(_data(), per_positive=2, depth=10, scorer=scorer, margin=0.05)
    # h1 scores 0.79 >= 0.80 - 0.05 * 0.80 = 0.76: a probable unjudged positive, skipped; then h3 (0.70), h2 (0.60)
    assert mined.examples[0].negatives == (CORPUS["h3"].text, CORPUS["h2"].text)
    assert mined.too_close == 1
    assert mined.by_model is True
    assert calls == [5]  # one call per query: its positive and its BM25 pool together


def test_a_pool_too_small_is_topped_up_with_random_documents():
    mined = mine_examples(_data(), per_positive=5, depth=2, seed=3)
    negatives = mined.examples[0].negatives
    assert len(negatives) == len(set(negatives)) == 5
    assert CORPUS["p"].text not in negatives
    assert mined.topped_up == 4
    with pytest.raises(ValueError, match="too few documents not judged relevant"):
        mine_examples(_data(), per_positive=6, depth=2)


def test_the_budget_stops_at_the_end_of_the_first_step_past_it():
    now = [0.0]
    budget = BudgetCallback(10.0, clock=lambda: now[0])
    state, control = SimpleNamespace(global_step=0, max_steps=100), SimpleNamespace(should_training_stop=False)
    budget.on_train_begin(None, state, control)
    for step, at in [(1, 4.0), (2, 9.9)]:
        now[0], state.global_step = at, step
        budget.on_step_end(None, state, control)
        assert not control.should_training_stop
    now[0], state.global_step = 10.2, 3
    budget.on_step_end(None, state, control)
    budget.on_train_end(None, state, control)
    assert control.should_training_stop
    assert budget.stopped
    assert (budget.steps, budget.seconds) == (3, pytest.approx(10.2))


def test_the_last_planned_step_is_not_a_budget_stop():
    now = [0.0]
    budget = BudgetCallback(1.0, clock=lambda: now[0])
    state, control = SimpleNamespace(global_step=5, max_steps=5), SimpleNamespace(should_training_stop=False)
    budget.on_train_begin(None, state, control)
    now[0] = 2.0
    budget.on_step_end(None, state, control)
    assert not budget.stopped
    assert not control.should_training_stop


def test_the_schedule_anneals_to_zero_when_the_budget_or_the_plan_runs_out():
    import torch

    now = [0.0]
    budget = BudgetCallback(100.0, clock=lambda: now[0])
    budget.start()
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = budget_schedule(optimizer, budget, planned_steps=10, warmup_steps=2)
    rates = []
    for at in [10.0, 20.0, 30.0, 99.0, 100.0]:
        now[0] = at
        optimizer.step()
        scheduler.step()
        rates.append(round(scheduler.get_last_lr()[0], 4))
    # step 1: warm-up over, min(1 - 1/10, 1 - 10/100) = 0.9; step 2: min(0.8, 0.8); step 3: min(0.7, 0.7);
    # step 4: the budget is nearly spent, 1 - 99/100; step 5: spent
    assert rates == [0.9, 0.8, 0.7, 0.01, 0.0]


def test_planned_steps_and_settings_checks():
    assert planned_steps(919, TrainSettings(epochs=3, batch_size=32)) == 87  # 29 batches per pass
    assert planned_steps(5, TrainSettings(epochs=0.1, batch_size=32)) == 1
    with pytest.raises(ValueError, match="budget_minutes must be a positive number"):
        TrainSettings(budget_minutes=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        TrainSettings(batch_size=0)


def test_staging_renames_on_success_and_removes_everything_on_failure(tmp_path: Path):
    target = tmp_path / "model"

    def interrupted_while_writing() -> None:
        with staged_directory(target) as work:
            (work / "weights").write_bytes(b"half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_while_writing()
    assert list(tmp_path.iterdir()) == []
    with staged_directory(target) as work:
        assert work.parent == tmp_path
        assert work.name.startswith(".model.partial-")
        (work / "weights").write_bytes(b"whole")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (target / "weights").read_bytes() == b"whole"
    with staged_directory(target, overwrite=True) as work:
        (work / "weights").write_bytes(b"v2")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (target / "weights").read_bytes() == b"v2"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError), staged_directory(tmp_path / "file"):
        pass
