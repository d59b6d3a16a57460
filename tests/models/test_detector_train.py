"""The detector's training entry point: checkpoints, a log, and resuming where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.detector.train import load_model
from models.train import main as train_main

TINY = [
    "--pool",
    "8",
    "--batch",
    "4",
    "--refresh",
    "1",
    "--scene-size",
    "64",
    "--eval-scenes",
    "2",
    "--eval-every",
    "2",
    "--checkpoint-every",
    "2",
    "--warmup",
    "1",
]

pytestmark = pytest.mark.plate_font


def test_train_writes_checkpoints_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train_main(["detector", "--out", str(out), "--steps", "2", *TINY]) == 0
    state = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 2
    assert train_main(["detector", "--out", str(out), "--steps", "4", "--resume", *TINY]) == 0
    state = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 4
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if not r.get("final")] == [2, 4]
    assert "synth_recall" in records[-1]
    model = load_model(out / "last.pt")
    heat, box, corners = model(torch.zeros(1, 1, 320, 416))
    assert heat.shape == (1, 1, 40, 52) and box.shape == (1, 4, 40, 52) and corners.shape == (1, 8, 40, 52)


def test_resume_without_checkpoint_fails_clearly(tmp_path: Path) -> None:
    assert train_main(["detector", "--out", str(tmp_path / "none"), "--steps", "2", "--resume", *TINY]) == 2
