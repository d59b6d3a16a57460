"""End-to-end evaluation of the shipped models, FP32 and INT8 side by side.

    python -m models.evaluate [--out models/reports] [--realdata DIR] [--eu-realdata DIR]
                              [--scenes 200] [--crops 1000] [--crops-per-country 500]

Measures, for each precision: detector recall and precision at IoU 0.5 (and the PR curve),
plate exact-match and CER of the reader alone (on labelled boxes) and end to end (detector ->
crop -> reader -> format-constrained decoding, through the same `SnapshotRecognizer` that
`anpr-edge recognize` uses), a breakdown per country and format, latency per frame and per
plate, and model sizes; on (a) a fixed synthetic test set, (b) the real photos in
`../shared/realdata/ru-dev` read as a Russian site is configured (`--countries RU`), and (c)
those in `../shared/realdata/eu-dev` read with every country on, beside ru-dev, per country, with
how often the chosen country is wrong (evaluation only, never training). The reader is also
measured per country on synthetic plates of every country, the same number of each (its own
formats in its registry proportions), read with every country on. Writes evaluation.json,
evaluation.md and PNG plots.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np

from common.config import DetectorConfig, ReaderConfig
from edge.inference.crops import crop_plate
from edge.inference.detector import OnnxPlateDetector
from edge.inference.models import READERS
from edge.inference.protocols import PlateDetection, PlateReader
from edge.inference.reader import OnnxPlateReader
from edge.recognize import SnapshotRecognizer
from models.cpu import cpu_description
from models.metrics import DetectionScore, ReadingScore, match_plates
from models.paths import DETECTOR_FP32, DETECTOR_INT8, READER_FP32, READER_INT8, REPORTS_DIR
from models.reader.eval_real import latency_ms_per_plate
from models.realdata import DEFAULT_EU_REALDATA, LabelledPhoto, label_errata, load_real_photos

if TYPE_CHECKING:  # the renderer loads fonts; only the synthetic sets need it
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSample

SYNTH_CROP_SEED = 771_2026  # no training run renders with this seed
SYNTH_COUNTRY_SEED = 773_2026
# The installation spec's shortest character, px in the camera image (docs/deployment.md, "Camera
# placement"; AxxonSoft's ANPR module asks the same, Auto-Intellect's 16 px). The synthetic
# crops run down to 7 px, where no reader is reliable: the per-country figures are given on every
# crop and on those within the spec.
SPEC_CHAR_PX = 15.0
# Shortest-character heights (px) the every-country crops are also scored between.
CHAR_PX_EDGES = (0.0, 12.0, SPEC_CHAR_PX, 20.0, 30.0)
PR_THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)

# Measured on these machines before this project's models existed (issue #3); kept as the bar.
BASELINES = [
    {
        "name": "RapidOCR PP-OCRv6 recognizer (Apache-2.0)",
        "task": "reader on real RU crops",
        "exact_match": 69 / 91,
        "plates": 91,
        "ms_per_plate": 16.0,
    },
    {
        "name": "OpenCV 4 Haar cascade for RU plates",
        "task": "detector on real RU photos",
        "recall": 0.46,
        "precision": 0.33,
        "ms_per_photo": 244.0,
    },
]


@dataclass(frozen=True)
class Variant:
    name: str
    detector: Path
    reader: Path


def _read_image(photo: LabelledPhoto) -> np.ndarray:
    image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {photo.path}")
    return image


def _boxes(detections: list[PlateDetection], threshold: float) -> list[tuple[float, float, float, float]]:
    return [d.box for d in detections if d.score >= threshold]


def pr_curve(found: list[list[PlateDetection]], truths: list[list[tuple]]) -> list[dict[str, float]]:
    curve = []
    for threshold in PR_THRESHOLDS:
        score = DetectionScore()
        for dets, truth in zip(found, truths, strict=True):
            score.add(truth, _boxes(dets, float(threshold)))
        curve.append({"threshold": float(threshold), "recall": score.recall, "precision": score.precision})
    return curve


def detector_latency_ms(detector: OnnxPlateDetector, frame: np.ndarray, runs: int = 20) -> float:
    """Median time per 1080p frame, resize and decoding included."""
    frame = cv2.resize(frame, (1920, 1080))
    detector.detect(frame)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.detect(frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _as_labelled(label_text: str, text: str, latin: str) -> str:
    """The reading as the set labels plates: Cyrillic canonical text for ru-dev, Latin glyphs for
    eu-dev (whose labels have no separators)."""
    return latin if label_text.isascii() else text


def evaluate_real(
    variant: Variant,
    photos: list[LabelledPhoto],
    backend: str,
    countries: list[str] | None = None,
    default_country: str = "RU",
) -> dict[str, Any]:
    """Detector, reader and end to end on one real set; only plates labelled readable are read
    (eu-dev has unreadable ones); a plate's country is its label's, else `default_country`."""
    detector_config = DetectorConfig()
    # The reader as `recognize` builds it from a config (the EU band reader included), one thread.
    reader_config = ReaderConfig(path=variant.reader, runtime=backend, countries=countries or [])
    # One low-threshold pass gives every point of the PR curve; the operating point filters it.
    detector = OnnxPlateDetector(variant.detector, backend, threads=2, score_threshold=0.05)  # type: ignore[arg-type]
    reader = cast(OnnxPlateReader, READERS["onnx"](reader_config))
    recognizer = SnapshotRecognizer.from_config(detector, reader, detector_config, reader_config)
    images = [_read_image(photo) for photo in photos]
    truths = [[tuple(float(v) for v in p.box) for p in photo.plates] for photo in photos]
    found = [detector.detect(image) for image in images]
    # Still photos are searched at the snapshot threshold; video at the higher one (common.config).
    detection, detection_video = DetectionScore(), DetectionScore()
    for dets, truth in zip(found, truths, strict=True):
        detection.add(truth, _boxes(dets, detector_config.snapshot_score_threshold))
        detection_video.add(truth, _boxes(dets, detector_config.score_threshold))

    end_to_end, outputs, correct_outputs, errors = ReadingScore(), 0, 0, []
    per_country: dict[str, ReadingScore] = defaultdict(ReadingScore)
    valid_matched = wrong_country = 0
    started = time.perf_counter()
    for image, photo, truth in zip(images, photos, truths, strict=True):
        plates = recognizer.recognize(image)
        outputs += len(plates)
        matched = match_plates(truth, [p.box for p in plates])
        for label, index in zip(photo.plates, matched, strict=True):
            if not label.readable:
                continue
            plate = plates[index] if index is not None else None
            text = None if plate is None else _as_labelled(label.text, plate.text, plate.latin)
            country = label.country or default_country
            end_to_end.add(label.text, text)
            per_country[country].add(label.text, text)
            correct_outputs += int(text == label.text)
            if plate is not None and plate.country is not None:
                valid_matched += 1
                wrong_country += int(plate.country != country)
            if text != label.text:
                errors.append({"image": photo.path.name, "truth": label.text, "read": text})
    seconds_per_photo = (time.perf_counter() - started) / max(1, len(photos))

    # The reader alone, on the labelled boxes of the photos already in memory.
    labelled = [
        (image, p) for image, photo in zip(images, photos, strict=True) for p in photo.plates if p.readable
    ]
    crops = [crop_plate(image, PlateDetection(tuple(map(float, p.box)), 1.0)) for image, p in labelled]
    reader_alone, pairs = ReadingScore(), []
    alone_per_country: dict[str, ReadingScore] = defaultdict(ReadingScore)
    for (_, label), reading in zip(labelled, reader.read(crops), strict=True):
        text = _as_labelled(label.text, reading.text, reading.latin)
        reader_alone.add(label.text, text)
        alone_per_country[label.country or default_country].add(label.text, text)
        pairs.append((label.text, text))
    wall_ms, cpu_ms = latency_ms_per_plate(reader, crops)
    return {
        "detector": detection.as_dict() | {"score_threshold": detector_config.snapshot_score_threshold},
        "detector_video": detection_video.as_dict() | {"score_threshold": detector_config.score_threshold},
        "pr_curve": pr_curve(found, truths),
        "reader_on_label_boxes": reader_alone.as_dict(),
        "end_to_end": end_to_end.as_dict()
        | {
            "outputs": outputs,
            "output_precision": correct_outputs / outputs if outputs else 0.0,
            "valid_matched": valid_matched,
            "wrong_country": wrong_country,
        },
        "end_to_end_per_country": {c: s.as_dict() for c, s in sorted(per_country.items())},
        "reader_on_label_boxes_per_country": {c: s.as_dict() for c, s in sorted(alone_per_country.items())},
        "end_to_end_errors": errors,
        "ms_per_photo_end_to_end": seconds_per_photo * 1000,
        "detector_ms_per_1080p_frame_2_threads": detector_latency_ms(detector, images[0]),
        "reader_ms_per_plate_batch8_1_thread": wall_ms,
        "reader_cpu_ms_per_plate_batch8_1_thread": cpu_ms,
        "_pairs": pairs,
    }


def evaluate_synthetic(
    variant: Variant, scenes: list[Any], samples: list[Any], country_samples: list[Any], backend: str
) -> dict[str, Any]:
    detector = OnnxPlateDetector(
        variant.detector,
        backend,
        threads=2,  # type: ignore[arg-type]
        score_threshold=DetectorConfig().score_threshold,
    )
    detection = DetectionScore()
    for scene in scenes:
        detection.add(
            [tuple(map(float, b)) for b in scene.boxes], [d.box for d in detector.detect(scene.image)]
        )
    reader = READERS["onnx"](ReaderConfig(path=variant.reader, runtime=backend))
    overall, per_format, pairs = _read_samples(reader, samples)
    every_country, _, country_pairs = _read_samples(reader, country_samples)
    reads = [read for _, read in country_pairs]
    by_country, in_spec = _country_scores(country_samples, reads)
    by_height = [ReadingScore() for _ in CHAR_PX_EDGES]
    for sample, read in zip(country_samples, reads, strict=True):
        height_row = int(np.searchsorted(CHAR_PX_EDGES, sample.char_px, side="right")) - 1
        by_height[height_row].add(sample.text, read)
    site_prior, site_prior_in_spec = _country_scores(
        country_samples, _read_with_own_country(variant, backend, country_samples)
    )
    return {
        "detector": detection.as_dict(),
        "reader": overall.as_dict(),
        "reader_per_format": {key: score.as_dict() for key, score in sorted(per_format.items())},
        "reader_every_country": every_country.as_dict(),
        "reader_by_country": {c: s.as_dict() for c, s in sorted(by_country.items())},
        "reader_by_country_in_spec": {c: s.as_dict() for c, s in sorted(in_spec.items())},
        "spec_char_px": SPEC_CHAR_PX,
        # the same crops read by a device whose site prior is the plate's own country
        "reader_by_country_site_prior": {c: s.as_dict() for c, s in sorted(site_prior.items())},
        "reader_by_country_site_prior_in_spec": {
            c: s.as_dict() for c, s in sorted(site_prior_in_spec.items())
        },
        # every-country crops by their shortest character's height: [from px, score]
        "reader_by_char_px": [
            [edge, score.as_dict()] for edge, score in zip(CHAR_PX_EDGES, by_height, strict=True)
        ],
        "_pairs": pairs,
    }


def _country_of(sample: Any) -> str:
    return str(sample.style_id.split("/")[0])


def _country_scores(
    samples: list[Any], reads: list[str]
) -> tuple[dict[str, ReadingScore], dict[str, ReadingScore]]:
    """Each country's score on its crops: all of them, and those within the installation spec."""
    scores: dict[str, ReadingScore] = defaultdict(ReadingScore)
    in_spec: dict[str, ReadingScore] = defaultdict(ReadingScore)
    for sample, read in zip(samples, reads, strict=True):
        scores[_country_of(sample)].add(sample.text, read)
        if sample.char_px >= SPEC_CHAR_PX:
            in_spec[_country_of(sample)].add(sample.text, read)
    return scores, in_spec


