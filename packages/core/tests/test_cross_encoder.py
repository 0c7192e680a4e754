"""The cross-encoder path on a tiny random BERT built locally: real loading, exact arithmetic."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from rankwise import Reranker

QUERY = "what do cats eat"
DOCS = [
    "cats eat fish",
    "dogs bark at the car",
    "the river is blue and the sky is blue",
    "cats",
    "science study of protein in the cell",
]

# The exact fp32 mode: the CPU default is reduced precision (see rankwise.backends.encoders.cross_encoder).
EXACT = {"backend": "torch", "precision": "fp32"}


def direct_logits(model_dir: str, query: str, docs: list[str]) -> list[float]:
    """The hand computation: tokenizer + model forward, no sentence-transformers, no rankwise."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    logits = []
    with torch.inference_mode():
        for doc in docs:  # one pair at a time: no padding involved
            batch = tokenizer(query, doc, return_tensors="pt", truncation=True, max_length=128)
            logits.append(float(model(**batch).logits[0, 0]))
    return logits


@pytest.fixture(scope="module")
def reranker(tiny_cross_encoder: str) -> Reranker:
    return Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT).load()


def test_scores_are_sigmoid_of_the_models_logits(reranker: Reranker, tiny_cross_encoder: str) -> None:
    expected = [1 / (1 + math.exp(-x)) for x in direct_logits(tiny_cross_encoder, QUERY, DOCS)]
    assert len({round(e, 4) for e in expected}) == len(DOCS), "tiny model gives flat scores"
    assert reranker.score(QUERY, DOCS) == pytest.approx(expected, abs=1e-4)
    results = reranker.rerank(QUERY, DOCS)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: -expected[i])


def test_the_tiny_model_scores_by_content(reranker: Reranker) -> None:
    """Documents of the same token length score differently: the fixture's words are real tokens, not [UNK]."""
    tokenizer = reranker.backends[0].model.tokenizer  # type: ignore[attr-defined]
    same_length = ["cats eat fish", "dogs bark car", "river sky blue"]
    assert len({len(tokenizer(QUERY, d)["input_ids"]) for d in same_length}) == 1
    assert tokenizer.unk_token_id not in tokenizer(QUERY, same_length[0])["input_ids"]
    logits = reranker.backends[0].score(QUERY, same_length)
    assert max(logits) - min(logits) > 0.1


def test_raw_logits_with_normalize_none(tiny_cross_encoder: str) -> None:
    rr = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT, normalize="none")
    assert rr.score(QUERY, DOCS) == pytest.approx(direct_logits(tiny_cross_encoder, QUERY, DOCS), abs=1e-4)


def test_batching_does_not_change_scores(tiny_cross_encoder: str, reranker: Reranker) -> None:
    one_by_one = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=EXACT, batch_size=1)
    assert one_by_one.score(QUERY, DOCS) == pytest.approx(reranker.score(QUERY, DOCS), abs=1e-4)


def test_huge_document_is_scored_within_max_length(reranker: Reranker) -> None:
    huge = "cats eat fish " * 34_000  # ~100,000 words
    results = reranker.rerank(QUERY, [huge, "dogs"])
    assert len(results) == 2
    assert all(math.isfinite(r.score) for r in results)


def test_chunk_mode_max_pools_window_scores(tiny_cross_encoder: str) -> None:
    long_doc = " ".join(["river sky blue"] * 40 + ["cats eat fish"])
    rr = Reranker(
        f"cross-encoder:{tiny_cross_encoder}",
        max_length=128,
        backend_options=EXACT,
        long_documents="chunk",
        chunk_size=30,
    )
    windows = [" ".join(long_doc.split()[i : i + 30]) for i in range(0, 123, 30 - 7)]
    windows = [w for w in windows if w]
    window_scores = rr.score(QUERY, windows)
    assert rr.score(QUERY, [long_doc])[0] == pytest.approx(max(window_scores[: len(windows)]), abs=1e-6)


