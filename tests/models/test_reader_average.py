"""Averaging a fine-tuned reader with its starting model (WiSE-FT): the line between the two."""

from __future__ import annotations

import pytest
import torch

from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH
from models.reader.average import average_state
from models.reader.net import PlateReaderNet


def _net(seed: int) -> PlateReaderNet:
    torch.manual_seed(seed)
    net = PlateReaderNet()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(seed)
    return net.eval()


def _outputs(state: dict, sample: torch.Tensor) -> torch.Tensor:
    net = PlateReaderNet()
    net.load_state_dict(state)
    with torch.no_grad():
        return net.eval()(sample)


def test_the_ends_of_the_line_are_the_two_models() -> None:
    start, tuned = _net(1).state_dict(), _net(2).state_dict()
    sample = torch.randn(2, 1, READER_HEIGHT, READER_WIDTH)
    assert torch.allclose(_outputs(average_state(start, tuned, 0.0), sample), _outputs(start, sample))
    assert torch.allclose(_outputs(average_state(start, tuned, 1.0), sample), _outputs(tuned, sample))


def test_halfway_every_weight_is_the_mean_and_counters_are_the_fine_tunes() -> None:
    start, tuned = _net(1).state_dict(), _net(2).state_dict()
    middle = average_state(start, tuned, 0.5)
    for key, value in middle.items():
        if value.is_floating_point():
            assert torch.allclose(value, (start[key] + tuned[key]) / 2, atol=1e-6), key
        else:
            assert torch.equal(value, tuned[key]), key


def test_alpha_outside_the_line_or_other_layers_are_refused() -> None:
    start, tuned = _net(1).state_dict(), _net(2).state_dict()
    with pytest.raises(ValueError, match="alpha"):
        average_state(start, tuned, 1.5)
    with pytest.raises(ValueError, match="layers"):
        average_state(start, PlateReaderNet(width=2).state_dict() | {"extra": torch.zeros(1)}, 0.5)
