"""What this machine's CPU can do, for choices that depend on it (bf16, the int8 format) and for benchmark records.

Flags are read from ``/proc/cpuinfo`` on Linux; elsewhere from what torch reports (``torch.cpu``), when
torch is installed, else none are assumed. Nothing here imports torch unless asked for a flag that
``/proc/cpuinfo`` could not give.

>>> features = CpuFeatures(model="Example CPU", flags=frozenset({"avx2", "avx512f", "avx512_vnni"}))
>>> features.has_vnni, features.native_bf16
(True, False)
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The flags rankwise's choices read, by their /proc/cpuinfo names (amx = amx_tile, AMX's base flag), and FMA,
# which fp32 GEMM peaks depend on and every benchmark record keeps; on ARM, "bf16" (BFloat16 instructions) and
# "asimddp" (int8 dot products, no u8s8 saturation either).
TRACKED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx")
ARM_FLAGS = ("bf16", "asimddp")
_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class CpuFeatures:
    """A CPU's model name and the `TRACKED_FLAGS` it has.

    >>> CpuFeatures("x", frozenset({"amx"})).native_bf16
    True
    """

    model: str
    flags: frozenset[str]

    @property
    def has_vnni(self) -> bool:
        """VNNI (AVX-512 VNNI or AVX-VNNI): int8 dot products without the u8s8 saturation of older x86 CPUs."""
        return bool({"avx512_vnni", "avx_vnni", "asimddp"} & self.flags)

    @property
    def native_bf16(self) -> bool:
        """bf16 matrix multiplies in hardware (AVX512-BF16 or AMX); without them bf16 is emulated, and slower."""
        return bool({"avx512_bf16", "amx", "bf16"} & self.flags)

    def as_record(self) -> dict[str, Any]:
        """What a benchmark result records about its CPU: the model name and each tracked flag.

        >>> CpuFeatures("x", frozenset({"avx2"})).as_record()["flags"]["avx2"]
        True
        """
        return {
            "model": self.model,
            "machine": platform.machine(),
            "flags": {flag: flag in self.flags for flag in TRACKED_FLAGS}
            | {flag: True for flag in ARM_FLAGS if flag in self.flags},
        }


def parse_cpuinfo(text: str) -> CpuFeatures:
    """The first processor's model name and tracked flags in ``/proc/cpuinfo`` text.

    >>> features = parse_cpuinfo("model name\\t: Some CPU\\nflags\\t\\t: fpu avx2 amx_tile avx512_bf16\\n")
    >>> features.model, sorted(features.flags)
    ('Some CPU', ['amx', 'avx2', 'avx512_bf16'])
    """
    model = ""
    raw: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "features") and not raw:  # x86 says flags, ARM says Features
            raw = set(value.split())
    flags = {flag for flag in (*TRACKED_FLAGS, *ARM_FLAGS) if flag in raw}
    if "amx_tile" in raw:
        flags.add("amx")
    return CpuFeatures(model=model or platform.processor() or platform.machine(), flags=frozenset(flags))


def _from_torch() -> frozenset[str]:
    """The flags torch's CPU checks can tell (macOS, Windows): AVX2, AVX-512, VNNI, bf16, AMX."""
    try:
        import torch
    except ImportError:
        return frozenset()
    cpu: Any = torch.cpu
    checks = {
        "avx2": "_is_avx2_supported",
        "avx512f": "_is_avx512_supported",
        "avx512_vnni": "_is_avx512_vnni_supported",
        "avx512_bf16": "_is_avx512_bf16_supported",
        "amx": "_is_amx_tile_supported",
    }
    found = set()
    for flag, name in checks.items():
        check = getattr(cpu, name, None)
        try:
            if check is not None and check():
                found.add(flag)
        except Exception:  # an internal torch check that this build lacks or that fails
            continue
    return frozenset(found)


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's CPU, read once per process."""
    try:
        return parse_cpuinfo(_CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return CpuFeatures(model=platform.processor() or platform.machine(), flags=_from_torch())


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX)."""
    return cpu_features().native_bf16


def has_vnni() -> bool:
    """Whether this CPU has VNNI int8 dot products (AVX512-VNNI or AVX-VNNI)."""
    return cpu_features().has_vnni
