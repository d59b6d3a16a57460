"""The reader's sample cache and training loop: deterministic shards, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.plates.alphabet import decode
from models.metrics import edit_distance
from models.reader.cache import CacheSpec, build_cache, load_shards
from models.reader.metrics import score_texts
from models.synth.fonts import DEFAULT_FONT_DIR, GOST_FONT_FILE

needs_font = pytest.mark.skipif(
    not (DEFAULT_FONT_DIR / GOST_FONT_FILE).is_file(), reason="GOST plate font not in ../shared/fonts"
)


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
