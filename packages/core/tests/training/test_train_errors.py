"""Bad input to `rankwise train` fails early and clearly; an interrupted run leaves no half-written directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from beir_fixture import write_tiny_beir
from bi_encoder_support import build_tiny_bi_encoder
from core_support import build_tiny_cross_encoder
from training_support import write_labelled_beir

import rankwise.training.run as run_module
from rankwise.errors import UnknownModelSpecError
from rankwise.training import NotTrainableError, TrainingDataError, TrainSettings, resolve_base, train

QUICK = TrainSettings(budget_minutes=1, epochs=1, batch_size=8, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("train-errors")
    return {
        "dataset": write_labelled_beir(root / "tiny"),
        "bi": Path(build_tiny_bi_encoder(root / "bi", seed=2)),
    }


@pytest.mark.parametrize(
    ("base", "named"),
    [
        ("lexical", "BM25 has no weights to train"),
        ("cohere:rerank-v3.5", "a rerank API's model cannot be fine-tuned"),
        ("monot5:castorini/monot5-base-msmarco", "too large to fine-tune on a CPU"),
        ("yesno:Qwen/Qwen3-Reranker-0.6B", "too large to fine-tune on a CPU"),
        ("0.5*lexical+0.5*bi-encoder:m", "'lexical' cannot be trained"),
        ("0.5*cross-encoder:a+0.5*bi-encoder:b", "embedded shape"),
    ],
)
def test_a_base_that_cannot_be_trained_is_refused_by_name(base: str, named: str):
    with pytest.raises(NotTrainableError, match=named) as caught:
        resolve_base(base)
    assert isinstance(caught.value, ValueError)
    assert "embedded, bi-encoder:MODEL or cross-encoder:MODEL" in str(caught.value) or "embedded shape" in named


def test_a_malformed_base_is_a_spec_error():
    with pytest.raises(UnknownModelSpecError):
        resolve_base("nonsense-kind:x")


def test_embedded_resolves_to_the_bundled_minilm_fused_like_the_default(minilm_path: str):
    base = resolve_base("embedded")
    assert (base.kind, base.model, base.before, base.fused) == ("bi-encoder", minilm_path, "embedded", True)
    assert base.after_spec("/m") == "1.3*bi-encoder:/m+0.7*first-stage|lexical"


def test_a_dataset_without_a_train_split_is_refused(tmp_path: Path, tiny: dict[str, Path]):
    dataset = write_tiny_beir(tmp_path / "only-test")
    with pytest.raises(TrainingDataError, match=r"has no train split \(qrels/train.tsv\)"):
        train(dataset, base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "out", settings=QUICK)
    assert not (tmp_path / "out").exists()


def test_a_dataset_without_a_test_split_is_refused(tmp_path: Path, tiny: dict[str, Path]):
    dataset = write_labelled_beir(tmp_path / "d")
    (dataset / "qrels" / "test.tsv").unlink()
    with pytest.raises(TrainingDataError, match="has no test split"):
        train(dataset, base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "out", settings=QUICK)


def test_a_folder_that_is_no_dataset_is_a_file_error(tmp_path: Path, tiny: dict[str, Path]):
    with pytest.raises(FileNotFoundError, match="not a BEIR-layout dataset"):
        train(tmp_path, base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "out", settings=QUICK)


def test_too_few_labelled_queries_are_refused_with_the_count(tmp_path: Path, tiny: dict[str, Path]):
    dataset = write_labelled_beir(tmp_path / "small", train_queries=7)
    with pytest.raises(TrainingDataError, match=r"has 7 labelled train queries .* needs at least 20"):
        train(dataset, base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "out", settings=QUICK)
    # an embedded-style base holds some out for its calibration, and says so
    fused = f"1.3*bi-encoder:{tiny['bi']}+0.7*first-stage|lexical"
    with pytest.raises(TrainingDataError, match="held out to fit the calibration"):
        train(dataset, base=fused, out=tmp_path / "out", settings=QUICK, min_queries=7)


def test_test_queries_that_are_also_train_queries_are_refused(tmp_path: Path, tiny: dict[str, Path]):
    dataset = write_labelled_beir(tmp_path / "leaky")
    with (dataset / "qrels" / "test.tsv").open("a", encoding="utf-8") as handle:
        handle.write("q0\td0\t1\n")
    with pytest.raises(TrainingDataError, match="judged in both"):
        train(dataset, base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "out", settings=QUICK)


def test_a_model_too_large_for_a_cpu_or_with_two_outputs_is_refused(tmp_path: Path, tiny: dict[str, Path]):
    with pytest.raises(NotTrainableError, match="M parameters: too many to fine-tune on a CPU"):
        train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=tmp_path / "o", settings=QUICK, max_parameters=10)
    two = build_tiny_cross_encoder(tmp_path / "two", num_labels=2)
    with pytest.raises(NotTrainableError, match="has 2 outputs"):
        train(tiny["dataset"], base=f"cross-encoder:{two}", out=tmp_path / "o", settings=QUICK)


def test_an_existing_output_directory_is_not_overwritten_unless_asked(tmp_path: Path, tiny: dict[str, Path]):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="already exists and is not empty"):
        train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=out, settings=QUICK)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("when", ["training", "evaluation after"])
@pytest.mark.parametrize("failure", [RuntimeError("injected"), KeyboardInterrupt()])
def test_an_interrupted_run_leaves_no_half_written_directory(
    tmp_path: Path, tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch, when: str, failure: BaseException
):
    if when == "training":
        import rankwise.training.bi_encoder as bi_encoder

        def failing_trainer(*args, **kwargs):  # type: ignore[no-untyped-def]
            scratch = args[-1]
            scratch.mkdir(parents=True)
            (scratch / "half.bin").write_bytes(b"x")  # something half-written in the staging directory
            raise failure

        monkeypatch.setattr(bi_encoder, "run_trainer", failing_trainer)
    else:
        evaluations = []
        real_evaluate = run_module._evaluate

        def failing_second(*args, **kwargs):  # type: ignore[no-untyped-def]
            evaluations.append(1)
            if len(evaluations) == 2:  # the model is saved by now: the evaluation after training fails
                raise failure
            return real_evaluate(*args, **kwargs)

        monkeypatch.setattr(run_module, "_evaluate", failing_second)
    out = tmp_path / "model"
    with pytest.raises(type(failure)):
        train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=out, settings=QUICK)
    assert list(tmp_path.iterdir()) == []  # neither the directory nor its staging copy


def test_a_failed_overwrite_keeps_the_previous_model(tmp_path: Path, tiny: dict[str, Path], monkeypatch):  # type: ignore[no-untyped-def]
    out = tmp_path / "model"
    out.mkdir()
    (out / "previous.txt").write_text("v1", encoding="utf-8")

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    import rankwise.training.bi_encoder as bi_encoder

    monkeypatch.setattr(bi_encoder, "run_trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(tiny["dataset"], base=f"bi-encoder:{tiny['bi']}", out=out, settings=QUICK, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in out.iterdir()] == ["previous.txt"]


def test_trained_reranker_needs_a_directory_written_by_rankwise_train(tmp_path: Path):
    from rankwise.training import trained_reranker

    with pytest.raises(
        FileNotFoundError, match=r"has no training\.json: it is not a directory written by rankwise train"
    ):
        trained_reranker(tmp_path)
