"""Training batches for the reader: a growing pool of cached shards held as tensors on the
training device, drawn from at random, standardised and (optionally) jittered there.

A GPU steps through a batch in milliseconds, so batches must not pass through NumPy: the pool
keeps the uint8 images on the device, loads only shards it has not seen (a renderer may be adding
them while training runs), and does the per-image standardisation of `edge.inference.
reader_input.normalise` in torch.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from edge.inference.reader_input import MIN_STD
from models.reader.cache import load_shards


def normalise_tensor(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 -> (N, 1, H, W) float32: `reader_input.normalise`, on the tensor's device."""
    x = images.float()
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True, unbiased=False).clamp_min(MIN_STD)
    return ((x - mean) / std).unsqueeze(1)


class ShardPool:
    """Every loaded shard's images, labels and label lengths, concatenated on `device`."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.paths: list[Path] = []
        self.images = torch.empty((0, 0, 0), dtype=torch.uint8, device=device)
        self.labels = torch.empty((0, 0), dtype=torch.long, device=device)
        self.lengths = torch.empty((0,), dtype=torch.long, device=device)

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def add(self, paths: list[Path]) -> int:
        """Load the shards in `paths` not loaded yet; returns how many samples were added."""
        loaded = set(self.paths)
        new = [p for p in paths if p not in loaded]
        if not new:
            return 0
        arrays = load_shards(new)[:3]
        added = [torch.from_numpy(a).to(self.device) for a in arrays]
        if len(self):
            current = (self.images, self.labels, self.lengths)
            added = [torch.cat([old, a]) for old, a in zip(current, added, strict=True)]
        self.images, self.labels, self.lengths = added
        self.paths += new
        return len(arrays[2])

    def batch(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`size` samples drawn uniformly (with replacement): uint8 images, labels, lengths.
        `generator` lives on the pool's device."""
        if not len(self):
            raise RuntimeError("the shard pool is empty")
        idx = torch.randint(len(self), (size,), generator=generator, device=self.device)
        return self.images[idx], self.labels[idx], self.lengths[idx]


def jitter(x: torch.Tensor, generator: torch.Generator, share: float = 0.5) -> torch.Tensor:
    """Small random re-framing and sensor noise of standardised images (N, 1, H, W); `generator`
    lives on their device.

    A `share` of the images is re-sampled through a random affine map: scale 0.94-1.04 across and
    0.92-1.06 up, shift up to 3 % of the width and 5 % of the height, rotation up to 2 degrees,
    the border pixels repeated; a third of all images get Gaussian noise. The shifts stay inside
    the crop margins the renderer draws, so a pool seen many times looks less the same without
    leaving the distribution of real crops (whose margins must match training)."""
    n, device = x.shape[0], x.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, device=device)

    sx, sy = uniform(0.94, 1.04), uniform(0.92, 1.06)
    tx, ty = uniform(-0.06, 0.06), uniform(-0.10, 0.10)  # affine_grid spans -1..1: twice the share
    angle = uniform(-2.0, 2.0) * (math.pi / 180)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos / sx, -sin / sx, tx], 1), torch.stack([sin / sy, cos / sy, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    pick = (uniform(0.0, 1.0) < share).view(n, 1, 1, 1)
    y = torch.where(pick, warped, x)
    sigma = uniform(0.0, 0.2) * (uniform(0.0, 1.0) < 1 / 3)
    noise = torch.randn(y.shape, generator=generator, device=device)
    return y + noise * sigma.view(n, 1, 1, 1)
