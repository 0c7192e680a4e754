"""The CPU class a benchmark result belongs to: results of different classes are never mixed in one table.

A class is the vendor and the highest instruction-set level that changes rankwise's arithmetic (AVX2,
AVX-512, VNNI, native bf16/AMX), e.g. ``amd-avx2`` or ``intel-amx``; the record beside it keeps the CPU's
model name, every tracked flag and the logical CPU count.

>>> from rankwise.cpu_features import CpuFeatures
>>> class_of(CpuFeatures("AMD EPYC", frozenset({"avx2"})))
'amd-avx2'
>>> title_of(CpuFeatures("AMD EPYC", frozenset({"avx2"})), 2)
'AMD EPYC, AVX2 only (no AVX-512, no VNNI, no native bf16), 2 logical CPUs'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rankwise.cpu_features import CpuFeatures, cpu_features


def class_of(features: CpuFeatures) -> str:
    """A file-name-safe class: vendor + ISA level."""
    flags = features.flags
    vendor = "amd" if "AMD" in features.model else "intel" if "Intel" in features.model else "cpu"
    if "amx" in flags:
        level = "amx"
    elif "avx512_bf16" in flags:
        level = "avx512-bf16"
    elif features.has_vnni and "avx512f" in flags:
        level = "avx512-vnni"
    elif "avx512f" in flags:
        level = "avx512"
    elif features.has_vnni:
        level = "avx2-vnni"
    elif "avx2" in flags:
        level = "avx2"
    else:
        level = "other"
    return f"{vendor}-{level}"


def title_of(features: CpuFeatures, logical_cpus: int | None) -> str:
    """A heading for the class's section: the model name and, in words, what it has and lacks."""
    flags = features.flags
    has = [
        name
        for flag, name in (
            ("avx512f", "AVX-512"),
            ("avx512_vnni", "AVX512-VNNI"),
            ("avx_vnni", "AVX-VNNI"),
            ("avx512_bf16", "AVX512-BF16"),
            ("amx", "AMX"),
        )
        if flag in flags
    ]
    if has:
        isa = "AVX2, " + ", ".join(has)
    elif "avx2" in flags:
        isa = "AVX2 only (no AVX-512, no VNNI, no native bf16)"
    else:
        isa = "no AVX2"
    cpus = f", {logical_cpus} logical CPUs" if logical_cpus else ""
    return f"{features.model or 'unknown CPU'}, {isa}{cpus}"


def cpu_generation() -> dict[str, int]:
    """``cpu family``, ``model`` and ``stepping`` of /proc/cpuinfo (empty elsewhere).

    A model name such as ``AMD EPYC`` can hide several generations (family 25 is Zen 3/4, 26 Zen 5) with the
    same tracked flags, hence the same class: the record keeps which one ran, so a reader can tell two runs of
    one class apart.
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().replace(" ", "_")
        if key in ("cpu_family", "model", "stepping") and key not in found and value.strip().isdigit():
            found[key] = int(value)
        if not line.strip() and found:
            break
    return found


def cpu_record() -> dict[str, Any]:
    """This machine's class, section title, model name, tracked flags, generation and logical CPU count."""
    features = cpu_features()
    return {
        "class": class_of(features),
        "title": title_of(features, os.cpu_count()),
        "logical_cpus": os.cpu_count(),
        **features.as_record(),
        "generation": cpu_generation(),
    }


def cpu_line(record: dict[str, Any] | None = None) -> str:
    """One line for a result's header: the section title and the tracked flags this CPU has.

    >>> cpu_line({"title": "AMD EPYC, AVX2 only", "flags": {"avx2": True, "fma": True, "avx512f": False}})
    'AMD EPYC, AVX2 only; flags: avx2, fma'
    >>> cpu_line({"title": "AMD EPYC", "flags": {"avx2": True}, "generation": {"cpu_family": 26, "model": 2}})
    'AMD EPYC; flags: avx2; family 26 model 2'
    """
    record = record or cpu_record()
    present = [flag for flag, has in record["flags"].items() if has]
    line = f"{record['title']}; flags: {', '.join(present) or 'none tracked'}"
    generation = record.get("generation") or {}
    if "cpu_family" in generation:
        line += f"; family {generation['cpu_family']} model {generation.get('model', '?')}"
    return line