def test_two_label_models_use_the_logit_difference(tmp_path: Path) -> None:
    from core_support import build_tiny_cross_encoder

    model_dir = str(build_tiny_cross_encoder(tmp_path / "two", num_labels=2))
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        logits = model(**tokenizer(QUERY, DOCS[0], return_tensors="pt")).logits[0]
    expected = float(torch.softmax(logits, dim=-1)[1])
    assert Reranker(f"cross-encoder:{model_dir}", max_length=128, backend_options=EXACT).score(QUERY, DOCS[:1])[
        0
    ] == pytest.approx(expected, abs=1e-5)


def test_item6_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    from rankwise.backends.encoders.model_source import ModelNotFoundError

    missing = tmp_path / "does-not-exist"
    for mode in ({}, EXACT, {"backend": "onnx"}):
        with pytest.raises(ModelNotFoundError, match=re.escape(f"no such directory: {missing}")) as raised:
            Reranker(f"cross-encoder:{missing}", backend_options=mode).rerank("q", ["d"])
        assert isinstance(raised.value, FileNotFoundError)
    with pytest.raises(ModelNotFoundError, match=r"no such directory: .*not-there"):
        Reranker("cross-encoder:./not-there/model").rerank("q", ["d"])


def test_item6_hub_id_with_the_hub_offline_names_the_offline_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankwise.backends.encoders.model_source import HubUnreachableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(HubUnreachableError, match="HF_HUB_OFFLINE") as raised:
        Reranker("cross-encoder:org/never-downloaded").rerank("q", ["d"])
    assert "'embedded'" in str(raised.value)
    assert "local directory" in str(raised.value)
    assert isinstance(raised.value, ConnectionError)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_bi_encoder_is_checked_like_a_cross_encoder_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    from rankwise.backends.encoders.model_source import HubUnreachableError, ModelNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    options = {"runtime": runtime}
    with pytest.raises(
        HubUnreachableError, match=r"bi-encoder:org/never-downloaded is not in the local .*bi-encoder:/path"
    ):
        Reranker("bi-encoder:org/never-downloaded", backend_options=options).rerank("q", ["d"])
    with pytest.raises(ModelNotFoundError, match=re.escape(f"no such directory: {tmp_path / 'gone'}")):
        Reranker(f"bi-encoder:{tmp_path / 'gone'}", backend_options=options).rerank("q", ["d"])


def test_item6_hub_id_with_the_hub_unreachable_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from rankwise.backends.encoders.model_source import HubUnreachableError, resolve_model_source

    with socket.socket() as s:  # a loopback port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(HubUnreachableError, match=re.escape(f"127.0.0.1:{port}") + ".*is unreachable"):
        resolve_model_source("org/never-downloaded")
    # the same model already in the cache loads from it, without asking the hub
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--org--cached"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    source = resolve_model_source("org/cached")
    assert source.local_files_only
    assert source.load_kwargs() == {"local_files_only": True}


def test_item6_cuda_on_a_cpu_only_torch_is_a_clear_error(tiny_cross_encoder: str) -> None:
    import torch

    from rankwise.backends.encoders.model_source import DeviceUnavailableError

    if torch.cuda.is_available():
        pytest.skip("this torch has a usable GPU")
    with pytest.raises(DeviceUnavailableError, match=r"device='cuda'.*use device='cpu'") as raised:
        Reranker(f"cross-encoder:{tiny_cross_encoder}", device="cuda").rerank("q", ["d"])
    assert isinstance(raised.value, ValueError)


def test_item6_loading_prints_no_weight_progress_bars(
    tiny_cross_encoder: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from rankwise.backends.encoders.cross_encoder import CrossEncoderBackend

    capfd.readouterr()
    CrossEncoderBackend(tiny_cross_encoder, max_length=128)
    assert "Loading weights" not in capfd.readouterr().err
