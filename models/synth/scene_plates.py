"""Front-view plates for detector scenes, from the shared plate renderer and holder frames.

Formats come from the plate-format registry (Russian ones most of the time, the product's
main market; the other countries' plates keep the detector from over-fitting to one layout).
Scenes show plates at most ~180 px wide, so plates are rasterised at 0.5 px/mm (260 px for a
520 mm plate) rather than the reader's higher resolution, which keeps a scene cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from common.plates.formats import PlateFormat
from common.plates.registry import load_registry
from models.synth import augment
from models.synth.country_mix import sqrt_traffic_shares
from models.synth.fonts import FontSet
from models.synth.frame import add_holder_frame
from models.synth.plate_render import glyph_rows, render_plate, style_for_format
from models.synth.scenes import PlateImage

RUSSIAN_SHARE = 0.75
# Where the plates that are not forced Russian come from. "registry": every country by traffic
# (Russia again 57 % of them). "europe": the other countries only, by the square root of their
# traffic, so European layouts are a real share of the scenes (Poland as often as 4 % of them
# with `russian_share` 0.4, not 0.4 %).
PlateMix = Literal["registry", "europe"]


class RenderedPlateSource:
    """Draws registry plates by format weight, some framed, some dirty or shaded."""

    def __init__(self, font_dir: str | Path | None = None, px_per_mm: float = 0.5,
                 russian_share: float = RUSSIAN_SHARE, mix: PlateMix = "registry") -> None:
        if not 0 <= russian_share <= 1:
            raise ValueError("russian_share must be within [0, 1]")
        self._fonts = FontSet.discover(font_dir)
        self._registry = load_registry()
        self._px_per_mm = px_per_mm
        self._russian_share = russian_share
        self._mix = mix
        shares = sqrt_traffic_shares(
            {fmt.country: fmt.traffic for fmt in self._registry.formats if fmt.country != "RU"}
        )
        self._others = sorted(shares)
        self._other_probs = np.array([shares[c] for c in self._others])

    def draw_plate(self, rng: np.random.Generator) -> tuple[PlateFormat, str]:
        """The format and canonical text of the next scene plate."""
        countries: list[str] | None = ["RU"] if rng.random() < self._russian_share else None
        if countries is None and self._mix == "europe":
            countries = [self._others[int(rng.choice(len(self._others), p=self._other_probs))]]
        return self._registry.random_plate(rng, countries)

    def __call__(self, rng: np.random.Generator) -> PlateImage:
        fmt, text = self.draw_plate(rng)
        style = style_for_format(fmt)
        plate = render_plate(style, glyph_rows(fmt, text), self._fonts, rng, self._px_per_mm)
        if rng.random() < 0.2:
            plate = augment.dirt(plate, rng, rng.uniform(0.1, 0.4))
        if rng.random() < 0.15:
            plate = augment.shadow(plate, rng, rng.uniform(0.2, 0.6))
        framed, corners = add_holder_frame(plate, self._fonts, rng, self._px_per_mm)
        return PlateImage(framed, corners.astype(np.float32))
