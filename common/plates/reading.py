"""One reading of a plate: what the decoder makes of the reader's output, what the tracker votes
on, and what an event carries. One type from decoder to event, so nothing is copied field by field.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class PlateReading:
    """A plate as read and understood by the grammar.

    ``confidence`` is the reader's probability of this glyph string (0..1), summed over the
    alignments the beam kept; readings sharing a string (one text, several formats) share it. In
    an event it is the track's voted confidence.
    """

    text: str = Field(description="canonical text, e.g. А123ВС77 (Cyrillic capitals for Cyrillic scripts)")
    latin: str = Field(description="glyph-for-glyph Latin transliteration, e.g. A123BC77")
    confidence: float = Field(ge=0.0, le=1.0, description="probability of `text`, 0..1")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, when the format is known")
    format: str | None = Field(default=None, description="format id within the country, e.g. standard")
    region: str | None = Field(default=None, description="region code from the country's table, e.g. 77")
    region_name: str | None = Field(default=None, description="that region's name, e.g. Москва")
    valid: bool = Field(default=False, description="the text matches a known plate format")

    @property
    def format_key(self) -> str | None:
        return f"{self.country}/{self.format}" if self.country and self.format else None

    def acceptable(self, min_confidence: float, require_valid: bool) -> bool:
        """Whether this reading may make an event or a snapshot result."""
        return bool(self.text) and self.confidence >= min_confidence and (self.valid or not require_valid)
