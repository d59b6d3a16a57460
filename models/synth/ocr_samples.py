"""Training crops for the plate reader: render -> holder frame -> perspective onto clutter ->
camera degradations -> one of the two crops the edge reads (edge.inference.crops): the
axis-aligned box around the plate, or the plate rectified by its four corners as a detector
estimates them (with the corner error a detector makes).

Every sample is a pure function of (seed, index), so a cache can be rebuilt or extended in
parallel shards and any sample can be regenerated for inspection.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from common.plates.alphabet import to_latin
from common.plates.formats import PlateFormat
from edge.inference.crops import rectify_plate
from models.synth import augment, glyph_balance
from models.synth.country_mix import sqrt_traffic_shares
from models.synth.fonts import FontSet
from models.synth.frame import add_holder_frame
from models.synth.plate_render import (
    PLATE_STYLES,
    REGISTRY_FORMATS,
    PlateStyle,
    glyph_rows,
    render_plate_layout,
)

# Russian one-row plates are most of the traffic this product reads: sample them more often than
# the registry's prior alone would.
DEFAULT_BOOST = {"RU/standard": 1.6}
# Mixes of formats a training set can be drawn from. "registry": the registry's traffic priors
# with DEFAULT_BOOST (a Russian site's traffic; Russia is 57% of it, France 0.9%). "europe":
# Russia keeps RUSSIA_SHARE_EUROPE so the reader does not forget it, and the other countries
# share the rest by the square root of their traffic, so no country's layout or letters are rare
# (`country_mix`: France 4.2% instead of 0.9%, Liechtenstein 0.7% instead of 0.01%); its letters are drawn by
# glyph_balance so no letter is rare (Q 0.37x -> 0.75x the mean letter share). "countries": every
# country (Russia too) the same share, as the per-country synthetic test draws them, so the
# smallest countries' layouts are seen as often as the largest's; letters balanced as in "europe".
MIXES = ("registry", "europe", "countries")
RUSSIA_SHARE_EUROPE = 0.3


def mix_weights(
    styles: Sequence[PlateStyle],
    mix: str,
    boost: dict[str, float] | None = None,
    country_boost: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Sampling probability of each style under `mix` (one of MIXES). `country_boost` multiplies
    the named countries' shares of the mix (a fine-tune that dwells on its weakest countries)."""
    probs = _mix_probs(styles, mix, boost)
    if not country_boost:
        return probs
    known = {s.country for s in styles}
    unknown = sorted(set(country_boost) - known)
    if unknown:
        raise ValueError(f"country_boost names countries with no plate style: {', '.join(unknown)}")
    if any(factor <= 0 for factor in country_boost.values()):
        raise ValueError("country_boost factors must be positive")
    probs = probs * np.array([country_boost.get(s.country, 1.0) for s in styles], np.float64)
    return probs / probs.sum()


def _mix_probs(styles: Sequence[PlateStyle], mix: str, boost: dict[str, float] | None) -> np.ndarray:
    factors = DEFAULT_BOOST if boost is None else boost
    weights = np.array([s.weight * factors.get(s.key, 1.0) for s in styles], np.float64)
    if mix == "registry":
        return weights / weights.sum()
    if mix not in MIXES:
        raise ValueError(f"unknown training mix {mix!r}; choose from {MIXES}")
    per_country: dict[str, float] = {}
    for style, weight in zip(styles, weights, strict=True):
        per_country[style.country] = per_country.get(style.country, 0.0) + float(weight)
    if mix == "countries":
        share = dict.fromkeys(per_country, 1.0 / len(per_country))
        return _within_country(styles, weights, share, per_country)
    traffic = {s.country: REGISTRY_FORMATS[s.key].traffic for s in styles if s.country != "RU"}
    russia = RUSSIA_SHARE_EUROPE if "RU" in per_country and traffic else (1.0 if "RU" in per_country else 0.0)
    share = {c: (1.0 - russia) * v for c, v in sqrt_traffic_shares(traffic).items()} if traffic else {}
    if "RU" in per_country:
        share["RU"] = russia
    return _within_country(styles, weights, share, per_country)


