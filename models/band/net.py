"""The band reader network: a tiny CNN that names the code on a plate's EU band, or no band.

Input (N, 3, BAND_HEIGHT, BAND_WIDTH) standardised BGR (edge.inference.band_input); output (N,
classes) log-probabilities, class 0 = no band. Conv + BatchNorm (folded on export) + ReLU and a
global average pool: about 25 k parameters, a few microseconds per crop on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

CHANNELS = (16, 32, 48, 64)


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class BandNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        c1, c2, c3, c4 = CHANNELS
        self.in_channels = in_channels
        self.features = nn.Sequential(
            _conv_bn(in_channels, c1, 1),  # 32 x 24
            _conv_bn(c1, c2, 2),  # 16 x 12
            _conv_bn(c2, c3, 2),  # 8 x 6
            _conv_bn(c3, c4, 2),  # 4 x 3
        )
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(c4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, classes) log-probabilities."""
        y = self.features(x).mean(dim=(2, 3))
        return torch.log_softmax(self.head(self.dropout(y)), dim=-1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
