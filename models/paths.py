"""Where shipped model files live: next to this code, never found by a bare package import."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent

READER_INT8 = MODELS_DIR / "reader_int8.onnx"
READER_FP32 = MODELS_DIR / "reader_fp32.onnx"
DETECTOR_INT8 = MODELS_DIR / "detector_int8.onnx"
DETECTOR_FP32 = MODELS_DIR / "detector_fp32.onnx"
