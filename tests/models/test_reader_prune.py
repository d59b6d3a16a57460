"""Pruning the reader's channels (models/reader/prune.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.paths import READER_FP32
from models.reader.export import file_network
from models.reader.net import PlateReaderNet, format_layout, reader_from_settings
from models.reader.prune import (
    PrunedLayer,
    agreement,
    choose_channels,
    mean_activations,
    prune_reader,
    pruned_copy,
)

NORMS = ["features.0.1", "features.1.1", "features.2.1", "features.3.1", "sequence.0.bn1", "sequence.1.bn1"]


def _wide(seed: int = 0) -> PlateReaderNet:
    torch.manual_seed(seed)
    net = PlateReaderNet(width=1.0)
    with torch.no_grad():  # BatchNorms as a trained network has them, not the identity
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.bias.uniform_(-0.1, 0.3)
    return net.eval()


def test_a_channel_that_always_carries_the_same_value_is_dropped_without_changing_the_output() -> None:
    """Features.3 feeds a convolution without padding, so a constant channel's share of it is its
    mean exactly: dropping it and putting the mean back leaves every output as it was."""
    net = _wide()
    with torch.no_grad():
        net.features[3][1].weight[5] = 0.0  # this channel's output is its bias, 0.7, everywhere
        net.features[3][1].bias[5] = 0.7
    images = torch.randn(16, 1, 32, 160)
    means = mean_activations(net, images, NORMS)
    layout = (16, 48, 64, 95, 128, 128, 128)
    keep = tuple(i for i in range(96) if i != 5)
    layer = PrunedLayer("features.3.0", "features.3.1", "features.4.0", "features.4.1", keep)
    narrow = pruned_copy(net, layout, [layer], means)
    assert narrow.layout == layout
    with torch.no_grad():
        np.testing.assert_allclose(narrow(images).numpy(), net(images).numpy(), atol=1e-4)


def test_without_the_mean_put_back_the_same_cut_changes_the_output() -> None:
    net = _wide()
    with torch.no_grad():
        net.features[3][1].weight[5] = 0.0
        net.features[3][1].bias[5] = 0.7
    images = torch.randn(16, 1, 32, 160)
    means = mean_activations(net, images, NORMS)
    means_without = dict(means) | {"features.3.1": torch.zeros_like(means["features.3.1"])}
    keep = tuple(i for i in range(96) if i != 5)
    layer = PrunedLayer("features.3.0", "features.3.1", "features.4.0", "features.4.1", keep)
    narrow = pruned_copy(net, (16, 48, 64, 95, 128, 128, 128), [layer], means_without)
    with torch.no_grad():
        assert np.abs(narrow(images).numpy() - net(images).numpy()).max() > 1e-3


def test_each_narrowed_layer_keeps_the_channels_that_carry_most() -> None:
    net = _wide()
    with torch.no_grad():
        for norm in (net.features[2][1], net.sequence[1].bn1):
            norm.bias.fill_(1.0)  # every channel fires, but
        net.features[2][1].bias[[3, 9]] = -50.0  # these two never do
        net.sequence[1].conv2.weight[:, 7] = 0.0  # the next layer ignores this one
    means = mean_activations(net, torch.randn(16, 1, 32, 160), NORMS)
    layers = choose_channels(net, (16, 48, 62, 96, 128, 128, 127), means)
    assert [layer.conv for layer in layers] == ["features.2.0", "sequence.1.conv1"]
    assert set(range(64)) - set(layers[0].keep) == {3, 9}
    assert set(range(128)) - set(layers[1].keep) == {7}
    assert list(layers[0].keep) == sorted(layers[0].keep)  # channels stay in their order


def test_the_sequence_and_wider_layers_are_refused() -> None:
    net = _wide()
    means = mean_activations(net, torch.randn(4, 1, 32, 160), NORMS)
    with pytest.raises(ValueError, match="residual"):
        choose_channels(net, (16, 48, 64, 96, 120, 128, 128), means)
    with pytest.raises(ValueError, match="only narrows"):
        choose_channels(net, (16, 48, 64, 104, 128, 128, 128), means)
    with pytest.raises(ValueError, match="does not describe"):
        choose_channels(net, (16, 48, 64), means)


def _a_little_narrower_than_the_shipped_reader() -> tuple[int, ...]:
    shipped = reader_from_settings(file_network(READER_FP32)).layout
    return tuple(c - 8 if entry in (3, 5, 6) else c for entry, c in enumerate(shipped))


@pytest.mark.plate_font
def test_the_shipped_reader_pruned_a_little_still_reads_as_it_does() -> None:
    layout = _a_little_narrower_than_the_shipped_reader()
    wide, narrow, images = prune_reader(READER_FP32, layout, count=200)
    assert narrow.layout == layout and wide.layout != layout
    assert agreement(wide, narrow, images) >= 0.9


@pytest.mark.plate_font
def test_the_cli_writes_a_file_training_starts_from_and_refuses_a_bad_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.reader.prune import main

    out = tmp_path / "pruned.onnx"
    layout = format_layout(_a_little_narrower_than_the_shipped_reader())
    assert main(["--input", str(READER_FP32), "--layout", layout, "--output", str(out), "--count", "64"]) == 0
    assert "as the wide reader does" in capsys.readouterr().out
    assert file_network(out) == {"width": 2.0, "layout": layout}
    with pytest.raises(SystemExit):
        main(["--input", str(READER_FP32), "--layout", "32-96", "--output", str(out)])
    assert "7 positive channel counts" in capsys.readouterr().err
