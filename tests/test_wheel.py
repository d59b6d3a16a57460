"""The runtime wheel: what an edge box installs carries the models' weights but no training code.

Builds the wheel from this checkout, installs it with the `edge` extra into a fresh virtual
environment (outside the checkout, so nothing is found by accident) and runs the edge agent's
demo and snapshot mode from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    # A PYTHONPATH naming a checkout would let the fresh venv import what the wheel lacks.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools is not installed (dev extra): cannot build the wheel")
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
          str(REPO)], cwd=out)
    (built,) = out.glob("anpr-*.whl")
    return built


def test_the_wheel_holds_the_runtime_and_its_weights_but_no_training_code(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("anpr-")}
    assert packages == {"common", "edge", "central", "provisioning"}
    for shipped in ("reader_int8.onnx", "detector_int8.onnx", "band_fp32.onnx"):
        assert f"edge/inference/weights/{shipped}" in names
    assert "edge/samples/sample_clip.mp4" in names
    assert "common/plates/countries/russia.yaml" in names
    assert not [name for name in names if name.endswith("train.py") or "/synth/" in name]


@pytest.fixture(scope="module")
def edge_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "edge"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[edge]"], cwd=venv.parent)
    return venv


def test_an_edge_install_runs_the_demo_and_recognize_without_training_code(
    edge_venv: Path, tmp_path: Path
) -> None:
    python = str(edge_venv / "bin" / "python")
    absent = _run([python, "-c", "import importlib.util as u; "
                   "print([m for m in ('torch', 'models', 'fastapi') if u.find_spec(m)])"], cwd=tmp_path)
    assert absent.stdout.strip() == "[]"

    demo = _run([str(edge_venv / "bin" / "anpr-edge"), "demo"], cwd=tmp_path)
    assert "5 of 5 plates in the clip were read exactly." in demo.stdout

    truth = json.loads(_run([python, "-c", "from edge.samples import SAMPLE_CLIP_TRUTH as t; "
                                            "print(t.read_text())"], cwd=tmp_path).stdout)
    plate = truth["plates"][0] if isinstance(truth, dict) else truth[0]
    frame_index = (plate["first_frame"] + plate["last_frame"]) // 2
    clip = cv2.VideoCapture(str(REPO / "edge" / "samples" / "sample_clip.mp4"))
    clip.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, frame = clip.read()
    clip.release()
    assert ok
    photo = tmp_path / "frame.png"
    cv2.imwrite(str(photo), frame)
    recognized = _run([str(edge_venv / "bin" / "anpr-edge"), "recognize", "--json", str(photo)], cwd=tmp_path)
    lines = [json.loads(line) for line in recognized.stdout.splitlines() if line.strip()]
    read = [p["latin"] for line in lines for p in line.get("plates", [])]
    assert plate["latin"] in read, recognized.stdout
