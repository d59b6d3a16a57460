"""The plate reader at run time: our CRNN (ONNX) plus the format-constrained CTC decoder.

Every crop is read as a one-row plate. Crops whose shape allows a two-row plate are also read
in the two-row view (halves side by side, see `reader_input`); the view whose reading is a
valid plate wins, then the more confident one.

A reading is valid only for a format the crop can show: one with the view's row count (a
one-row read of a wide crop is never a two-row motorcycle plate), and not one printed light on
dark when the crop plainly shows dark glyphs on a light ground (`text_polarity`), nor one with a
yellow or blue ground when a colour crop plainly shows another (`ground_colour`). The next most
probable reading that fits is taken instead.

The network reads dark glyphs on a light ground best. Where plates printed light on dark (LI, RU
military and police, FR collection plates) are allowed, a crop that may show one (by its pixels,
`text_polarity`, or read as one) is also read inverted, decoded against those formats alone, and
kept where it is INVERTED_MARGIN times as sure as the plain reading: on synthetic LI plates, 134
of 200 (LI, CH and AT on) come out as valid LI plates without it and 191 with it.

A crop whose one-row reading is a plate read under NARROW_VIEW_BELOW is read once more squeezed to
a narrower input (NARROW_VIEW_WIDTH), where the model file allows any width (the network is
convolutional along the plate). The reader learnt plates squeezed across by up to half, so the
narrower image is a second look of a kind it knows. Where the two views read different plates,
the one whose glyphs both views together find likelier wins. A plate that another crop of it
(the same `plate_ids` entry) reads at NARROW_VIEW_BELOW or surer is not read again.

With a band reader (edge.inference.band_reader), a crop whose left end confidently shows an EU
band's country code has that country's prior multiplied in the decoder: FR `AB123CD` with an F
band reads as French, not as the Italian plate the same string also is. Where the band is not
read, a reading that is also a plate of a format printed with hyphens (FR SIV) is decoded again
with that country's prior multiplied when the crop shows the hyphens (edge.inference.hyphens),
and one that another country's format reads with other gaps between its groups with that
country's prior multiplied by how much better its layout fits where the reader placed the glyphs
(edge.inference.spacing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from common.config import RuntimeSettings
from common.plates.alphabet import NUM_CLASSES, encode
from common.plates.ctc import string_log_probability
from common.plates.decode import PlateSearch, rank_plates, search_plates
from common.plates.reading import PlateReading
from common.plates.registry import FormatRegistry, load_registry
from edge.inference.band_reader import CropPriors, OnnxBandReader, combine_priors
from edge.inference.ground_colour import PlateGround
from edge.inference.hyphens import HYPHEN_BOOST, HyphenCheck
from edge.inference.reader_input import (
    READER_HEIGHT,
    READER_WIDTH,
    may_be_two_row,
    normalise,
    prepare_reader_batch,
    reader_images,
)
from edge.inference.runtimes import ModelLoadError, open_session
from edge.inference.spacing import SpacingCheck
from edge.inference.text_polarity import may_show_light_text, shows_dark_text

__all__ = ["OnnxPlateReader", "prepare_reader_batch"]

MAX_BATCH = 8
# Readings of one view looked at for one whose format the view can show.
TOP_CANDIDATES = 8
# How many times surer than a valid plain reading the crop's inverted reading must be to replace
# it. A dark-on-light plate near the skew threshold can read inverted as a surer light-on-dark
# plate: ru-dev М232ТО32 at 0.56, inverted the military 1232ТО32 at 0.66. At 1.5, 300 synthetic
# crops each read LI 296, RU military 293, police 291, diplomatic 290 right (1.0: 297, 293, 292,
# 292; 2.0: 292, 289, 290, 289; none: 289, 284, 287, 283), and ru-dev's boxes as without inversion.
INVERTED_MARGIN = 1.5
# The narrow view (see the module docstring). On the 24,500 synthetic crops of `models.evaluate`
# (every country on, INT8, ONNX Runtime) it reads 23,936 exactly against 23,896 at 160 px alone
# (26 countries gain 1-7 crops, 11 lose 1-3), and eu-dev's labelled boxes 291 against 287
# (ru-dev's 111 either way). A wider view (176 px) read more synthetic plates (23,955) and fewer
# real ones (eu-dev 284, ru-dev 110): the reader never saw plates stretched across.
# Neither view alone is trusted: a view's reading that the other finds unlikely loses (the
# surer of the two readings instead lost eu-dev plates read surer and wrong). Plates read at 0.95
# or more are not looked at again, nor crops read as no plate, most of a photo's false boxes.
NARROW_VIEW_WIDTH = 144
NARROW_VIEW_BELOW = 0.95


def _default_model_path() -> Path:
    from edge.inference.weights import READER_INT8

    return READER_INT8


class OnnxPlateReader:
    """`PlateReader` over a shipped reader model on ONNX Runtime or OpenVINO."""

    def __init__(
        self,
        path: str | Path | None = None,
        runtime: str | RuntimeSettings = "auto",
        threads: int | None = None,
        beam_width: int = 10,
        countries: Sequence[str] | None = None,
        batch_size: int = MAX_BATCH,
        registry: FormatRegistry | None = None,
        priors: Mapping[str, float] | None = None,
        band_reader: OnnxBandReader | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.session = open_session(path if path is not None else _default_model_path(), runtime, threads)
        shape = self.session.input_shape
        any_width = len(shape) == 4 and not isinstance(shape[3], int)
        if len(shape) != 4 or shape[1] != 1 or shape[2] != READER_HEIGHT or not (
            any_width or shape[3] == READER_WIDTH
        ):
            raise ModelLoadError(
                f"reader model input {shape} is not (N, 1, {READER_HEIGHT}, {READER_WIDTH} or any width); "
                "wrong model file?"
            )
        # Model files exported before session 27 take 160 px only: they are read in one width.
        self.narrow_width: int | None = NARROW_VIEW_WIDTH if any_width else None
        self.registry = registry or load_registry()
        self.countries = list(countries) if countries else None
        # Each view is decoded against the formats it can show: one-row plates in the crop read
        # as one line, two-row plates in the two-row view (none: the view is not read at all).
        self.row_counts = {fmt.rows for fmt in self.registry.formats_for(self.countries)}
        # Built here, not at the first plate: with every country allowed it takes 1-2 s.
        for rows in self.row_counts:
            self.registry.automaton(self.countries, rows)
        self.beam_width = beam_width
        self.batch_size = batch_size
        # The device's country priors (decode_plate's `priors`); a band read on a crop multiplies them.
        self.priors = dict(priors) if priors else None
        self.band_reader = band_reader
        # The allowed one-row plates printed light on dark, which inverted crops are read as.
        formats = self.registry.formats_for(self.countries)
        self.light_text_keys = {f.key for f in formats if f.colors.light_text and f.rows == 1}
        self.light_text = (
            self.registry.only(lambda f: f.key in self.light_text_keys) if self.light_text_keys else None
        )
        if self.light_text is not None:
            self.light_text.automaton(None, 1)
        self.hyphens = HyphenCheck(formats)
        self.spacing = SpacingCheck(formats)

    def logprobs(self, crops: Sequence[np.ndarray], two_row: Sequence[bool] | None = None) -> np.ndarray:
        """(N, T, C) log-probabilities of the crops, run in batches of at most `batch_size`."""
        return self._run(reader_images(crops, two_row))

    def _run(self, images: np.ndarray) -> np.ndarray:
        """(N, T, C) log-probabilities of (N, H, W) uint8 reader images."""
        outputs = []
        for i in range(0, len(images), self.batch_size):
            out = self.session.run(normalise(images[i : i + self.batch_size]))[0]
            if out.ndim != 3 or out.shape[2] != NUM_CLASSES:
                raise ModelLoadError(f"reader output has shape {out.shape}, expected (N, T, {NUM_CLASSES})")
            outputs.append(out.astype(np.float32))
        if not outputs:
            return np.zeros((0, 0, NUM_CLASSES), np.float32)
        return np.concatenate(outputs)

    def decode_view(
        self,
        logprobs: np.ndarray,
        view_rows: int,
        dark_text: bool,
        priors: Mapping[str, float] | None = None,
        at_least: float = 0.0,
        ground: PlateGround | None = None,
        inverted: bool = False,
    ) -> PlateReading:
        """Most probable reading of one view's (T, C) log-probabilities whose format the view can
        show (see the module docstring); the best string, not valid, when none of the top
        candidates fits. `view_rows`: 1 for the crop as one line, 2 for the two-row view.
        `priors`: the crop's country priors (default: the device's). `at_least`: readings less
        confident are not looked for (see `PlateReader.read`). `dark_text`, `ground`: what the
        crop plainly shows, which rules out formats printed otherwise (the ground's colour is
        measured only when a format of a colour it can rule out comes up). `inverted`: the view is
        the crop inverted, which can only show a plate printed light on dark."""
        search = self.search_view(logprobs, view_rows, at_least, inverted)
        return self.choose(search, view_rows, dark_text, priors, ground)

    def search_view(
        self, logprobs: np.ndarray, view_rows: int, at_least: float = 0.0, inverted: bool = False
    ) -> PlateSearch:
        """The decoder's search half of `decode_view`: no prior enters it."""
        # Quantised models can put a hair above 0 after dequantisation; the decoder wants <= 0.
        logprobs = np.minimum(logprobs, 0.0)
        if view_rows not in self.row_counts:
            return PlateSearch.not_run(logprobs)
        registry, countries = (self.light_text, None) if inverted else (self.registry, self.countries)
        return search_plates(
            logprobs, registry, countries, self.beam_width, rows=view_rows, give_up_below=at_least
        )

    def choose(
        self,
        search: PlateSearch,
        view_rows: int,
        dark_text: bool,
        priors: Mapping[str, float] | None = None,
        ground: PlateGround | None = None,
    ) -> PlateReading:
        """The ranking half of `decode_view`: the most probable of the search's plates that the
        view can show under `priors`."""
        candidates = rank_plates(search, self.priors if priors is None else priors, top_n=TOP_CANDIDATES)
        for candidate in candidates:
            if candidate.valid and self._fits(candidate, view_rows, dark_text, ground):
                return candidate
        best = candidates[0]
        return replace(best, text=best.latin, country=None, format=None, region=None, region_name=None,
                       valid=False)

    def _fits(
        self,
        candidate: PlateReading,
        view_rows: int,
        dark_text: bool,
        ground: PlateGround | None,
    ) -> bool:
        fmt = self.registry.get(candidate.country or "", candidate.format or "")
        if fmt.rows != view_rows or (dark_text and fmt.colors.light_text):
            return False
        return ground is None or not ground.plainly_not(fmt.colors.background)

    def read(
        self,
        crops: Sequence[np.ndarray],
        at_least: Sequence[float] | None = None,
        plate_ids: Sequence[int] | None = None,
    ) -> list[PlateReading]:
        if len(crops) == 0:
            return []
        floors = list(at_least) if at_least is not None else [0.0] * len(crops)
        if len(floors) != len(crops):
            raise ValueError(f"at_least has {len(floors)} values for {len(crops)} crops")
        images = reader_images(crops)
        dark_text = [shows_dark_text(image) for image in images]
        grounds = [PlateGround(crop) for crop in crops]
        priors = CropPriors(self.band_reader, crops, self.priors, plate_ids)
        every = list(range(len(crops)))
        one_row, logprobs = self._read_one_row(every, images, floors, dark_text, grounds, priors, plate_ids)
        if self.narrow_width is not None:
            self._read_narrow(
                crops, self.narrow_width, one_row, logprobs, floors, dark_text, grounds, priors, plate_ids
            )
        best = list(one_row)
        self._read_inverted(images, grounds, priors, floors, best)
        ambiguous = [i for i, crop in enumerate(crops) if 2 in self.row_counts and may_be_two_row(crop)]
        if ambiguous:
            two_lp = self.logprobs([crops[i] for i in ambiguous], [True] * len(ambiguous))
            # The two-row reading only counts if it is surer than the one-row one.
            two_row = [
                self.search_view(lp, 2, max(floors[i], one_row[i].confidence if one_row[i].valid else 0.0))
                for i, lp in zip(ambiguous, two_lp, strict=True)
            ]
            two_row_dark = [dark_text[i] for i in ambiguous]
            chosen = self._choose_each(ambiguous, two_row, 2, two_row_dark, grounds, priors)
            for i, candidate in zip(ambiguous, chosen, strict=True):
                if (candidate.valid, candidate.confidence) > (one_row[i].valid, one_row[i].confidence):
                    best[i] = candidate
        return best

    def _read_one_row(
        self,
        indices: Sequence[int],
        images: np.ndarray,
        floors: Sequence[float],
        dark_text: Sequence[bool],
        grounds: Sequence[PlateGround],
        priors: CropPriors,
        plate_ids: Sequence[int] | None,
    ) -> tuple[list[PlateReading], np.ndarray]:
        """One-row readings of the crops at `indices` from their reader `images` (one per index,
        of any width the model takes; `floors`, `dark_text` and `plate_ids` one per index too),
        and the network's (N, T, C) log-probabilities of the images."""
        logprobs = self._run(images)
        searches = [self.search_view(lp, 1, floor) for lp, floor in zip(logprobs, floors, strict=True)]
        readings = self._choose_each(indices, searches, 1, dark_text, grounds, priors)
        # A reading that another country's format reads too is ranked again with that country
        # favoured where its plate shows that format's hyphens (edge.inference.hyphens) or fits
        # its gaps better (edge.inference.spacing). Only its country may change: favouring a
        # country also lifts its other strings, and one of its formats that holds fewer plates
        # can then win with glyphs the reader is less sure of.
        seen = self.hyphens.countries_seen(readings, images, logprobs, plate_ids)
        spaced = self.spacing.rival_weights(readings, images, logprobs, plate_ids)
        for k, (hyphenated, weights) in enumerate(zip(seen, spaced, strict=True)):
            boosts = dict.fromkeys(hyphenated, HYPHEN_BOOST)
            for country, weight in weights.items():
                boosts[country] = boosts.get(country, 1.0) * weight
            if boosts:
                i = indices[k]
                prior = priors.for_search(i, searches[k])
                for country in sorted(boosts):
                    prior = combine_priors(prior, country, boosts[country])
                again = self.choose(searches[k], 1, dark_text[k], prior, grounds[i])
                if again.valid and again.latin == readings[k].latin:
                    readings[k] = again
        return readings, logprobs

    def _read_narrow(
        self,
        crops: Sequence[np.ndarray],
        width: int,
        one_row: list[PlateReading],
        logprobs: np.ndarray,
        floors: Sequence[float],
        dark_text: Sequence[bool],
        grounds: Sequence[PlateGround],
        priors: CropPriors,
        plate_ids: Sequence[int] | None,
    ) -> None:
        """Read the crops whose one-row reading is a plate under NARROW_VIEW_BELOW `width` px wide
        as well, and where the two views read different plates, keep (in place in `one_row`) the
        one whose glyphs both views together find likelier: the product of its probabilities
        under each, its confidence their geometric mean."""
        ids = list(plate_ids) if plate_ids is not None else list(range(len(one_row)))
        # A plate that one of its views already reads surely keeps that reading (the caller keeps
        # the surest view): its unsure views are not worth a second look.
        sure = {ids[i] for i, r in enumerate(one_row) if r.valid and r.confidence >= NARROW_VIEW_BELOW}
        unsure = [
            i for i, r in enumerate(one_row)
            if r.valid and r.confidence < NARROW_VIEW_BELOW and ids[i] not in sure
        ]
        if not unsure:
            return
        second, second_logprobs = self._read_one_row(
            unsure,
            reader_images([crops[i] for i in unsure], width=width),
            [floors[i] for i in unsure],
            [dark_text[i] for i in unsure],
            grounds,
            priors,
            [ids[i] for i in unsure],
        )
        for i, candidate, second_lp in zip(unsure, second, second_logprobs, strict=True):
            if not candidate.valid or candidate.latin == one_row[i].latin:
                continue
            views = (np.minimum(logprobs[i], 0.0), np.minimum(second_lp, 0.0))
            kept, other = (
                sum(string_log_probability(view, encode(reading.latin)) for view in views)
                for reading in (one_row[i], candidate)
            )
            if other > kept:
                one_row[i] = replace(candidate, confidence=float(np.exp(other / 2)))

    def _choose_each(
        self,
        indices: Sequence[int],
        searches: Sequence[PlateSearch],
        view_rows: int,
        dark_text: Sequence[bool],
        grounds: Sequence[PlateGround],
        priors: CropPriors,
    ) -> list[PlateReading]:
        """`choose` for the searches of the crops at `indices` (`dark_text` one per search,
        `grounds` per crop), the bands of all that found a plate read in one batch first."""
        priors.need([i for i, search in zip(indices, searches, strict=True) if search.found])
        return [
            self.choose(search, view_rows, dark, priors.for_search(i, search), grounds[i])
            for i, search, dark in zip(indices, searches, dark_text, strict=True)
        ]

    def _read_inverted(
        self,
        images: np.ndarray,
        grounds: Sequence[PlateGround],
        priors: CropPriors,
        floors: Sequence[float],
        best: list[PlateReading],
    ) -> None:
        """Replace, in place, readings of crops that may show light glyphs on a dark ground (by
        their pixels, or read as such a plate) with the reading of the crop inverted as a
        light-on-dark plate where that is INVERTED_MARGIN times as sure (or the plain reading is no
        plate). The reader reads dark glyphs better: inverted, a white-on-black plate looks like
        the plates it learnt most from."""
        if self.light_text is None:
            return
        light = [
            i for i, image in enumerate(images)
            if (best[i].valid and best[i].format_key in self.light_text_keys) or may_show_light_text(image)
        ]
        if not light:
            return
        surer_than = [min(1.0, INVERTED_MARGIN * best[i].confidence) if best[i].valid else 0.0 for i in light]
        searches = [
            self.search_view(logprobs, 1, max(floors[i], surer), inverted=True)
            for i, logprobs, surer in zip(light, self._run(255 - images[light]), surer_than, strict=True)
        ]
        chosen = self._choose_each(light, searches, 1, [False] * len(light), grounds, priors)
        for i, reading, surer in zip(light, chosen, surer_than, strict=True):
            if reading.valid and reading.confidence > surer:
                best[i] = reading
