"""The CPU line that reports and benchmarks print beside their figures."""

from __future__ import annotations

from pathlib import Path

from models.cpu import cpu_description


def _cpuinfo(tmp_path: Path, name: str, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    one = f"processor\t: {{}}\nmodel name\t: {name}\nflags\t\t: {flags}\n\n"
    path.write_text(one.format(0) + one.format(1).replace(name, "another"))
    return path


def test_names_the_first_processor_and_its_int8_extensions(tmp_path: Path) -> None:
    flags = "fpu sse2 avx2 fma avx512f avx512_vnni amx_bf16 amx_int8"
    assert cpu_description(_cpuinfo(tmp_path, "Intel Xeon 8480", flags)) == (
        "Intel Xeon 8480 (AVX2, AVX-512, AVX-512 VNNI, AMX)"
    )


def test_a_cpu_with_avx2_only_says_so(tmp_path: Path) -> None:
    assert cpu_description(_cpuinfo(tmp_path, "AMD EPYC", "fpu sse2 avx2 fma")) == "AMD EPYC (AVX2)"


def test_a_cpu_without_any_of_them_is_named_alone(tmp_path: Path) -> None:
    assert cpu_description(_cpuinfo(tmp_path, "Cortex-A76", "fp asimd")) == "Cortex-A76"


def test_no_cpuinfo_still_gives_a_name(tmp_path: Path) -> None:
    assert cpu_description(tmp_path / "missing")