def _within_country(
    styles: Sequence[PlateStyle], weights: np.ndarray, share: dict[str, float], per_country: dict[str, float]
) -> np.ndarray:
    """Each style's probability when its country gets `share`: within a country its formats keep
    their registry proportions."""
    probs = np.array(
        [share[s.country] * w / per_country[s.country] if per_country[s.country] > 0 else 0.0
         for s, w in zip(styles, weights, strict=True)],
        np.float64,
    )
    return probs / probs.sum()


@dataclass(frozen=True)
class CropParams:
    """Crop margins around the plate's axis-aligned box, as fractions of its width/height."""

    margin_x: tuple[float, float] = (-0.03, 0.08)
    margin_y: tuple[float, float] = (-0.05, 0.12)
    source_width: tuple[int, int] = (70, 450)  # plate width in the camera image, px
    # Share of samples cut by rectifying with noisy corners instead of by an axis-aligned box.
    rectified_p: float = 0.5
    # Corner error of a detector, per corner, as fractions of the plate's width and height
    # (standard deviations), plus a shared shift of the whole quad of the same size.
    corner_noise: tuple[float, float] = (0.02, 0.07)


@dataclass(frozen=True)
class OcrSample:
    crop: np.ndarray  # BGR uint8, as a detector box would cut it from the camera frame
    text: str  # glyph string in reading order (Latin look-alikes), what the reader must output
    style_id: str  # registry format key, e.g. "RU/standard"
    two_row: bool
    # The left band drawn ("EU", "FLAG" or None): a format without a band of its own can still
    # show the EU one (French FNI plates made after 1993), so the style alone does not say.
    band: str | None = None
    # Height of the plate's shortest character in the camera image, px, before the view's tilt
    # and squash: the measure of installation specs ("characters at least 15 px tall").
    char_px: float = 0.0


