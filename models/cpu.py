"""The CPU a measurement ran on: its name and the x86 extensions that INT8 inference depends on.

ONNX Runtime and OpenVINO pick other INT8 kernels with AVX-512 VNNI, AVX-VNNI or AMX than with
AVX2 alone, so speed, and even a few readings of a real set, differ between machines (the model
card's session 26 note). Reports and benchmarks name the CPU beside their figures.
"""

from __future__ import annotations

import platform
from pathlib import Path

# /proc/cpuinfo flag -> the name printed
INT8_EXTENSIONS: tuple[tuple[str, str], ...] = (
    ("avx2", "AVX2"),
    ("avx512f", "AVX-512"),
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("amx_int8", "AMX"),
)


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """'AMD EPYC (AVX2)' from the first processor's model name and flags (the name alone where
    none of INT8_EXTENSIONS is there); where there is no /proc/cpuinfo, what `platform` knows."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine() or "unknown CPU"
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    name = fields.get("model name") or platform.machine() or "unknown CPU"
    flags = set(fields.get("flags", "").split())
    extensions = [label for flag, label in INT8_EXTENSIONS if flag in flags]
    return f"{name} ({', '.join(extensions)})" if extensions else name
