"""Very large photos: the detector also looks at overlapping tiles of them (still photos).

The detector sees a frame letterboxed into its 416x320 input, so a 12 MP photo (4000x3000)
shrinks almost tenfold: a plate 120 px wide there is 12 px wide in the detector's input, under
the ~14 px it was trained to find. A photo whose longer side is over `tile_above_px` is also cut
into overlapping tiles about four detector inputs wide, so each tile shrinks about fourfold, and
the boxes of the whole photo and of every tile are merged by NMS (a plate's surest box is kept).
Tiles overlap by more than a large plate's width, so every plate lies whole in some tile, and a
box cut by a tile's inner edge is dropped (the neighbouring tile holds the whole plate).

Mid-size photos (over 832x640, up to about 2600x1950 px) where nothing was read get a finer
search (`fine_windows`): tiles two detector inputs wide, so each shrinks about twofold. A 68 px
plate in a 1920 px photo is 15 px wide in the whole-photo view, at the edge of what the detector
finds; in such a tile it is 34 px. Only photos with no reading pay for it: on eu-dev it read 12
more of 312 plates and lost none, on ru-dev one more of 114.
"""

from __future__ import annotations

import math

import numpy as np

from edge.inference.detector import merged
from edge.inference.protocols import PlateDetection, PlateDetector

# Longer side above which a photo is tiled: below it the whole-photo view shrinks the photo at
# most ~6x, and on 1600 px photos tiles found plates the reader still could not read while
# displacing better boxes (models/MODEL_CARD.md, "End to end").
TILE_ABOVE_PX = 2600
# Tile size: four detector inputs (416x320) wide and high.
TILE_WIDTH, TILE_HEIGHT = 1664, 1280
# Overlap of neighbouring tiles: 400 px, wider than any plate still readable at the tile's scale.
TILE_OVERLAP_PX = 400
# Boxes of one photo found by several searches (tiles, turned copies) are one plate above this.
MERGE_IOU = 0.4
# A tile box this close to a tile edge that is not the photo's edge is a cut plate.
EDGE_PX = 2
# The finer search: tiles two detector inputs wide and high, overlapping by more than a plate
# readable at that scale; a photo needing more tiles than this (over ~2600x1950) is not searched
# so (it is tiled fourfold instead), nor is one that fits in a single tile (its whole view is it).
FINE_WIDTH, FINE_HEIGHT = 832, 640
FINE_OVERLAP_PX = 240
MAX_FINE_TILES = 20

Window = tuple[int, int, int, int]


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    count = math.ceil((size - tile) / (tile - overlap)) + 1
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def tile_windows(
    frame_hw: tuple[int, int],
    tile_hw: tuple[int, int] = (TILE_HEIGHT, TILE_WIDTH),
    overlap: int = TILE_OVERLAP_PX,
) -> list[Window]:
    """(x1, y1, x2, y2) of the tiles covering a frame, overlapping by at least `overlap`."""
    height, width = frame_hw
    tile_w, tile_h = min(width, tile_hw[1]), min(height, tile_hw[0])
    return [
        (x, y, x + tile_w, y + tile_h)
        for y in _starts(height, tile_h, overlap)
        for x in _starts(width, tile_w, overlap)
    ]


def fine_windows(frame_hw: tuple[int, int]) -> list[Window]:
    """The finer search's tiles of a photo; none where it fits in one or needs over MAX_FINE_TILES."""
    windows = tile_windows(frame_hw, (FINE_HEIGHT, FINE_WIDTH), FINE_OVERLAP_PX)
    return windows if 1 < len(windows) <= MAX_FINE_TILES else []


def _cut_by_tile_edge(box: tuple[float, float, float, float], window: Window,
                      frame_hw: tuple[int, int]) -> bool:
    x1, y1, x2, y2 = box
    wx1, wy1, wx2, wy2 = window
    height, width = frame_hw
    return (
        (wx1 > 0 and x1 <= wx1 + EDGE_PX) or (wy1 > 0 and y1 <= wy1 + EDGE_PX)
        or (wx2 < width and x2 >= wx2 - EDGE_PX) or (wy2 < height and y2 >= wy2 - EDGE_PX)
    )


def detect_in_tiles(
    detector: PlateDetector,
    frame: np.ndarray,
    windows: list[Window],
    found: list[PlateDetection] | None = None,
) -> list[PlateDetection]:
    """The plates of every tile (boxes in frame pixels, cut ones dropped), merged by NMS with
    `found` (e.g. the whole photo's); surest first."""
    found = list(found or [])
    frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
    for window in windows:
        wx1, wy1, wx2, wy2 = window
        for detection in detector.detect(np.ascontiguousarray(frame[wy1:wy2, wx1:wx2])):
            shifted = detection.shifted(wx1, wy1)
            if not _cut_by_tile_edge(shifted.box, window, frame_hw):
                found.append(shifted)
    return merged(found, MERGE_IOU)


def detect_tiled(
    detector: PlateDetector, frame: np.ndarray, tile_above_px: int = TILE_ABOVE_PX
) -> list[PlateDetection]:
    """Plates of a still photo: the whole photo's, and when its longer side is over
    `tile_above_px` (0: never) those of its tiles too, merged; surest first when tiled."""
    found = list(detector.detect(frame))
    frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
    if tile_above_px <= 0 or max(frame_hw) <= tile_above_px:
        return found
    return detect_in_tiles(detector, frame, tile_windows(frame_hw), found)
