"""Each cross-encoder mode on a tiny random BERT: ONNX fp32 = torch, int8 and bf16 close, export cached."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
from core_support import u8s8_saturates_here

from rankwise import Reranker
from rankwise.backends.base import BackendConfig
from rankwise.backends.encoders.cross_encoder import CrossEncoderBackend
from rankwise.backends.encoders.cross_encoder_factory import cross_encoder_from_spec
from rankwise.backends.encoders.cross_encoder_modes import DEFAULT_CPU_MODE, resolve_mode

QUERY = "what do cats eat"
DOCS = [
    "cats eat fish",
    "dogs bark at the car",
    "the river is blue and the sky is blue",
    "cats",
    "science study of protein in the cell and the gene",
    "a bird can fly over the sea and the city",
    "apple pear fruit tree",
    "music play song sing read book paper",
    "the cat and the dog eat fish in the house by the river",
    "drug study result cancer",
    "red green blue",
    "what do dogs eat",
]


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def backend(model: str, onnx_dir: Path, **options: object) -> object:
    config = BackendConfig(max_length=128, options={"onnx_cache_dir": str(onnx_dir), **options})
    if options.get("backend", "torch") == "torch":
        config = BackendConfig(max_length=128, options=options)
    return cross_encoder_from_spec(model, config)


@pytest.fixture(scope="module")
def torch_scores(tiny_cross_encoder: str, onnx_dir: Path) -> list[float]:
    scores = backend(tiny_cross_encoder, onnx_dir, backend="torch", precision="fp32").score(QUERY, DOCS)  # type: ignore[attr-defined]
    assert np.std(scores) > 0.05, "tiny model gives flat scores"
    return list(scores)


def test_torch_fp32_matches_one_pair_at_a_time(
    tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]
) -> None:
    from test_cross_encoder import direct_logits

    assert torch_scores == pytest.approx(direct_logits(tiny_cross_encoder, QUERY, DOCS), abs=1e-4)


def test_onnx_fp32_matches_torch(tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]) -> None:
    onnx = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="fp32")
    assert onnx.score(QUERY, DOCS) == pytest.approx(torch_scores, abs=1e-4)  # type: ignore[attr-defined]


def test_int8_roughly_preserves_order(tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]) -> None:
    int8 = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="int8")
    scores = int8.score(QUERY, DOCS)  # type: ignore[attr-defined]
    assert spearman(scores, torch_scores) > 0.8
    assert int8.model_path.name.startswith("model.int8-v5-")  # type: ignore[attr-defined]


QUANTIZED_MATMULS = ("DynamicQuantizeMatMul", "MatMulInteger")


def test_int8_keeps_feed_forward_outputs_first_layer_and_head_fp32(tiny_cross_encoder: str, onnx_dir: Path) -> None:
    import onnx

    int8 = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="int8")
    nodes = onnx.load(str(int8.model_path)).graph.node  # type: ignore[attr-defined]
    float_matmuls = [n.name for n in nodes if n.op_type == "MatMul"]
    quantized = [n.name for n in nodes if n.op_type in QUANTIZED_MATMULS]
    layer = lambda name: name.split("/layer.")[1].split("/")[0] if "/layer." in name else None  # noqa: E731
    layers = sorted({layer(n) for n in float_matmuls + quantized} - {None}, key=int)
    assert len(layers) >= 2
    assert layers[0] == "0"
    # the first layer runs wholly in fp32: its fused attention (the first in graph order) and every MatMul
    attention = [n.op_type for n in nodes if n.op_type in ("Attention", "QAttention")]
    assert attention == ["Attention"] + ["QAttention"] * (len(layers) - 1)
    assert not [n for n in quantized if layer(n) == "0"]
    # every later layer: its feed-forward output in fp32, the rest quantized
    for index in layers[1:]:
        assert [n for n in float_matmuls if layer(n) == index] == [f"/bert/encoder/layer.{index}/output/dense/MatMul"]
        assert [n for n in quantized if layer(n) == index]
    # the head (pooler and classifier Gemms, rewritten into MatMuls by the quantizer) stays fp32
    head = [n for n in float_matmuls + quantized if layer(n) is None]
    assert head
    assert all(n in float_matmuls and n.endswith("Gemm_MatMul") for n in head)


@pytest.mark.parametrize("fmt", ["u8s8", "u8u8", "u8s7"])
def test_every_int8_format_runs_and_keeps_the_order(
    tiny_cross_encoder: str,
    onnx_dir: Path,
    torch_scores: list[float],
    fmt: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from rankwise.backends.encoders import onnx_cross_encoder

    onnx_cross_encoder._U8S8_WARNED.clear()  # the saturation warning is once per process
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        int8 = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="int8", int8_format=fmt)
    assert int8.model_path.name == f"model.int8-v5-{fmt}.onnx"  # type: ignore[attr-defined]
    scores = int8.score(QUERY, DOCS)  # type: ignore[attr-defined]
    warned = any("can saturate" in r.getMessage() for r in caplog.records if r.name == "rankwise")
    if fmt == "u8s8" and u8s8_saturates_here():
        # no VNNI on this CPU: u8s8 saturates here (the AVX2-only EPYC failed the order bar), so it warns instead
        assert warned
        assert all(math.isfinite(s) for s in scores)
    else:
        assert not warned
        assert spearman(scores, torch_scores) > 0.8


def test_int8_format_per_instruction_set() -> None:
    """The documented choice for given flag sets: a pure function, whatever this machine is."""
    from rankwise.backends.encoders.onnx_cross_encoder import int8_format_for
    from rankwise.cpu_features import CpuFeatures

    def chosen(*flags: str) -> tuple[str, str, bool]:
        fmt = int8_format_for(CpuFeatures("cpu", frozenset(flags)))
        return fmt.name, fmt.weight_type, fmt.reduce_range

    assert chosen("avx2") == ("u8u8", "QUInt8", False)  # AMD EPYC Zen 2/3: U8S8 would saturate
    assert chosen("avx2", "avx512f") == ("u8u8", "QUInt8", False)  # Skylake-SP: AVX-512 without VNNI
    assert chosen("avx2", "avx_vnni") == ("u8s8", "QInt8", False)  # Alder Lake: AVX-VNNI
    assert chosen("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx") == ("u8s8", "QInt8", False)
    assert chosen("asimddp") == ("u8s8", "QInt8", False)  # ARM dot products


def test_bf16_is_close_to_fp32(tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]) -> None:
    bf16 = backend(tiny_cross_encoder, onnx_dir, backend="torch", precision="bf16")
    scores = bf16.score(QUERY, DOCS)  # type: ignore[attr-defined]
    spread = max(torch_scores) - min(torch_scores)
    # bf16 rounds every matmul input to 8 mantissa bits: on a model with large random weights that moves a
    # logit by up to ~9% of the score spread (measured 0.30 of 3.42); the bound holds on any CPU.
    assert np.max(np.abs(np.subtract(scores, torch_scores))) < 0.15 * spread
    assert spearman(scores, torch_scores) > 0.9


def test_export_is_cached_on_disk(tiny_cross_encoder: str, onnx_dir: Path) -> None:
    first = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="fp32")
    written = first.model_path.stat().st_mtime_ns  # type: ignore[attr-defined]
    second = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="fp32")
    assert second.model_path == first.model_path  # type: ignore[attr-defined]
    assert second.model_path.stat().st_mtime_ns == written  # type: ignore[attr-defined]


def test_batching_and_bucketing_do_not_change_scores(tiny_cross_encoder: str, torch_scores: list[float]) -> None:
    small = CrossEncoderBackend(tiny_cross_encoder, max_length=128, batch_size=3, max_tokens_per_batch=20)
    assert small.score(QUERY, DOCS) == pytest.approx(torch_scores, abs=1e-4)


def test_on_a_cpu_each_forward_pass_holds_at_most_the_default_token_budget(
    tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]
) -> None:
    from rankwise.backends.encoders.pair_batches import CPU_TOKENS_PER_BATCH, pair_batches

    onnx = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="fp32")
    exact = CrossEncoderBackend(tiny_cross_encoder, max_length=128)
    assert onnx.max_tokens_per_batch == exact.max_tokens_per_batch == CPU_TOKENS_PER_BATCH  # type: ignore[attr-defined]
    assert CrossEncoderBackend(tiny_cross_encoder, max_length=128, max_tokens_per_batch=99).max_tokens_per_batch == 99
    long_docs = [" ".join(["cats eat fish and dogs bark"] * 20)] * 40  # ~120-token pairs: 8 rows a batch, not 16
    shapes = [
        b.arrays["input_ids"].shape
        for b in pair_batches(
            exact.model.tokenizer,
            [(QUERY, d) for d in long_docs],
            max_length=128,
            batch_size=16,
            max_tokens=CPU_TOKENS_PER_BATCH,
        )
    ]
    assert all(rows * width <= CPU_TOKENS_PER_BATCH for rows, width in shapes)
    assert sum(rows for rows, _ in shapes) == 40
    assert max(rows for rows, _ in shapes) < 16
    assert exact.score(QUERY, DOCS) == pytest.approx(torch_scores, abs=1e-4)


def test_modes_through_the_reranker(tiny_cross_encoder: str, onnx_dir: Path) -> None:
    options = {"backend": "onnx", "precision": "fp32", "onnx_cache_dir": str(onnx_dir)}
    onnx = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options=options)
    exact = Reranker(f"cross-encoder:{tiny_cross_encoder}", max_length=128, backend_options={"precision": "fp32"})
    assert onnx.score(QUERY, DOCS) == pytest.approx(exact.score(QUERY, DOCS), abs=1e-5)
    assert onnx.backends[0].name.endswith("#onnx-fp32")
    assert all(0.0 <= s <= 1.0 for s in onnx.score(QUERY, DOCS))  # the model's sigmoid is applied


def test_mode_resolution() -> None:
    assert resolve_mode({}, None) == (DEFAULT_CPU_MODE["backend"], DEFAULT_CPU_MODE["precision"])
    assert resolve_mode({"precision": "int8"}, "cpu") == ("onnx", "int8")
    assert resolve_mode({"backend": "onnx"}, None) == ("onnx", "fp32")
    with pytest.raises(ValueError, match="precision 'int8' is not available with backend 'torch'"):
        resolve_mode({"backend": "torch", "precision": "int8"}, None)
    with pytest.raises(ValueError, match="backend_options\\['backend'\\] must be one of"):
        resolve_mode({"backend": "tensorrt"}, None)


def test_export_self_check_compares_logits(tiny_cross_encoder: str, onnx_dir: Path, torch_scores: list[float]) -> None:
    from rankwise.backends.encoders.onnx_cross_encoder import _runs_like

    onnx = backend(tiny_cross_encoder, onnx_dir, backend="onnx", precision="fp32")
    encoded = onnx.tokenizer([QUERY] * 2, DOCS[:2], padding=True, return_tensors="pt")  # type: ignore[attr-defined]
    feeds = {k: v.numpy() for k, v in encoded.items()}
    expected = np.array(torch_scores[:2], dtype=np.float32).reshape(2, 1)
    assert _runs_like(onnx.model_path, feeds, expected)  # type: ignore[attr-defined]
    assert not _runs_like(onnx.model_path, feeds, expected + 1e-3)  # type: ignore[attr-defined]


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_score_pairs_of_different_queries_equals_score_per_query(
    tiny_cross_encoder: str, onnx_dir: Path, runtime: str
) -> None:
    from rankwise.backends.capabilities import PairScoring

    scorer = backend(tiny_cross_encoder, onnx_dir, backend=runtime, precision="fp32")
    assert isinstance(scorer, PairScoring)
    queries = [QUERY, "dogs bark", "blue river and sea"]
    pairs = [(q, d) for d in DOCS for q in queries]  # queries interleaved: every length bucket mixes them
    packed = scorer.score_pairs(pairs)
    by_pair = {q: dict(zip(DOCS, scorer.score(q, DOCS), strict=True)) for q in queries}  # type: ignore[attr-defined]
    # Float32 rounding of other batch shapes only: measured 0 on ONNX, up to 1.2e-5 on torch's logits (sdpa over
    # other padded lengths; its probabilities moved 2.2e-6 between forward batches of 1 and 16 in one request).
    assert list(packed) == pytest.approx([by_pair[q][d] for q, d in pairs], rel=1e-5, abs=1e-6)
    assert list(scorer.score_pairs([])) == []
