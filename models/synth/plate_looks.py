"""How each country's plates look beyond their glyphs: what stands between glyph groups, which
bands sit at the right end, the typeface family, the colours besides the registry's main one.

The registry (common/plates/countries) says what a plate may read; this table says what else a
camera sees on it, so the reader learns to ignore it. Nothing here is ever part of a label.
A format key ("FR/fni") overrides its country's entry. A format the registry decorates with
`hyphens` gets a hyphen in every gap whatever its entry says: the edge looks for those hyphens
to tell such a plate from another country's with the same glyphs, so both read one list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from common.plates.formats import PlateFormat
from models.synth.fonts import FontSet

# What stands in the gap between two glyph groups:
#   tight: nothing, glyph spacing only (SK "123AB")    space: a wider blank gap
#   hyphen: a short bar at mid height (FR SIV, NL)      dot: a rivet-like dot (holder screws)
#   seal: DE state seal under an inspection sticker     arms: a coat-of-arms shield (AT, SK, HR)
#   sticker: a registration or inspection sticker (PL rear, CZ)
Separator = Literal["tight", "space", "hyphen", "dot", "seal", "arms", "sticker"]
# Bands at the right end: FR department + regional logo on blue, IT year/province on blue,
# PT year/month on yellow (plates before 2020).
RightBand = Literal["FR", "IT", "PT"]
# Typeface families: "fe" narrow angular (DE/AT FE-Schrift), "din" DIN-like, "sans" any sans.
FontFamily = Literal["sans", "din", "fe"]
FONT_FAMILIES: dict[str, tuple[str, ...]] = {
    "fe": ("OSP-DIN", "PTN57F", "PTN77F", "LiberationSansNarrow"),
    "din": ("OSP-DIN", "PTN57F", "PTN77F", "RobotoCondensed"),
    "sans": (),  # every sans font found
}
BGR = tuple[int, int, int]


@dataclass(frozen=True)
class PlateLook:
    """One country's (or format's) plate furniture."""

    gaps: tuple[Separator, ...] = ("space",)  # per gap between groups; the last one repeats
    sticker_p: float = 0.0  # chance the first gap holds a sticker instead (rear plates)
    dot_p: float = 0.0  # chance a gap shows a holder rivet instead of a plain space
    right_band: RightBand | None = None
    font: FontFamily = "sans"
    glyph_width: tuple[float, float] = (1.0, 1.0)  # horizontal scale of glyphs (FE-Schrift is narrow)
    edge_stripes: BGR | None = None  # AT: red stripes along the top and bottom edges
    # Other (background, text) colours a plate of this format shows, with their chances, e.g.
    # French FNI plates are yellow at the rear or black with silver glyphs on old cars.
    alt_colors: tuple[tuple[float, str, str], ...] = ()
    # Chance of the EU band on a light plate of a format that does not require it (FR FNI plates
    # made after 1993 often carry one).
    eu_band_p: float = 0.0
    # Chance the plate's W, M and Q take their plate-typeface shapes (`FontSet.glyph`): the typefaces of
    # most countries draw them so; the sans fonts standing in for them do not.
    plate_shapes_p: float = 0.5

    def separators(self, n_gaps: int, rng: np.random.Generator) -> list[Separator]:
        """The separator in each of `n_gaps` gaps of one plate."""
        out: list[Separator] = []
        for i in range(n_gaps):
            kind = self.gaps[min(i, len(self.gaps) - 1)]
            if i == 0 and self.sticker_p and rng.random() < self.sticker_p:
                kind = "sticker"
            elif kind == "space" and self.dot_p and rng.random() < self.dot_p:
                kind = "dot"
            out.append(kind)
        return out

    def colors(self, background: str, text: str, rng: np.random.Generator) -> tuple[str, str]:
        """Background and text colour names for one plate."""
        if self.alt_colors:
            u = rng.random()
            for p, bg, ink in self.alt_colors:
                if u < p:
                    return bg, ink
                u -= p
        return background, text

    def pick_font(self, fonts: FontSet, rng: np.random.Generator) -> Path:
        names = FONT_FAMILIES[self.font]
        family = [f for f in fonts.sans if any(n in f.name for n in names)] if names else []
        pool = family or list(fonts.sans)
        return pool[int(rng.integers(len(pool)))]


DEFAULT_LOOK = PlateLook()
_SPACE = PlateLook(gaps=("space",))
FE_WIDTH = (0.78, 0.92)  # FE-Schrift glyphs are about 80-90% as wide as DIN 1451 ones

LOOKS: dict[str, PlateLook] = {
    # Germany: the round state seal (and the inspection sticker above it on rear plates) between
    # district and letters; FE-Schrift.
    "DE": PlateLook(gaps=("seal", "space"), font="fe", glyph_width=FE_WIDTH),
    # Austria: the state's coat of arms between district and number, red-white-red edge stripes.
    "AT": PlateLook(gaps=("arms", "space"), edge_stripes=(45, 35, 200), font="fe", glyph_width=FE_WIDTH),
    # Slovakia: coat of arms after the district code, digits and letters written together.
    "SK": PlateLook(gaps=("arms", "tight")),
    "CZ": PlateLook(gaps=("space",), sticker_p=0.25),
    "CZ/district_1960": PlateLook(gaps=("space", "hyphen")),
    # Poland: a gap after the district; rear plates carry the legalisation sticker there.
    "PL": PlateLook(gaps=("space",), sticker_p=0.3, dot_p=0.1, font="din", glyph_width=(0.85, 1.0)),
    "RO": PlateLook(gaps=("space",), dot_p=0.12),
    "FR": PlateLook(right_band="FR"),
    # FNI plates were made by many firms, most in a tall, condensed typeface.
    "FR/fni": PlateLook(
        gaps=("space",),
        alt_colors=((0.35, "yellow", "black"), (0.25, "black", "white")),
        glyph_width=(0.6, 0.9),
        eu_band_p=0.5,
    ),
    "IT": PlateLook(gaps=("space",), right_band="IT", glyph_width=(0.85, 1.0)),
    "IT/two_row": PlateLook(gaps=("space",), glyph_width=(0.85, 1.0)),
    "ES": _SPACE,
    "PT/standard_2005": PlateLook(right_band="PT"),
    "PT/standard_1992": PlateLook(right_band="PT"),
    "NL": PlateLook(font="din"),
    "HR": PlateLook(gaps=("arms", "hyphen")),
    "SI": PlateLook(gaps=("arms",)),
    "RS": PlateLook(gaps=("arms", "hyphen")),
    "ME": PlateLook(gaps=("arms", "space")),
    "LI": PlateLook(gaps=("arms",)),
    "HU": PlateLook(gaps=("arms", "hyphen")),
    "GB": PlateLook(gaps=("space",), alt_colors=((0.5, "yellow", "black"),)),
    "CY": PlateLook(gaps=("space",), alt_colors=((0.5, "yellow", "black"),)),
}


def look_for(fmt: PlateFormat) -> PlateLook:
    """The look of a registry format: its own entry, else its country's, else plain spaces;
    hyphens in every gap where the registry says the format prints them."""
    look = LOOKS.get(fmt.key) or LOOKS.get(fmt.country) or DEFAULT_LOOK
    return replace(look, gaps=("hyphen",)) if "hyphens" in fmt.decorations else look
