"""Training patches for the band reader: synthetic plate crops as the edge cuts them, left end only.

A sample is a reader training crop (models.synth.ocr_samples: render -> holder frame -> camera
geometry and degradations -> the edge's box or rectified crop) reduced to the band reader's input
(edge.inference.band_input.band_patch), labelled with the code on the plate's EU band, or
NO_BAND for plates with a national flag band, no band, and for clutter that is not a plate. The
label follows what the renderer drew, not the format: half the light French FNI plates carry the
EU band (until session 18 all of them were labelled "no band").

The renderer prints the registry's distinguishing sign (F, D, I, UK or GB ...) on the band, as
real plates show it; the label is the registry's code, which `country_for_band` reads.

Classes are balanced: EU-band plates take `EU_SHARE` of the samples, spread evenly over the codes
(Luxembourg as often as Germany), the rest are flag/no-band plates (by the square root of their
traffic, Russia included) and clutter. Every sample is a pure function of (seed, index).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.plates.registry import FormatRegistry, load_registry
from edge.inference.band_input import NO_BAND, band_patch
from models.synth import augment
from models.synth.fonts import FontSet
from models.synth.ocr_samples import OcrSample, OcrSampleFactory
from models.synth.plate_render import PLATE_STYLES, PlateStyle

EU_SHARE = 0.6
CLUTTER_SHARE = 0.06


def band_classes(registry: FormatRegistry | None = None) -> tuple[str, ...]:
    """NO_BAND, then the registry's band code of every country with an EU-band plate format."""
    codes = {band_label(s, registry) for s in PLATE_STYLES.values() if s.band == "EU"}
    return (NO_BAND, *sorted(codes))


def band_label(style: PlateStyle, registry: FormatRegistry | None = None) -> str:
    """The class of a style's plates when its format always carries the EU band (the registry's
    band code, which the renderer prints on the band: models.synth.plate_furniture.printed_band_code),
    else NO_BAND. The classes and their balance follow it; a sample's own label is what was drawn
    (`BandSampleFactory.label`)."""
    return _band_code(style.country, registry) if style.band == "EU" else NO_BAND


def _band_code(country: str, registry: FormatRegistry | None = None) -> str:
    return (registry or load_registry()).country(country).band_code or country


def _styles() -> list[PlateStyle]:
    """Every plate style with a weight."""
    return [style for style in PLATE_STYLES.values() if style.weight > 0]


def _balanced_boost(styles: list[PlateStyle]) -> dict[str, float]:
    """Per-style factors on the registry weights that give the balanced mix (see the docstring)."""
    eu = [s for s in styles if s.band == "EU"]
    rest = [s for s in styles if s.band != "EU"]
    target: dict[str, float] = {}
    by_code: dict[str, list[PlateStyle]] = {}
    for s in eu:
        by_code.setdefault(band_label(s), []).append(s)
    for group in by_code.values():
        total = sum(s.weight for s in group)
        for s in group:
            target[s.key] = EU_SHARE / len(by_code) * s.weight / total
    by_country: dict[str, list[PlateStyle]] = {}
    for s in rest:
        by_country.setdefault(s.country, []).append(s)
    roots = {c: np.sqrt(sum(s.weight for s in g)) for c, g in by_country.items()}
    root_total = sum(roots.values())
    for country, group in by_country.items():
        total = sum(s.weight for s in group)
        for s in group:
            target[s.key] = (1 - EU_SHARE) * roots[country] / root_total * s.weight / total
    return {s.key: target[s.key] / s.weight for s in styles}


class BandSampleFactory:
    """Band-reader patches (uint8 HxWx3) with their class index."""

    def __init__(self, fonts: FontSet, registry: FormatRegistry | None = None) -> None:
        registry = registry or load_registry()
        self.classes = band_classes(registry)
        self._index = {code: i for i, code in enumerate(self.classes)}
        styles = _styles()
        # The code a style's plates show when the renderer draws them an EU band: the style's own,
        # or, for a format that only sometimes carries one (FR FNI), its country's.
        self._codes = {s.key: _band_code(s.country, registry) for s in styles}
        self._plates = OcrSampleFactory(fonts, styles=styles, boost=_balanced_boost(styles), mix="registry")

    def crop(self, seed: int, index: int) -> tuple[np.ndarray, str]:
        """A crop as the edge reads it (a plate, or clutter the detector might box) and its code."""
        rng = np.random.default_rng([seed, index, 7])
        if rng.random() < CLUTTER_SHARE:
            width = int(rng.integers(40, 300))
            height = max(8, round(width / rng.uniform(2.0, 5.5)))
            clutter = augment.clutter_background(height, width, rng)
            return augment.degrade(clutter, rng), NO_BAND
        sample = self._plates.sample(seed, index)
        return sample.crop, self.label(sample)

    def label(self, sample: OcrSample) -> str:
        """The code of the EU band the renderer drew on the sample's plate, or NO_BAND."""
        return self._codes[sample.style_id] if sample.band == "EU" else NO_BAND

    def sample(self, seed: int, index: int) -> tuple[np.ndarray, int]:
        crop, code = self.crop(seed, index)
        return band_patch(crop), self._index[code]


def build_set(factory: BandSampleFactory, seed: int, count: int, out: Path, progress: bool = True) -> Path:
    """Render `count` patches of `seed` into one .npz (patches, labels, classes); kept if present."""
    if out.is_file():
        with np.load(out) as data:
            if len(data["labels"]) == count and tuple(data["classes"]) == factory.classes:
                return out
    patches = np.empty((count, *band_patch(np.zeros((8, 40, 3), np.uint8)).shape), np.uint8)
    labels = np.empty(count, np.int64)
    start = time.perf_counter()
    for i in range(count):
        patches[i], labels[i] = factory.sample(seed, i)
        if progress and (i + 1) % 2000 == 0:
            rate = (i + 1) / (time.perf_counter() - start)
            print(f"  {out.name}: {i + 1}/{count} ({rate:.0f}/s)", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, patches=patches, labels=labels, classes=np.array(factory.classes))
    tmp.replace(out)
    return out


def load_set(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    with np.load(path) as data:
        return data["patches"], data["labels"], tuple(str(c) for c in data["classes"])
