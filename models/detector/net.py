"""A small anchor-free plate detector: stride-32 backbone, FPN-style top-down neck, stride-8 heads.

Input is one grey channel scaled to 0..1 (colour adds little for white/yellow/blue plates and
grey makes colour and greyscale cameras look alike). Outputs at 1/8 of the input
(plates are at least ~10 px wide in the detector's view, so one cell per plate centre is enough):
`heatmap` (plate-centre logits), `box` (log of the left/top/right/bottom distances from each
cell centre, in strides) and `corners` (the 4 plate corners relative to the cell centre,
divided by the box width and height). Decoding lives in `edge/inference/detector.py`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STRIDE = 8
HEATMAP_PRIOR_BIAS = -4.6  # sigmoid ~= 0.01: almost every cell is background at the start


def conv_bn(
    cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DepthwiseBlock(nn.Module):
    """Depthwise 3x3 then pointwise 1x1 with a residual: cheap spatial context at one scale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dw = conv_bn(channels, channels, 3, groups=channels)
        self.pw = conv_bn(channels, channels, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.pw(self.dw(x)))


def stage(cin: int, cout: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(cin, cout, 3, stride=2), *[DepthwiseBlock(cout) for _ in range(blocks)])


class PlateDetectorNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 80, 128), neck: int = 64) -> None:
        super().__init__()
        w1, w2, w3, w4, w5 = widths
        self.stem = nn.Sequential(conv_bn(1, w1, 3, stride=2), conv_bn(w1, w2, 3, stride=2))  # 1/4
        self.c3 = stage(w2, w3, 1)  # 1/8
        self.c4 = stage(w3, w4, 2)  # 1/16
        self.c5 = stage(w4, w5, 2)  # 1/32
        self.lat5 = conv_bn(w5, neck, 1)
        self.lat4 = conv_bn(w4, neck, 1)
        self.lat3 = conv_bn(w3, neck, 1)
        self.smooth4 = DepthwiseBlock(neck)
        self.trunk = nn.Sequential(DepthwiseBlock(neck), DepthwiseBlock(neck))
        self.heatmap = nn.Conv2d(neck, 1, 1)
        self.box = nn.Conv2d(neck, 4, 1)
        self.corners = nn.Conv2d(neck, 8, 1)
        for head in (self.heatmap, self.box, self.corners):  # start from near-constant predictions
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
        nn.init.constant_(self.heatmap.bias, HEATMAP_PRIOR_BIAS)
        nn.init.constant_(self.box.bias, 1.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3 = self.c3(self.stem(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p4 = self.smooth4(self.lat4(c4) + F.interpolate(self.lat5(c5), size=c4.shape[2:], mode="nearest"))
        p3 = self.lat3(c3) + F.interpolate(p4, size=c3.shape[2:], mode="nearest")
        t = self.trunk(p3)
        return self.heatmap(t), self.box(t), self.corners(t)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
