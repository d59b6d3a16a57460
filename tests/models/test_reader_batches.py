"""Training batches on the device: the shard pool, torch standardisation and the batch jitter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edge.inference.reader_input import normalise
from models.reader.batches import ShardPool, jitter, normalise_tensor
from models.reader.net import PlateReaderNet, count_parameters


def _write_shard(path: Path, first_label: int, n: int = 5) -> Path:
    rng = np.random.default_rng(first_label)
    labels = np.zeros((n, 12), np.int64)
    labels[:, 0] = np.arange(first_label, first_label + n)
    np.savez(
        path,
        images=rng.integers(0, 256, (n, 32, 160), dtype=np.uint8),
        labels=labels,
        lengths=np.ones(n, np.int64),
        styles=np.array(["RU/standard"] * n),
    )
    return path


def test_torch_standardisation_is_the_runtime_one() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 160), dtype=np.uint8)
    images[0] = 77  # flat crop: the minimum spread keeps it from blowing up into noise
    images[1, :, :80] = 10
    ours = normalise_tensor(torch.from_numpy(images)).numpy()
    assert ours.shape == (6, 1, 32, 160)
    np.testing.assert_allclose(ours, normalise(images), atol=1e-5)


def test_the_pool_loads_each_shard_once_and_grows(tmp_path: Path) -> None:
    pool = ShardPool(torch.device("cpu"))
    first = _write_shard(tmp_path / "seed9_0000.npz", 1)
    assert pool.add([first]) == 5 and len(pool) == 5
    assert pool.add([first]) == 0  # a renderer's listing repeats shards already loaded
    second = _write_shard(tmp_path / "seed9_0001.npz", 6, n=3)
    assert pool.add([first, second]) == 3 and len(pool) == 8
    assert sorted(pool.labels[:, 0].tolist()) == list(range(1, 9))


def test_batches_are_drawn_from_the_pool_reproducibly(tmp_path: Path) -> None:
    pool = ShardPool(torch.device("cpu"))
    pool.add([_write_shard(tmp_path / "s.npz", 1, n=20)])

    def draw(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        generator = torch.Generator()
        generator.manual_seed(seed)
        return pool.batch(16, generator)

    images, labels, lengths = draw(3)
    assert images.shape == (16, 32, 160) and images.dtype == torch.uint8
    assert labels.shape == (16, 12) and lengths.tolist() == [1] * 16
    # Each drawn image still carries its own label.
    for image, label in zip(images, labels[:, 0], strict=True):
        assert torch.equal(image, pool.images[int(label) - 1])
    assert torch.equal(draw(3)[1], labels) and not torch.equal(draw(4)[1], labels)


def test_an_empty_pool_says_so() -> None:
    with pytest.raises(RuntimeError, match="empty"):
        ShardPool(torch.device("cpu")).batch(4, torch.Generator())


def test_jitter_moves_some_images_a_little_and_keeps_the_rest() -> None:
    x = normalise_tensor(torch.from_numpy(np.random.default_rng(1).integers(0, 256, (64, 32, 160), np.uint8)))
    generator = torch.Generator()
    generator.manual_seed(0)
    y = jitter(x, generator, share=0.5)
    assert y.shape == x.shape and torch.isfinite(y).all()
    changed = (y - x).abs().flatten(1).amax(1) > 1e-6
    assert 10 < int(changed.sum()) < 64  # re-framed or noisy: some, not all
    untouched = jitter(x, torch.Generator().manual_seed(0), share=0.0)
    moved = (untouched - x).abs().flatten(1).amax(1) > 1e-6
    assert int(moved.sum()) < 40  # with no re-framing only the noisy third changes


@pytest.mark.parametrize(("width", "channels"), [(1.0, 128), (1.5, 192), (2.0, 256)])
def test_the_width_multiplier_scales_every_layer(width: float, channels: int) -> None:
    net = PlateReaderNet(width=width)
    assert net.head.in_channels == channels
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m is not net.head]
    assert all(conv.out_channels % 8 == 0 for conv in convs)
    with torch.no_grad():
        assert net.eval()(torch.randn(2, 1, 32, 160)).shape == (2, 40, net.head.out_channels)
    assert count_parameters(PlateReaderNet(width=1.0)) == 342_261


def test_a_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PlateReaderNet(width=0)
