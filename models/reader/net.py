"""The plate reader network: a convolution-only CRNN with a CTC head.

No recurrent layer: onnxruntime's static INT8 quantisation leaves LSTMs in FP32, and on plates
(short, fixed-grammar strings) 1-D residual convolutions over the column sequence give the
context a reader needs. Every layer is Conv + BatchNorm (folded on export) + ReLU or an Add, all
of which quantise to INT8.

Input (N, 1, 32, 160) standardised gray; output (N, T=40, classes) log-probabilities.
"""

from __future__ import annotations

import torch
from torch import nn

from common.plates.alphabet import NUM_CLASSES
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH

BASE_CHANNELS = (16, 48, 64, 96, 128)


def _channels(base: int, width: float) -> int:
    """Channels of one layer at a width multiplier, a multiple of 8 (what INT8 kernels like)."""
    return max(8, round(base * width / 8) * 8)


def _conv_bn(
    cin: int, cout: int, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SequenceBlock(nn.Module):
    """Residual pair of 1-D convolutions along the column sequence (kept 2-D: (N, C, 1, T))."""

    def __init__(self, channels: int, kernel: int = 3, dilation: int = 1) -> None:
        super().__init__()
        pad = dilation * (kernel // 2)
        self.conv1 = nn.Conv2d(
            channels, channels, (1, kernel), padding=(0, pad), dilation=(1, dilation), bias=False
        )
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(
            channels, channels, (1, kernel), padding=(0, pad), dilation=(1, dilation), bias=False
        )
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(x + y)


class PlateReaderNet(nn.Module):
    def __init__(
        self,
        num_classes: int = NUM_CLASSES,
        width: float = 1.0,
        height: int = READER_HEIGHT,
        input_width: int = READER_WIDTH,
    ) -> None:
        super().__init__()
        if height != 32 or input_width % 4:
            raise ValueError("the reader expects 32 px high input and a width divisible by 4")
        if width <= 0:
            raise ValueError(f"the channel width multiplier must be positive, got {width}")
        c1, c2, c3, c4, c5 = (_channels(base, width) for base in BASE_CHANNELS)
        self.width = width
        self.height = height
        self.input_width = input_width
        self.features = nn.Sequential(
            _conv_bn(1, c1, (3, 3), (2, 2), (1, 1)),  # 16 x W/2
            _conv_bn(c1, c2, (3, 3), (2, 2), (1, 1)),  # 8 x W/4
            _conv_bn(c2, c3, (3, 3), (2, 1), (1, 1)),  # 4 x W/4
            _conv_bn(c3, c4, (3, 3), (1, 1), (1, 1)),  # 4 x W/4
            _conv_bn(c4, c5, (4, 1), (1, 1), (0, 0)),  # 1 x W/4: one column per frame
        )
        self.sequence = nn.Sequential(SequenceBlock(c5, 3, 1), SequenceBlock(c5, 3, 2))
        self.head = nn.Conv2d(c5, num_classes, 1)

    @property
    def frames(self) -> int:
        return self.input_width // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, W) -> (N, W/4, classes) log-probabilities."""
        y = self.head(self.sequence(self.features(x)))  # (N, C, 1, T)
        y = y.squeeze(2).permute(0, 2, 1)
        return torch.log_softmax(y, dim=-1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
