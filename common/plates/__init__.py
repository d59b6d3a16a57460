"""Plate grammar: formats of many countries, validation, correction and CTC decoding.

Typical use::

    from common.plates import load_registry, decode_plate, validate, correct, normalize_plate

See docs/plates.md.
"""

from common.plates.correct import Correction, correct
from common.plates.ctc import Hypothesis, greedy_decode, prefix_beam_search
from common.plates.decode import decode_plate, decode_plate_batch
from common.plates.formats import PlateFormat
from common.plates.normalize import normalize_plate
from common.plates.reading import PlateReading
from common.plates.registry import FormatRegistry, PlateFormatError, load_registry
from common.plates.search import fuzzy_key
from common.plates.validate import PlateMatch, ValidationResult, validate

__all__ = [
    "Correction",
    "FormatRegistry",
    "Hypothesis",
    "PlateFormat",
    "PlateFormatError",
    "PlateMatch",
    "PlateReading",
    "ValidationResult",
    "correct",
    "decode_plate",
    "decode_plate_batch",
    "fuzzy_key",
    "greedy_decode",
    "load_registry",
    "normalize_plate",
    "prefix_beam_search",
    "validate",
]
