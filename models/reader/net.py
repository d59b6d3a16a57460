"""The plate reader network: a convolution-only CRNN with a CTC head.

No recurrent layer: onnxruntime's static INT8 quantisation leaves LSTMs in FP32, and on plates
(short, fixed-grammar strings) 1-D residual convolutions over the column sequence give the
context a reader needs. Every layer is Conv + BatchNorm (folded on export) + ReLU or an Add, all
of which quantise to INT8.

Input (N, 1, 32, 160) standardised gray; output (N, T=40, classes) log-probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from common.plates.alphabet import NUM_CLASSES
from edge.inference.reader_input import READER_HEIGHT, READER_WIDTH

BASE_CHANNELS = (16, 48, 64, 96, 128)
LAYOUT_LENGTH = len(BASE_CHANNELS) + 2  # the feature layers, then the two blocks' inner channels


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

    def __init__(self, channels: int, kernel: int = 3, dilation: int = 1, inner: int | None = None) -> None:
        super().__init__()
        pad = dilation * (kernel // 2)
        inner = inner or channels
        self.conv1 = nn.Conv2d(
            channels, inner, (1, kernel), padding=(0, pad), dilation=(1, dilation), bias=False
        )
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(
            inner, channels, (1, kernel), padding=(0, pad), dilation=(1, dilation), bias=False
        )
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(x + y)


def layout_for_width(width: float) -> tuple[int, ...]:
    """Channels of every layer at a width multiplier: five feature layers, then the inner
    channels of the two sequence blocks (as wide as the sequence itself)."""
    if width <= 0:
        raise ValueError(f"the channel width multiplier must be positive, got {width}")
    features = tuple(_channels(base, width) for base in BASE_CHANNELS)
    return (*features, features[-1], features[-1])


def parse_layout(text: str) -> tuple[int, ...]:
    """A layout written as in reader files' metadata, "32-96-128-192-256-256-256"."""
    try:
        return checked_layout(tuple(int(part) for part in text.split("-")))
    except ValueError:
        raise ValueError(
            f"a reader layout is {LAYOUT_LENGTH} positive channel counts joined by '-', got {text!r}"
        ) from None


def checked_layout(layout: tuple[int, ...]) -> tuple[int, ...]:
    if len(layout) != LAYOUT_LENGTH or min(layout) < 1:
        raise ValueError(f"a reader layout is {LAYOUT_LENGTH} positive channel counts, got {layout}")
    return layout


def format_layout(layout: tuple[int, ...]) -> str:
    return "-".join(str(c) for c in layout)


def reader_from_settings(settings: Mapping[str, object]) -> PlateReaderNet:
    """The network a checkpoint's saved arguments or a reader file's metadata describe: its
    `layout` where one is recorded (a pruned reader), else its `width` (default 1)."""
    width = float(settings.get("width") or 1.0)  # type: ignore[arg-type]
    layout = settings.get("layout")
    return PlateReaderNet(width=width, layout=parse_layout(str(layout)) if layout else None)


class PlateReaderNet(nn.Module):
    """`width` scales every layer alike; `layout` (see `layout_for_width`) sets each layer's
    channels instead, for a reader pruned from a wider one (`models.reader.prune`)."""

    def __init__(
        self,
        num_classes: int = NUM_CLASSES,
        width: float = 1.0,
        height: int = READER_HEIGHT,
        input_width: int = READER_WIDTH,
        layout: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        if height != 32 or input_width % 4:
            raise ValueError("the reader expects 32 px high input and a width divisible by 4")
        layout = checked_layout(tuple(layout)) if layout is not None else layout_for_width(width)
        c1, c2, c3, c4, c5, inner1, inner2 = layout
        self.width = width
        self.layout = layout
        self.height = height
        self.input_width = input_width
        self.features = nn.Sequential(
            _conv_bn(1, c1, (3, 3), (2, 2), (1, 1)),  # 16 x W/2
            _conv_bn(c1, c2, (3, 3), (2, 2), (1, 1)),  # 8 x W/4
            _conv_bn(c2, c3, (3, 3), (2, 1), (1, 1)),  # 4 x W/4
            _conv_bn(c3, c4, (3, 3), (1, 1), (1, 1)),  # 4 x W/4
            _conv_bn(c4, c5, (4, 1), (1, 1), (0, 0)),  # 1 x W/4: one column per frame
        )
        self.sequence = nn.Sequential(SequenceBlock(c5, 3, 1, inner1), SequenceBlock(c5, 3, 2, inner2))
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
