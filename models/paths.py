"""Where the training side finds and writes model files.

Shipped weights live with the runtime that reads them (edge/inference/weights/); training code
writes them there and reads them for evaluation and warm starts. Reports stay beside this code.
"""

from __future__ import annotations

from pathlib import Path

from edge.inference.weights import (
    BAND_FP32,
    DETECTOR_FP32,
    DETECTOR_INT8,
    READER_FP32,
    READER_INT8,
    WEIGHTS_DIR,
)

MODELS_DIR = Path(__file__).resolve().parent
REPORTS_DIR = MODELS_DIR / "reports"

__all__ = [
    "BAND_FP32", "DETECTOR_FP32", "DETECTOR_INT8", "MODELS_DIR", "READER_FP32", "READER_INT8", "REPORTS_DIR",
    "WEIGHTS_DIR",
]
