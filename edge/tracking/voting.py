"""Turning the many readings of one plate track into one text.

A plate seen in twenty frames is read twenty times, a few of them wrong in one character (motion
blur, a bolt over a digit). Voting happens per character position, weighted by each reading's
confidence, among readings of the most supported length; a reading that matches a known plate
format weighs more than one that does not. The result is a text that most frames agree on even
when no single frame read it perfectly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from common.plates.reading import PlateReading

# A reading that fits a plate format is worth this many that do not.
VALID_FORMAT_WEIGHT = 3.0


@dataclass(frozen=True)
class Vote:
    # The best reading with exactly the voted text; its confidence is the track's: the mean
    # winning share per position times that reading's own confidence.
    reading: PlateReading
    support: int  # readings that agree with the voted text exactly


def _weight(reading: PlateReading) -> float:
    return reading.confidence * (VALID_FORMAT_WEIGHT if reading.valid else 1.0)


def vote(readings: Sequence[PlateReading]) -> Vote | None:
    """The consensus of a track's readings, or None when there are none.

    When character voting produces a text that no reading spelled (and so has no known country
    or format), the best-supported text actually read wins instead.
    """
    if not readings:
        return None
    by_length: dict[int, list[PlateReading]] = defaultdict(list)
    for reading in readings:
        by_length[len(reading.latin)].append(reading)
    group = max(by_length.values(), key=lambda rs: sum(_weight(r) for r in rs))

    length = len(group[0].latin)
    voted_chars: list[str] = []
    shares: list[float] = []
    for position in range(length):
        scores: dict[str, float] = defaultdict(float)
        for reading in group:
            scores[reading.latin[position]] += _weight(reading)
        char, best = max(scores.items(), key=lambda item: (item[1], item[0]))
        voted_chars.append(char)
        shares.append(best / sum(scores.values()))
    voted_latin = "".join(voted_chars)

    agreeing = [r for r in group if r.latin == voted_latin]
    if not agreeing:
        totals: dict[str, float] = defaultdict(float)
        for reading in group:
            totals[reading.latin] += _weight(reading)
        voted_latin = max(totals.items(), key=lambda item: (item[1], item[0]))[0]
        agreeing = [r for r in group if r.latin == voted_latin]
        shares = [totals[voted_latin] / sum(totals.values())]
    best = max(agreeing, key=lambda r: (r.valid, r.confidence))
    share = sum(shares) / len(shares)
    return Vote(replace(best, confidence=round(min(1.0, best.confidence * share), 4)), support=len(agreeing))
