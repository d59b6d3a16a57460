"""The band reader at run time: which EU country band, if any, a plate crop shows at its left end.

Many plate strings are valid in two countries (FR `AB123CD` is an Italian plate too, PL `SK440AY`
as well, RO `B12DFG` an NL side code); the text cannot tell them apart, the band can. A tiny CNN
(models/band, trained on synthetic plates only) names the band's code, or "no band" for national
flag bands, plates without a band and crops that are no plate. A confident code multiplies its
country's prior in the plate decoder (`priors_for`); a weak or "no band" answer changes nothing,
so the device's own country list and priors keep deciding everything the band does not.

The class list comes from the model file's metadata (`classes`), so a retrained model with other
codes needs no code change here; a code the plate grammar does not know is refused at load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.config import RuntimeSettings
from common.plates.decode import PlateSearch
from common.plates.registry import FormatRegistry, load_registry
from edge.inference.band_input import (
    BAND_HEIGHT,
    BAND_SECOND_LOOK_SKIP,
    BAND_WIDTH,
    NO_BAND,
    band_patches,
    normalise_patches,
)
from edge.inference.model_info import onnx_metadata
from edge.inference.runtimes import ModelLoadError, open_session

__all__ = ["BandReading", "CropPriors", "OnnxBandReader", "combine_priors"]

MAX_BATCH = 32


@dataclass(frozen=True)
class BandReading:
    """The band of one crop: its code ("" for no EU band), probability, and the code's country."""

    code: str
    confidence: float
    country: str | None


def combine_priors(
    base: Mapping[str, float] | None, country: str | None, boost: float
) -> Mapping[str, float] | None:
    """The device's priors with `country`'s multiplied by `boost` (unnamed countries count 1)."""
    if country is None:
        return base
    combined = dict(base or {})
    combined[country] = combined.get(country, 1.0) * boost
    return combined


def _default_model_path() -> Path:
    from edge.inference.weights import BAND_FP32

    return BAND_FP32


class OnnxBandReader:
    """Band codes of plate crops from the shipped band model, on ONNX Runtime or OpenVINO."""

    def __init__(
        self,
        path: str | Path | None = None,
        runtime: str | RuntimeSettings = "auto",
        threads: int | None = None,
        min_confidence: float = 0.3,
        boost: float = 1000.0,
        registry: FormatRegistry | None = None,
    ) -> None:
        if not 0 <= min_confidence <= 1:
            raise ValueError("min_confidence must be within [0, 1]")
        if boost < 1:
            raise ValueError("boost must be at least 1 (a band never lowers its country's prior)")
        model_path = Path(path) if path is not None else _default_model_path()
        self.session = open_session(model_path, runtime, threads)
        shape = self.session.input_shape
        if len(shape) != 4 or shape[1] not in (1, 3) or shape[2] != BAND_HEIGHT or shape[3] != BAND_WIDTH:
            raise ModelLoadError(
                f"band model input {shape} is not (N, 1 or 3, {BAND_HEIGHT}, {BAND_WIDTH}); wrong model file?"
            )
        self.channels = int(shape[1])  # type: ignore[arg-type]
        try:
            classes = json.loads(onnx_metadata(model_path).get("classes", ""))
        except json.JSONDecodeError:
            classes = None
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise ModelLoadError(f"{model_path} has no `classes` list in its metadata; not a band model?")
        self.classes: tuple[str, ...] = tuple(classes)
        self._code_columns = [k for k, code in enumerate(self.classes) if code != NO_BAND]
        registry = registry or load_registry()
        try:
            self.countries = {
                code: registry.country_for_band(code) for code in self.classes if code != NO_BAND
            }
        except KeyError as exc:
            raise ModelLoadError(f"band model {model_path}: {exc.args[0]}") from exc
        self.min_confidence = min_confidence
        self.boost = boost

    def probabilities(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, classes) probabilities of each BGR uint8 crop's band, from its left end or a patch a
        little further in, whichever shows a band code more surely. A grey crop has no colour to
        show a blue band by (a colour model was never shown one): certainly no band."""
        probs = np.zeros((len(crops), len(self.classes)), np.float64)
        probs[:, self.classes.index(NO_BAND) if NO_BAND in self.classes else 0] = 1.0
        colour = [
            i for i, crop in enumerate(crops) if self.channels == 1 or (crop.ndim == 3 and crop.shape[2] == 3)
        ]
        if not colour:
            return probs
        # Each crop's left end, and the same share again a little further in, in one batch: the
        # surer band of the two counts (band_input.BAND_SECOND_LOOK_SKIP).
        shown = [crops[i] for i in colour]
        patches = np.concatenate([band_patches(shown), band_patches(shown, BAND_SECOND_LOOK_SKIP)])
        looks = np.zeros((len(patches), len(self.classes)), np.float64)
        for start in range(0, len(patches), MAX_BATCH):
            out = self.session.run(normalise_patches(patches[start : start + MAX_BATCH], self.channels))[0]
            if out.ndim != 2 or out.shape[1] != len(self.classes):
                raise ModelLoadError(f"band output has shape {out.shape}, expected (N, {len(self.classes)})")
            looks[start : start + MAX_BATCH] = np.exp(out.astype(np.float64))
        first, further_in = looks[: len(shown)], looks[len(shown) :]
        codes = self._code_columns
        surer = (
            further_in[:, codes].max(axis=1) > first[:, codes].max(axis=1) if codes
            else np.zeros(len(shown), bool)
        )
        probs[colour] = np.where(surer[:, None], further_in, first)
        return probs

    def read(self, crops: Sequence[np.ndarray]) -> list[BandReading]:
        """The likeliest band of each BGR uint8 crop."""
        readings = []
        for p in self.probabilities(crops):
            code = self.classes[int(np.argmax(p))]
            readings.append(BandReading(code, float(p.max()), self.countries.get(code)))
        return readings

    def priors_for(
        self,
        crops: Sequence[np.ndarray],
        base: Mapping[str, float] | None = None,
        plate_ids: Sequence[int] | None = None,
    ) -> list[Mapping[str, float] | None]:
        """Decoder priors of each crop: `base` (the device's), with the country of every band code
        read at `min_confidence` or more multiplied by `boost` times the code's probability (one
        code when `min_confidence` > 0.5; below, a crop the reader is torn on between F and I
        favours both over the rest). `plate_ids`: crops with the same id are views of one plate,
        and a code read on any of them counts for all (its best probability among them): the box
        view often cuts the band off that the wider or rectified view shows, and the reading
        kept is the most probable view's, whether or not that view showed the band."""
        probabilities = self.probabilities(crops)
        if plate_ids is not None:
            probabilities = best_per_plate(probabilities, plate_ids)
        out: list[Mapping[str, float] | None] = []
        for p in probabilities:
            priors = base
            for k in np.nonzero(p >= self.min_confidence)[0]:
                priors = combine_priors(
                    priors, self.countries.get(self.classes[k]), max(1.0, self.boost * p[k])
                )
            out.append(priors)
        return out


