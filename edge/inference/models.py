"""The plate models a process runs, built from config: detector and reader implementations by name.

The agent and `recognize` ask for "onnx" detectors and readers: our shipped models, run by the
inference runtime their config names (edge.inference.runtimes). Another implementation of the
PlateDetector or PlateReader protocol registers under its own name. Model classes are imported
when first built, so a box that never loads a model never imports its runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.config import DetectorConfig, ReaderConfig
from common.events import ModelVersions
from edge.inference.model_info import model_version
from edge.inference.protocols import PlateDetector, PlateReader
from edge.inference.weights import BAND_FP32, DETECTOR_FP32, DETECTOR_INT8, READER_FP32, READER_INT8


class ModelUnavailableError(RuntimeError):
    """The configured model file is missing or cannot be loaded; the message names the file."""


def default_model_path(configured: Path | None, int8: Path, fp32: Path) -> Path:
    """The configured file, else the shipped INT8 model, else the shipped FP32 one."""
    if configured is not None:
        return Path(configured)
    return int8 if int8.is_file() or not fp32.is_file() else fp32


def detector_path(config: DetectorConfig) -> Path:
    return default_model_path(config.path, DETECTOR_INT8, DETECTOR_FP32)


def reader_path(config: ReaderConfig) -> Path:
    return default_model_path(config.path, READER_INT8, READER_FP32)


def _onnx_detector(config: DetectorConfig) -> PlateDetector:
    from edge.inference.detector import OnnxPlateDetector

    return OnnxPlateDetector(
        detector_path(config), runtime=config.runtime,
        # Video and snapshots filter the boxes at their own threshold.
        score_threshold=min(config.score_threshold, config.snapshot_score_threshold),
    )


def band_path(config: ReaderConfig) -> Path:
    return Path(config.band.path) if config.band.path is not None else BAND_FP32


def _onnx_reader(config: ReaderConfig) -> PlateReader:
    from edge.inference.band_reader import OnnxBandReader
    from edge.inference.reader import OnnxPlateReader

    band = None
    if config.band.enabled:
        band = OnnxBandReader(
            band_path(config), runtime=config.runtime,
            min_confidence=config.band.min_confidence, boost=config.band.boost,
        )
    return OnnxPlateReader(
        reader_path(config), runtime=config.runtime,
        beam_width=config.beam_width, countries=config.countries or None, band_reader=band,
    )


DETECTORS: dict[str, Callable[[DetectorConfig], PlateDetector]] = {"onnx": _onnx_detector}
READERS: dict[str, Callable[[ReaderConfig], PlateReader]] = {"onnx": _onnx_reader}


@dataclass(frozen=True)
class ModelSet:
    detector: PlateDetector
    reader: PlateReader
    versions: ModelVersions
    # Builds another detector like `detector`, for channels that cannot share one (see the agent).
    make_detector: Callable[[], PlateDetector] | None = None


def load_models(detector: DetectorConfig, reader: ReaderConfig, implementation: str = "onnx") -> ModelSet:
    """Load both models; ModelUnavailableError says which file is missing or broken."""
    if implementation not in DETECTORS or implementation not in READERS:
        raise ValueError(
            f"unknown plate model implementation {implementation!r}; choose from {sorted(DETECTORS)}"
        )
    paths = [("detector", detector_path(detector)), ("reader", reader_path(reader))]
    if reader.band.enabled:
        paths.append(("reader.band", band_path(reader)))
    for what, path in paths:
        if not path.is_file():
            raise ModelUnavailableError(
                f"{what} model not found: {path} "
                f"(set {what}.path in the config or install the shipped models)"
            )
    try:
        plate_detector = DETECTORS[implementation](detector)
        plate_reader = READERS[implementation](reader)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot load the plate models: {exc}") from exc
    versions = ModelVersions(
        detector=model_version(plate_detector, detector_path(detector)),
        reader=model_version(plate_reader, reader_path(reader)),
    )
    return ModelSet(plate_detector, plate_reader, versions, lambda: DETECTORS[implementation](detector))
