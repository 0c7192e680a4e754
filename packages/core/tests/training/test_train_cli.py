"""``rankwise train`` on the command line: the report on stdout, bad input exits 2 naming the problem, Ctrl-C 130."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beir_fixture import write_tiny_beir
from bi_encoder_support import build_tiny_bi_encoder
from training_support import write_labelled_beir

from rankwise.cli import build_parser, main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("train-cli")
    return {"dataset": write_labelled_beir(root / "tiny"), "bi": Path(build_tiny_bi_encoder(root / "bi", seed=3))}


def test_train_is_a_subcommand_with_the_documented_defaults():
    args = build_parser().parse_args(["train", "data", "--out", "m"])
    assert (args.base, args.budget_minutes, args.epochs, args.batch_size, args.mine_with_base) == (
        "embedded",
        20.0,
        3.0,
        32,
        None,
    )


def test_rankwise_train_prints_before_and_after_and_writes_the_model(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "model"
    argv = ["train", str(tiny["dataset"]), "--base", f"bi-encoder:{tiny['bi']}", "--out", str(out)]
    code = main([*argv, "--budget-minutes", "2", "--epochs", "1", "--batch-size", "8", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.splitlines()
    assert lines[0].split() == ["nDCG@10", "RR@10", "AP", "R@100", "P@10"]
    assert lines[1].startswith("bm25")
    assert lines[2].startswith("before: bi-encoder:")
    assert lines[3].startswith("after: fine-tuned")
    assert "trained 4 of 4 planned steps" in captured.out
    assert f"Reranker('bi-encoder:{out.resolve()}')" in captured.out
    assert "rankwise train: mining 1 hard negative(s) per positive for 30 train queries" in captured.err
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["settings"]["batch_size"] == 8
    assert record["training"]["steps"] == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base", "lexical"], "'lexical' cannot be trained (BM25 has no weights to train)"),
        (["--base", "cohere:rerank-v3.5"], "a rerank API's model cannot be fine-tuned from here"),
        (["--base", "nonsense:x"], "nonsense"),
    ],
)
def test_a_base_that_cannot_be_trained_exits_2(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
):
    code = main(["train", str(tiny["dataset"]), "--out", str(tmp_path / "m"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_a_dataset_without_train_split_exits_2(tiny: dict[str, Path], tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    dataset = write_tiny_beir(tmp_path / "only-test")
    code = main(["train", str(dataset), "--base", f"bi-encoder:{tiny['bi']}", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2
    assert "rankwise train: error:" in err
    assert "has no train split (qrels/train.tsv)" in err


def test_bad_numbers_are_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["train", "d", "--out", str(tmp_path / "m"), "--budget-minutes", "0"])
    assert exited.value.code == 2
    assert "expected a positive number, got '0'" in capsys.readouterr().err


def test_ctrl_c_exits_130_and_leaves_nothing(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    import rankwise.training.bi_encoder as bi_encoder

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(bi_encoder, "run_trainer", interrupted)
    out = tmp_path / "m"
    code = main(
        ["train", str(tiny["dataset"]), "--base", f"bi-encoder:{tiny['bi']}", "--out", str(out), "--no-progress"]
    )
    assert code == 130
    assert f"interrupted; {out} was left as it was" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
