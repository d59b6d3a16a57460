"""The shipped model files: data beside this module, installed with the edge package.

`models/` trains, exports and quantizes them and writes them here (`ship`); the runtime only
reads them by path, so an edge box needs none of the training code.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

WEIGHTS_DIR = Path(str(files(__name__)))

READER_INT8 = WEIGHTS_DIR / "reader_int8.onnx"
READER_FP32 = WEIGHTS_DIR / "reader_fp32.onnx"
DETECTOR_INT8 = WEIGHTS_DIR / "detector_int8.onnx"
DETECTOR_FP32 = WEIGHTS_DIR / "detector_fp32.onnx"
BAND_FP32 = WEIGHTS_DIR / "band_fp32.onnx"
