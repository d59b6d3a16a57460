"""The reader's sample cache and training loop: deterministic shards, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.plates.alphabet import decode
from models.metrics import edit_distance
from models.reader.cache import CacheSpec, build_cache, load_shards
from models.reader.metrics import score_texts
from models.synth.fonts import DEFAULT_FONT_DIR

needs_font = pytest.mark.plate_font


def test_scores() -> None:
    assert edit_distance("A123BC77", "A123BC777") == 1
    assert edit_distance("", "AB") == 2
    assert score_texts(["A1", "B2"], ["A1", "B3"]) == {"exact": 0.5, "cer": 0.25}
    with pytest.raises(ValueError):
        score_texts(["A1"], [])


@needs_font
def test_cache_shards_are_deterministic_and_labelled(tmp_path: Path) -> None:
    spec = CacheSpec(seed=4, count=10, shard_size=6)
    paths = build_cache(spec, tmp_path / "a", progress=False)
    again = build_cache(spec, tmp_path / "b", progress=False)
    assert [p.name for p in paths] == ["seed4_32x160_0000.npz", "seed4_32x160_0001.npz"]
    images, labels, lengths, styles = load_shards(paths)
    images_b, labels_b, _, _ = load_shards(again)
    assert images.shape == (10, 32, 160) and images.dtype == np.uint8
    assert np.array_equal(images, images_b) and np.array_equal(labels, labels_b)
    texts = [decode(list(row[:n])) for row, n in zip(labels, lengths, strict=True)]
    assert all(6 <= len(t) <= 10 for t in texts) and all("/" in s for s in styles)


@needs_font
def test_cache_cli_renders_a_mix_that_dwells_on_boosted_countries(tmp_path: Path) -> None:
    from models.reader.cache import main

    main(["--out", str(tmp_path), "--seed", "5", "--count", "40", "--mix", "countries",
          "--boost-country", "at=2000", "--shard-size", "40"])
    (path,) = sorted(tmp_path.glob("*.npz"))
    assert path.name == "seed5_countries_ATx2000_32x160_0000.npz"
    _, _, _, styles = load_shards([path])
    austrian = sum(str(style).startswith("AT/") for style in styles)
    assert austrian >= 35  # 2000 parts in 2048: about 39 of 40 expected, 1 without the boost
    for bad in ("XX=2", "AT=0", "AT"):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path), "--count", "1", "--boost-country", bad])


@pytest.mark.slow
@needs_font
def test_training_writes_checkpoints_and_resumes(tmp_path: Path) -> None:
    from models.train import main

    common = [
        "--out",
        str(tmp_path / "run"),
        "--cache",
        str(tmp_path / "cache"),
        "--count",
        "16",
        "--min-shards",
        "1",
        "--test-count",
        "8",
        "--batch",
        "4",
        "--eval-every",
        "2",
        "--ckpt-every",
        "2",
        "--no-progress",
    ]
    assert main(["ocr", *common, "--steps", "2"]) == 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["final"] and log[-1]["step"] == 2 and 0.0 <= log[-1]["exact"] <= 1.0
    assert main(["ocr", *common, "--steps", "3", "--resume"]) == 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 3


def _exported_reader(tmp_path: Path, width: float) -> tuple[Any, Path]:
    """A randomly initialised reader network (eval mode) and its exported FP32 ONNX file."""
    import torch

    from models.reader.export import export_reader
    from models.reader.net import PlateReaderNet

    torch.manual_seed(0)
    net = PlateReaderNet(width=width).eval()
    checkpoint = tmp_path / f"width{width}.pt"
    torch.save({"model": net.state_dict(), "step": 7, "args": {"width": width}}, checkpoint)
    return net, export_reader(checkpoint, tmp_path / f"width{width}.onnx")


def _onnx_output(path: Path, x: Any) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def test_export_builds_the_network_width_the_checkpoint_was_trained_at(tmp_path: Path) -> None:
    import torch

    net, path = _exported_reader(tmp_path, 1.5)
    x = torch.randn(3, 1, 32, 160)
    with torch.no_grad():
        np.testing.assert_allclose(_onnx_output(path, x), net(x).numpy(), atol=1e-4)


@pytest.mark.slow
@needs_font
def test_the_gpu_burst_recipe_renders_trains_and_returns_weights(tmp_path: Path) -> None:
    """The lent-GPU recipe, shrunk to seconds on the CPU: renderer and trainers side by side."""
    import os
    import subprocess
    import sys
    import tarfile

    repo = Path(__file__).resolve().parents[2]
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "FONT_DIR": str(DEFAULT_FONT_DIR),
        "CACHE": str(tmp_path / "cache"),
        "RENDER_WORKERS": "1",
        "SHARD_SIZE": "8",
        "MIN_SHARDS": "1",
        "TEST_COUNT": "8",
        "EVAL_EVERY": "2",
        "BATCH": "4",
        "TRAINERS": "tiny:0.5:1e-3:2:",
    }
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "models/reader/gpu_burst.sh", str(out), "0.05"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["logs.tgz", "weights_tiny.pt"]
    with tarfile.open(out / "logs.tgz") as logs:
        names = logs.getnames()
    assert "logs/train_tiny.log" in names and "runs/tiny/log.jsonl" in names

    from models.reader.export import load_checkpoint

    model, state = load_checkpoint(out / "weights_tiny.pt")
    assert model.width == 0.5 and "optimizer" not in state and state["step"] > 0


def test_the_network_comes_from_the_run_the_option_or_the_starting_file(tmp_path: Path) -> None:
    import torch

    from models.reader.export import export_reader
    from models.reader.net import PlateReaderNet
    from models.reader.train import network_settings, parse_args

    out = ["--out", str(tmp_path / "run")]
    assert network_settings(parse_args(out)) == {"width": 1.0, "layout": None}
    assert network_settings(parse_args([*out, "--width", "1.5"]))["width"] == 1.5
    checkpoint = tmp_path / "wide.pt"
    torch.save({"model": PlateReaderNet(width=1.5).state_dict(), "args": {"width": 1.5}}, checkpoint)
    wide = export_reader(checkpoint, tmp_path / "wide.onnx")
    assert network_settings(parse_args([*out, "--init-from", str(wide)])) == {
        "width": 1.5,
        "layout": "24-72-96-144-192-192-192",
    }
    (tmp_path / "run").mkdir()
    torch.save({"args": {"width": 0.5}}, tmp_path / "run" / "last.pt")
    # a run keeps its shape
    assert network_settings(parse_args([*out, "--resume", "--width", "2"])) == {"width": 0.5, "layout": None}


def test_a_pruned_layout_travels_through_checkpoint_file_and_training(tmp_path: Path) -> None:
    """A reader whose layers were narrowed one by one is rebuilt with the same channels by export,
    by training that starts from its file and by a resumed run."""
    import torch

    from models.reader.export import export_reader, load_checkpoint
    from models.reader.net import PlateReaderNet
    from models.reader.train import network_settings, parse_args

    layout = (16, 48, 64, 80, 128, 96, 112)
    torch.manual_seed(0)
    net = PlateReaderNet(width=1.0, layout=layout).eval()
    checkpoint = tmp_path / "narrow.pt"
    torch.save(
        {"model": net.state_dict(), "args": {"width": 1.0, "layout": "16-48-64-80-128-96-112"}}, checkpoint
    )
    assert load_checkpoint(checkpoint)[0].layout == layout
    path = export_reader(checkpoint, tmp_path / "narrow.onnx")
    x = torch.randn(2, 1, 32, 160)
    with torch.no_grad():
        np.testing.assert_allclose(_onnx_output(path, x), net(x).numpy(), atol=1e-4)
    out, written = ["--out", str(tmp_path / "run")], "16-48-64-80-128-96-112"
    assert network_settings(parse_args([*out, "--init-from", str(path)]))["layout"] == written
    (tmp_path / "run").mkdir()
    torch.save({"args": {"width": 1.0, "layout": written}}, tmp_path / "run" / "last.pt")
    assert network_settings(parse_args([*out, "--resume"]))["layout"] == written


def test_distillation_pulls_toward_the_teachers_file_and_is_zero_at_the_start(tmp_path: Path) -> None:
    import torch

    from models.reader.train import frame_kl, load_teacher

    _, path = _exported_reader(tmp_path, 0.5)
    x = torch.rand(8, 1, 32, 160) * 2 - 1
    teacher = load_teacher(path, x, torch.device("cpu"))
    assert not any(p.requires_grad for p in teacher.parameters())
    with torch.no_grad():
        taught = teacher(x)
    np.testing.assert_allclose(taught.numpy(), _onnx_output(path, x), atol=1e-4)

    assert float(frame_kl(taught, taught)) == pytest.approx(0.0, abs=1e-6)
    # KL(teacher || student) per frame: teacher (0.5, 0.5), student (0.9, 0.1)
    half = torch.log(torch.tensor([[[0.5, 0.5]]]))
    sure = torch.log(torch.tensor([[[0.9, 0.1]]]))
    assert float(frame_kl(sure, half)) == pytest.approx(0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1))


@pytest.mark.slow
@needs_font
def test_bfloat16_training_takes_the_float32_steps_in_float32_weights(tmp_path: Path) -> None:
    import torch

    from models.train import main

    def trained(name: str, *options: str) -> dict[str, Any]:
        args = ["--out", str(tmp_path / name), "--cache", str(tmp_path / "cache"), "--count", "16"]
        args += ["--min-shards", "1", "--test-count", "8", "--batch", "8", "--width", "0.5"]
        args += ["--steps", "3", "--warmup", "1", "--eval-every", "3", "--no-progress"]
        assert main(["ocr", *args, *options]) == 0
        state = torch.load(tmp_path / name / "last.pt", weights_only=False)
        return {k: v for k, v in state["model"].items() if v.is_floating_point()} | {"args": state["args"]}

    start, exact, rounded = trained("start", "--lr", "0"), trained("fp32"), trained("bf16", "--bf16")
    assert rounded.pop("args")["bf16"] and not exact.pop("args")["bf16"]
    start.pop("args")
    assert all(v.dtype == torch.float32 for v in rounded.values())
    moved = sum(float((exact[k] - start[k]).abs().sum()) for k in start)
    apart = sum(float((rounded[k] - exact[k]).abs().sum()) for k in start)
    assert moved > 0 and apart < 0.5 * moved, (moved, apart)
