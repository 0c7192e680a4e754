"""``rankwise calibrate`` end to end on a small synthetic BEIR folder (real BM25, real scikit-learn)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from beir_fixture import write_beir

from rankwise.calibration import Calibration
from rankwise.calibration.cli import _share, add_parser, run

TOPICS = [
    "apple",
    "banana",
    "cherry",
    "damson",
    "elder",
    "fig",
    "grape",
    "hazel",
    "iris",
    "juniper",
    "kiwi",
    "lemon",
    "mango",
    "nectar",
    "olive",
    "peach",
    "quince",
    "rowan",
    "sloe",
    "tangerine",
    "ugli",
    "vanilla",
    "walnut",
    "yam",
]
POOL = ["river", "garden", "market", "winter"]


def write_dataset(root: Path, *, with_train: bool = True) -> Path:
    corpus = []
    for i, topic in enumerate(TOPICS):
        corpus.append({"_id": f"d{i}", "title": "", "text": f"{topic} grows near the {POOL[i % 4]} every season"})
        corpus.append(
            {"_id": f"n{i}", "title": "", "text": f"stories of the {POOL[i % 4]} and the {POOL[(i + 1) % 4]}"}
        )
    queries = [{"_id": f"q{i}", "text": f"{topic} by the {POOL[i % 4]}"} for i, topic in enumerate(TOPICS)]
    qrels = [(f"q{i}", f"d{i}", 1) for i in range(len(TOPICS))]
    train, test = qrels[:16], qrels[16:]
    write_beir(root, corpus, queries, test if with_train else qrels)
    if with_train:
        lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in train)]
        (root / "qrels" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rankwise")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["calibrate", *argv])


def test_calibrate_fits_on_train_and_reports_on_test(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "toy")
    target = tmp_path / "lexical.json"
    out = io.StringIO()
    assert run(parse([str(data), "--model", "lexical", "--out", str(target)]), out) == 0
    calibration = Calibration.load(target)
    calibration.check_model("lexical")
    assert calibration.info["fitted_queries"] == 16
    assert calibration.info["terms"] == [{"source": "lexical", "kind": "bm25"}]
    assert calibration.variants[0].coef[0] > 0, "a higher BM25 score must mean a higher probability"
    text = out.getvalue()
    assert "fitted platt on 16 train queries" in text
    assert "measured on 8 test queries not fitted on" in text
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in text.splitlines()
        if line.startswith(("before", "after"))
    }
    assert set(rows) == {"before", "after"}
    assert all(0.0 <= v <= 1.0 for values in rows.values() for v in values)


def test_isotonic_on_a_held_out_share_of_the_test_split_never_reports_on_fitted_queries(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "toy", with_train=False)
    target = tmp_path / "iso.json"
    out = io.StringIO()
    argv = [str(data), "--model", "lexical", "--out", str(target), "--split", "test", "--method", "isotonic"]
    assert run(parse([*argv, "--heldout-share", "0.5"]), out) == 0
    fitted = sum(1 for i in range(len(TOPICS)) if _share(f"q{i}") < 0.5)
    calibration = Calibration.load(target)
    assert calibration.variants[0].output == "isotonic"
    assert calibration.info["fitted_queries"] == fitted
    assert f"measured on {len(TOPICS) - fitted} test queries not fitted on" in out.getvalue()
    assert json.loads(target.read_text(encoding="utf-8"))["model"] == "lexical"


def test_a_missing_train_split_says_what_to_do(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "toy", with_train=False)
    with pytest.raises(FileNotFoundError, match="--split test --heldout-share"):
        run(parse([str(data), "--model", "lexical", "--out", str(tmp_path / "x.json")]), io.StringIO())
    with pytest.raises(ValueError, match="heldout-share"):
        run(
            parse([str(data), "--model", "lexical", "--out", "x", "--split", "test", "--heldout-share", "1.5"]),
            io.StringIO(),
        )


def test_share_is_stable_and_spread() -> None:
    shares = [_share(f"q{i}") for i in range(1000)]
    assert shares == [_share(f"q{i}") for i in range(1000)]
    assert 0.4 < sum(s < 0.5 for s in shares) / 1000 < 0.6


def test_rankwise_calibrate_is_a_subcommand_of_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rankwise.cli import main

    data = write_dataset(tmp_path / "toy")
    target = tmp_path / "cal.json"
    assert main(["calibrate", str(data), "--model", "lexical", "--out", str(target), "--method", "isotonic"]) == 0
    assert "measured on 8 test queries" in capsys.readouterr().out
    assert Calibration.load(target).variants[0].output == "isotonic"
    assert main(["calibrate", str(tmp_path / "missing"), "--model", "lexical", "--out", str(target)]) == 2
    assert "error" in capsys.readouterr().err


def test_help_shows_the_docstring_as_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="rankwise")
    add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["calibrate", "--help"])
    shown = capsys.readouterr().out
    assert "--split train (default)" in shown
    assert "`" not in shown  # no reST markup left