def _read_with_own_country(variant: Variant, backend: str, samples: list[Any]) -> list[str]:
    """Each crop read with its plate's country alone allowed (`--countries XX`, a site's prior),
    in the crops' order."""
    positions: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(samples):
        positions[_country_of(sample)].append(i)
    reads = [""] * len(samples)
    for country, indices in positions.items():
        reader = READERS["onnx"](ReaderConfig(path=variant.reader, runtime=backend, countries=[country]))
        for i, reading in zip(indices, reader.read([samples[i].crop for i in indices]), strict=True):
            reads[i] = reading.latin
    return reads


def _read_samples(
    reader: PlateReader, samples: list[Any]
) -> tuple[ReadingScore, dict[str, ReadingScore], list[tuple[str, str]]]:
    """Overall and per-format scores of the reader (every country allowed) on synthetic crops."""
    overall, per_format, pairs = ReadingScore(), defaultdict(ReadingScore), []
    for sample, reading in zip(samples, reader.read([s.crop for s in samples]), strict=True):
        overall.add(sample.text, reading.latin)
        per_format[sample.style_id].add(sample.text, reading.latin)
        pairs.append((sample.text, reading.latin))
    return overall, per_format, pairs


def synthetic_sets(
    scene_count: int, crop_count: int, per_country: int
) -> tuple[list[Any], list[Any], list[Any]]:
    """Detector scenes, reader crops of a Russian site's mix, and `per_country` crops of every
    country's plates (its formats in their registry proportions, letters as the registry draws
    them). A country's crops depend on its code only, so adding a country moves no other's."""
    from models.detector.evaluate import synthetic_test_set
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES
    from models.synth.scene_plates import RenderedPlateSource

    scenes = synthetic_test_set(RenderedPlateSource(), count=scene_count)
    fonts = FontSet.discover()
    factory = OcrSampleFactory(fonts)
    countries = sorted({style.country for style in PLATE_STYLES.values()})
    by_country = [sample for c in countries for sample in synthetic_country_crops(c, per_country, fonts)]
    return (
        scenes,
        [factory.sample(SYNTH_CROP_SEED, i) for i in range(crop_count)],
        by_country,
    )


