"""CPU feature detection and the choices made from it, checked on given flag sets (no dependence on this CPU)."""

from __future__ import annotations

import logging

import pytest

from rankwise import cpu_features as cf
from rankwise.backends.encoders import cross_encoder_modes
from rankwise.backends.encoders.cross_encoder_modes import resolve_mode

EPYC_ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2 sha_ni
"""
SAPPHIRE_RAPIDS = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu avx avx2 fma avx512f avx512bw avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
processor\t: 1
model name\t: ignored: the first processor names the CPU
"""
GRAVITON3 = """processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp sve i8mm bf16
"""


def test_avx2_only_cpu_has_neither_vnni_nor_native_bf16() -> None:
    features = cf.parse_cpuinfo(EPYC_ZEN3)
    assert features.model == "AMD EPYC 7B13"
    assert features.flags == {"avx2", "fma"}
    assert not features.has_vnni
    assert not features.native_bf16


def test_sapphire_rapids_has_vnni_and_native_bf16() -> None:
    features = cf.parse_cpuinfo(SAPPHIRE_RAPIDS)
    assert features.model.startswith("Intel(R) Xeon(R) Platinum 8481C")
    assert features.flags == {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx"}
    assert features.has_vnni
    assert features.native_bf16
    record = features.as_record()
    assert record["flags"] == dict.fromkeys(cf.TRACKED_FLAGS, True)


def test_arm_dot_products_and_bf16() -> None:
    features = cf.parse_cpuinfo(GRAVITON3)
    assert features.has_vnni  # sdot/udot: no u8s8 saturation
    assert features.native_bf16
    assert not features.as_record()["flags"]["avx2"]


def test_this_machine_is_read_once_and_recorded() -> None:
    assert cf.cpu_features() is cf.cpu_features()
    record = cf.cpu_features().as_record()
    assert set(cf.TRACKED_FLAGS) <= set(record["flags"])
    assert isinstance(cf.native_bf16(), bool)
    assert isinstance(cf.has_vnni(), bool)


@pytest.fixture(params=[(EPYC_ZEN3, True), (SAPPHIRE_RAPIDS, False)], ids=["epyc-avx2", "sapphire-rapids"])
def emulates_bf16(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """This process sees the EPYC (bf16 emulated: True) or the Sapphire Rapids CPU, with a fresh once-only warning."""
    cpuinfo, warns = request.param
    monkeypatch.setattr(cf, "cpu_features", lambda: cf.parse_cpuinfo(cpuinfo))
    monkeypatch.setattr(cross_encoder_modes, "_BF16_WARNED", cross_encoder_modes.threading.Event())
    return bool(warns)


def test_explicit_bf16_warns_once_where_the_cpu_emulates_it(
    caplog: pytest.LogCaptureFixture, emulates_bf16: bool
) -> None:
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        assert cross_encoder_modes.warn_if_bf16_is_emulated("cpu") is emulates_bf16
        assert cross_encoder_modes.warn_if_bf16_is_emulated("cpu") is emulates_bf16
        assert cross_encoder_modes.warn_if_bf16_is_emulated("cuda") is False
    messages = [r.getMessage() for r in caplog.records if r.name == "rankwise"]
    assert len(messages) == (1 if emulates_bf16 else 0)
    if emulates_bf16:
        assert "AMD EPYC 7B13" in messages[0]
        assert "emulated" in messages[0]


def test_auto_never_picks_bf16() -> None:
    for device in (None, "cpu", "cuda"):
        assert resolve_mode({"precision": "auto"}, device)[1] != "bf16"
        assert resolve_mode({}, device)[1] != "bf16"
    assert resolve_mode({"backend": "torch", "precision": "auto"}, None) == ("torch", "fp32")


def test_an_explicit_bf16_bi_encoder_warns_where_the_cpu_emulates_it(
    caplog: pytest.LogCaptureFixture, emulates_bf16: bool
) -> None:
    from rankwise.backends.encoders.bi_encoder import BiEncoderBackend
    from rankwise.embedded import embedded_model_path

    with caplog.at_level(logging.WARNING, logger="rankwise"):
        backend = BiEncoderBackend(embedded_model_path(), precision="bf16", runtime="torch")
        BiEncoderBackend(embedded_model_path(), precision="fp32", runtime="torch")
    assert backend.precision == "bf16"  # the caller's choice stands; it is only slower there
    messages = [r.getMessage() for r in caplog.records if r.name == "rankwise" and "emulated" in r.getMessage()]
    assert len(messages) == (1 if emulates_bf16 else 0)