class OcrSampleFactory:
    """Reader training crops of every registry format, drawn by (boosted) registry weight."""

    def __init__(
        self,
        fonts: FontSet,
        styles: Sequence[PlateStyle] | None = None,
        boost: dict[str, float] | None = None,
        mix: str = "registry",
        country_boost: Mapping[str, float] | None = None,
        crop: CropParams = CropParams(),
        geometry: augment.GeometryParams = augment.DEFAULT_GEOMETRY,
        degrade: augment.DegradeParams = augment.DEFAULT_DEGRADE,
    ) -> None:
        self.fonts = fonts
        self.styles = list(styles) if styles is not None else list(PLATE_STYLES.values())
        if not self.styles:
            raise ValueError("no plate styles to sample from")
        self._probs = mix_weights(self.styles, mix, boost, country_boost)
        # The registry mix keeps the registry's uniform letters (a Russian site's real text);
        # the other mixes lift letters that their countries together show rarely.
        self.letter_weights: dict[str, float] | None = (
            glyph_balance.balancing_weights([REGISTRY_FORMATS[s.key] for s in self.styles], self._probs)
            if mix != "registry"
            else None
        )
        self._letter_cache: dict[tuple[str, int], np.ndarray] = {}
        self.crop_params = crop
        self.geometry = geometry
        self.degrade_params = degrade

    def sample(self, seed: int, index: int) -> OcrSample:
        rng = np.random.default_rng([seed, index])
        style = self.styles[int(rng.choice(len(self.styles), p=self._probs))]
        fmt = REGISTRY_FORMATS[style.key]
        text = self.draw_text(fmt, rng)
        rows = glyph_rows(fmt, text)
        # Render at about twice the plate's final size in the camera image, then shrink with
        # area averaging: sharp enough for the final resolution, and cheap for small plates.
        source_w = rng.uniform(*self.crop_params.source_width) * (0.6 if style.two_rows else 1.0)
        px_per_mm = float(np.clip(2.0 * source_w / style.size_mm[0], 0.3, 1.4))
        plate, layout = render_plate_layout(style, rows, self.fonts, rng, px_per_mm=px_per_mm)
        framed, corners = add_holder_frame(plate, self.fonts, rng, px_per_mm=px_per_mm)
        plate_px = corners[1, 0] - corners[0, 0]
        if rng.random() < self.crop_params.rectified_p:
            crop = self._rectified_crop(framed, corners, style, rng, source_w / plate_px)
        else:
            crop = self._place_and_crop(framed, corners, style, rng)
            crop = augment.resize_to_width(crop, max(8, round(crop.shape[1] * source_w / plate_px)))
            crop = augment.degrade(crop, rng, self.degrade_params)
        return OcrSample(
            crop=crop,
            text=to_latin(text),
            style_id=style.key,
            two_row=style.two_rows,
            band=layout.left_band,
            char_px=layout.char_mm * source_w / style.size_mm[0],
        )

    def draw_text(self, fmt: PlateFormat, rng: np.random.Generator) -> str:
        """A random plate text of `fmt` in canonical form, letters drawn as the mix wants."""
        if self.letter_weights is None:
            return fmt.random_text(rng)
        return fmt.to_canonical(
            glyph_balance.random_glyphs(fmt, rng, self.letter_weights, self._letter_cache)
        )

    def _geometry(self, style: PlateStyle) -> augment.GeometryParams:
        geometry = self.geometry
        if style.two_rows:  # square plates are rarely seen steeply rotated; rows must stay separable
            geometry = augment.GeometryParams(
                rotation_sigma_deg=3.0,
                rotation_max_deg=10.0,
                squash_range=(0.7, 1.0),
                shear_max=0.08,
                slope_p=0.3,
                slope_max=0.15,
            )
        return geometry

    def _place_and_crop(
        self, framed: np.ndarray, corners: np.ndarray, style: PlateStyle, rng: np.random.Generator
    ) -> np.ndarray:
        plate_w = corners[1, 0] - corners[0, 0]
        plate_h = corners[3, 1] - corners[0, 1]
        quad = augment.random_plate_quad(plate_w, plate_h, rng, self._geometry(style))
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        bw, bh = x1 - x0, y1 - y0
        mx = rng.uniform(*self.crop_params.margin_x, size=2) * bw
        my = rng.uniform(*self.crop_params.margin_y, size=2) * bh
        left, top = x0 - mx[0], y0 - my[0]
        width = max(4, round(bw + mx.sum()))
        height = max(4, round(bh + my.sum()))
        dst = quad - np.array([left, top])
        background = augment.clutter_background(height, width, rng)
        return augment.warp_onto(background, framed, corners, dst)

    def _rectified_crop(
        self,
        framed: np.ndarray,
        corners: np.ndarray,
        style: PlateStyle,
        rng: np.random.Generator,
        camera_scale: float,
    ) -> np.ndarray:
        """The plate as the edge rectifies it: placed in a wide patch of camera image at camera
        resolution and degraded there, then warped frontal by corners with a detector's error."""
        plate_w = corners[1, 0] - corners[0, 0]
        plate_h = corners[3, 1] - corners[0, 1]
        quad = augment.random_plate_quad(plate_w, plate_h, rng, self._geometry(style))
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        pad_x, pad_y = 0.25 * (x1 - x0), 0.6 * (y1 - y0) + 4
        left, top = x0 - pad_x, y0 - pad_y
        width, height = max(4, round(x1 - x0 + 2 * pad_x)), max(4, round(y1 - y0 + 2 * pad_y))
        dst = quad - np.array([left, top])
        patch = augment.warp_onto(augment.clutter_background(height, width, rng), framed, corners, dst)
        new_w = max(8, round(width * camera_scale))
        patch = augment.degrade(augment.resize_to_width(patch, new_w), rng, self.degrade_params)
        scale = patch.shape[1] / width
        noise_x, noise_y = self.crop_params.corner_noise
        sigma = np.array([noise_x * plate_w, noise_y * plate_h])
        estimate = dst + rng.normal(0.0, 1.0, (4, 2)) * sigma + rng.normal(0.0, 1.0, 2) * sigma
        rectified = rectify_plate(patch, estimate * scale)
        if rectified is None:  # the noise folded the quad: fall back to the true corners
            rectified = rectify_plate(patch, dst * scale)
        assert rectified is not None
        return rectified


def samples_per_second(factory: OcrSampleFactory, n: int = 200, seed: int = 0) -> float:
    start = time.perf_counter()
    for i in range(n):
        factory.sample(seed, i)
    return n / (time.perf_counter() - start)