def synthetic_country_crops(
    country: str, count: int, fonts: FontSet | None = None, seed: int = SYNTH_COUNTRY_SEED
) -> list[OcrSample]:
    """The evaluation's `count` synthetic crops of one country's plates (its formats in their
    registry proportions): they depend on its code only, so adding a country moves no other's.
    Another `seed` draws other crops alike (models.reader.synthetic_errors looks at those)."""
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory
    from models.synth.plate_render import PLATE_STYLES

    own = OcrSampleFactory(
        fonts or FontSet.discover(), styles=[s for s in PLATE_STYLES.values() if s.country == country]
    )
    country_seed = seed * 2**32 + zlib.crc32(country.encode())
    return [own.sample(country_seed, i) for i in range(count)]


def model_sizes(variants: list[Variant]) -> dict[str, dict[str, float]]:
    return {
        v.name: {
            "detector_kib": v.detector.stat().st_size / 1024,
            "reader_kib": v.reader.stat().st_size / 1024,
        }
        for v in variants
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPORTS_DIR)
    parser.add_argument("--realdata", default=None, help="ru-dev folder (default ../shared/realdata/ru-dev)")
    parser.add_argument(
        "--eu-realdata", type=Path, default=DEFAULT_EU_REALDATA,
        help="eu-dev folder, read with every country on (default ../shared/realdata/eu-dev; skipped "
        "when absent)",
    )
    parser.add_argument(
        "--crops-per-country", type=int, default=500,
        help="synthetic reader crops of each country's plates, read with every country on (at 97%% "
        "a country's figure moves 0.8 points either way by chance with 500, 1.7 with 100)",
    )
    parser.add_argument("--scenes", type=int, default=200, help="synthetic detector scenes")
    parser.add_argument("--crops", type=int, default=1000, help="synthetic reader crops")
    parser.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "openvino"])
    parser.add_argument(
        "--countries", nargs="*", default=["RU"],
        help="the reader's country setting for the real photos, as a site there is configured "
        "(default RU; give none for every country)",
    )
    args = parser.parse_args(argv)

    variants = [Variant("FP32", DETECTOR_FP32, READER_FP32), Variant("INT8", DETECTOR_INT8, READER_INT8)]
    missing = [str(p) for v in variants for p in (v.detector, v.reader) if not p.is_file()]
    if missing:
        print("missing model files: " + ", ".join(missing), file=sys.stderr)
        return 1
    photos = load_real_photos(args.realdata)
    eu_photos = load_real_photos(args.eu_realdata) if (args.eu_realdata / "labels.csv").is_file() else []
    scenes, samples, country_samples = synthetic_sets(args.scenes, args.crops, args.crops_per_country)
    report: dict[str, Any] = {
        "backend": args.runtime,
        "cpu": cpu_description(),
        "countries": args.countries or "all",
        "sizes": model_sizes(variants),
        "baselines": BASELINES,
        "real": {},
        "real_eu": {},
        "synthetic": {},
        # labels of the real sets corrected by models/realdata_errata.csv
        "label_errata": [
            {"set": e.set_name, "image": e.image, "label": e.label, "corrected": e.corrected}
            for e in (*label_errata(args.realdata), *(label_errata(args.eu_realdata) if eu_photos else ()))
        ],
    }
    for variant in variants:
        print(f"evaluating {variant.name} ...", file=sys.stderr)
        report["real"][variant.name] = evaluate_real(variant, photos, args.runtime, args.countries or None)
        if eu_photos:
            report["real_eu"][variant.name] = evaluate_real(variant, eu_photos, args.runtime, None)
        report["synthetic"][variant.name] = evaluate_synthetic(
            variant, scenes, samples, country_samples, args.runtime
        )

    from models.report import write_report

    args.out.mkdir(parents=True, exist_ok=True)
    write_report(
        report,
        args.out,
        real_plates=sum(len(p.plates) for p in photos),
        synthetic_counts=(len(scenes), len(samples), len(country_samples)),
    )
    print((args.out / "evaluation.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