class CropPriors:
    """The decoder priors of one reader call's crops (`OnnxBandReader.priors_for`), with the band
    model run only for the plates whose crops a decoder search found a plate in. Priors only rank
    what a search found (`common.plates.decode.rank_plates`), and most crops of a photo are the
    detector's false boxes, whose searches find nothing: on eu-dev they are three in four.
    `need` reads the bands of the named crops' plates in one batch, each plate's crops together
    (a band read on any view of a plate counts for all of them), so the priors are the ones
    `priors_for` gives the whole call."""

    def __init__(
        self,
        band_reader: OnnxBandReader | None,
        crops: Sequence[np.ndarray],
        base: Mapping[str, float] | None,
        plate_ids: Sequence[int] | None = None,
    ) -> None:
        if plate_ids is not None and len(plate_ids) != len(crops):
            raise ValueError(f"plate_ids has {len(plate_ids)} values for {len(crops)} crops")
        self.band_reader = band_reader
        self.crops = crops
        self.base = base
        self.plate_ids = plate_ids
        self._priors: dict[int, Mapping[str, float] | None] = {}

    def need(self, indices: Iterable[int]) -> None:
        """Read the bands of the plates of these crops that are not read yet, in one batch."""
        if self.band_reader is None:
            return
        missing = [i for i in indices if i not in self._priors]
        if not missing:
            return
        if self.plate_ids is None:
            todo = sorted(set(missing))
        else:
            plates = {self.plate_ids[i] for i in missing}
            todo = [i for i, plate in enumerate(self.plate_ids) if plate in plates]
        ids = None if self.plate_ids is None else [self.plate_ids[i] for i in todo]
        read = self.band_reader.priors_for([self.crops[i] for i in todo], self.base, ids)
        self._priors.update(zip(todo, read, strict=True))

    def for_search(self, index: int, search: PlateSearch) -> Mapping[str, float] | None:
        """The priors to rank crop `index`'s search with: with its band when the search found a
        plate (read now if `need` was not told), the base priors when it found none."""
        if self.band_reader is None or not search.found:
            return self.base
        self.need([index])
        return self._priors[index]


def best_per_plate(probabilities: np.ndarray, plate_ids: Sequence[int]) -> np.ndarray:
    """Each row replaced by the largest probability of each class over the rows of its plate."""
    if len(plate_ids) != len(probabilities):
        raise ValueError(f"plate_ids has {len(plate_ids)} values for {len(probabilities)} crops")
    plates, row_plate = np.unique(np.asarray(plate_ids), return_inverse=True)
    best = np.zeros((len(plates), probabilities.shape[1]), probabilities.dtype)
    np.maximum.at(best, row_plate, probabilities)
    return best[row_plate]
