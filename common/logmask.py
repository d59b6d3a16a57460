"""Masking plate numbers in log output: a plate is personal data and logs travel further than the store.

A plate-shaped token (Russian/CIS and European formats, Cyrillic or Latin, with or without
spaces or dashes) keeps its letters and separators and loses its digits: `А123ВС77` becomes
`А***ВС**`, enough to tell a format from a bug, not enough to identify a car. With a key, the
token becomes a short keyed hash instead (`[plate:3fa29c]`), so one plate can be followed across
log lines without being readable.

Things that look a little like plates but are not (UUIDs, timestamps, IP and MAC addresses, hex
digests) are recognised first and left alone; so are ordinary numbers and short technical words
(`SHA256`, `HTTP 200`, `1024 MB`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable

from common.plates.alphabet import to_latin

_UPPER = "A-ZА-ЯЁІЇЄЎ"
_LETTER = f"[{_UPPER}]"
_NOT_ALNUM_BEFORE = r"(?<![^\W_])"  # underscore counts as a boundary: A123BC77_crop.jpg is masked
_NOT_ALNUM_AFTER = r"(?![^\W_])"
# A maximal run of 1-3 capital letters or 1-5 digits; runs are joined by nothing, a space or a dash.
_RUN = rf"(?:{_LETTER}{{1,3}}(?!{_LETTER})|\d{{1,5}}(?!\d))"
_PLATE_SHAPED = re.compile(rf"{_NOT_ALNUM_BEFORE}{_RUN}(?:[ -]?{_RUN}){{1,3}}{_NOT_ALNUM_AFTER}")
# Typed plates are often lower case; only the distinctive Russian shape is trusted in lower case.
_RU_PLATE_LETTERS = "авекмнорстухabekmhopctyx"
_RU_LOWER = re.compile(
    rf"{_NOT_ALNUM_BEFORE}[{_RU_PLATE_LETTERS}] ?\d{{3}} ?[{_RU_PLATE_LETTERS}]{{2}} ?\d{{2,3}}"
    + _NOT_ALNUM_AFTER
)

_PROTECTED = re.compile(
    "|".join(
        (
            r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",  # UUID
            # ISO date and time
            r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?",  # clock time
            r"(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?",  # IPv4[:port]
            r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}",  # MAC
            r"0[xX][0-9A-Fa-f]+",
            r"(?<![^\W_])[0-9A-Fa-f]{12,}(?![^\W_])",  # digests, long ids
        )
    )
)

# Technical words never taken for a plate's letters. Three letters and more: anywhere. Two letters
# (also plate series, e.g. AM-123-BC): in the weak shapes, or when they are all the letters there are.
# fmt: off
_TECHNICAL_WORDS = frozenset((
    "UTC", "GMT", "CET", "MSK", "EET", "SHA", "AES", "RSA", "ISO", "RFC", "UTF", "CRC", "TCP", "UDP",
    "RTP", "GET", "PUT", "HTTP", "RTSP", "MQTT", "TLS", "SSL", "PID", "UID", "GID", "CPU", "GPU", "NPU",
    "RAM", "MIB", "KIB", "GIB", "FPS", "DPI", "INT", "BGR", "RGB", "YUV", "HEVC", "AVC",
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN",
    "ID", "MD", "MB", "KB", "GB", "TB", "MS", "FP", "NV", "AM", "PM",
))
# fmt: on
# Shapes of letter (L) and digit (D) runs that plates have; the strong ones alternate fully.
_STRONG_SHAPES = frozenset({"LDL", "LDLD", "DLDL"})
_WEAK_SHAPES = frozenset({"LD", "DL", "DLD", "LDD", "LLD", "LLDL", "LDDL"})
_RUNS = re.compile(rf"{_LETTER}+|\d+")


def _looks_like_plate(token: str) -> bool:
    runs = _RUNS.findall(token)
    shape = "".join("D" if run[0].isdigit() else "L" for run in runs)
    letters = sum(len(run) for run in runs if not run[0].isdigit())
    digits = len(token) - letters - len(re.findall(r"[ -]", token))
    if not 5 <= letters + digits <= 10 or digits < 2:
        return False
    words = [run for run in runs if not run[0].isdigit()]
    if any(len(word) >= 3 and word in _TECHNICAL_WORDS for word in words):
        return False
    if shape in _STRONG_SHAPES:  # unless every letter run is a unit or the like: "MB 512 MB"
        return not all(word in _TECHNICAL_WORDS for word in words)
    if shape not in _WEAK_SHAPES or any(word in _TECHNICAL_WORDS for word in words):
        return False
    return len(runs) > 2 or (letters >= 2 and digits >= 3)


class PlateMasker:
    """Finds plate-shaped tokens in text and masks them."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    def _mask(self, token: str) -> str:
        if self._key is not None:
            glyphs = to_latin(re.sub(r"[ -]", "", token))
            return f"[plate:{hmac.new(self._key, glyphs.encode(), hashlib.sha256).hexdigest()[:6]}]"
        return re.sub(r"\d", "*", token)

    def mask(self, text: str) -> str:
        protected = [m.span() for m in _PROTECTED.finditer(text)]
        spans: list[tuple[int, int]] = []
        position = 0
        while match := _PLATE_SHAPED.search(text, position):
            if _looks_like_plate(match.group()):
                spans.append(match.span())
                position = match.end()
            else:  # a longer chain was no plate; a plate may still start at one of its later runs
                position = match.start() + 1
        spans.extend(m.span() for m in _RU_LOWER.finditer(text))
        spans = [s for s in spans if not any(s[0] < p[1] and p[0] < s[1] for p in protected)]
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in sorted(set(spans)):
            if start < last:  # overlapping finds of the two patterns: the first one masked it
                continue
            out.append(text[last:start])
            out.append(self._mask(text[start:end]))
            last = end
        out.append(text[last:])
        return "".join(out)


# Attributes every LogRecord has; anything else came in through `extra=` and is masked too.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class PlateMaskFilter(logging.Filter):
    """Masks plates in a record's message, arguments, `extra` strings, exception and stack text.

    The message is formatted here (msg % args) and stored masked with no args, so a handler
    cannot format the plain arguments again.
    """

    def __init__(self, key: bytes | None = None) -> None:
        super().__init__()
        self.masker = PlateMasker(key)

    def filter(self, record: logging.LogRecord) -> bool:
        mask = self.masker.mask
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: mask the parts; logging reports the error itself
            record.msg = mask(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        else:
            record.msg = mask(message)
            record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, mask(value))
        return True


def install_log_masking(logger: logging.Logger | None = None, key: bytes | None = None) -> PlateMaskFilter:
    """Mask plates in everything `logger` (default: the root logger) emits.

    A logger's own filters do not see records propagated from child loggers, so the filter goes
    on the logger and on each of its handlers. Handlers added later need `handler.addFilter(...)`
    with the returned filter. Installing twice replaces the earlier filter.
    """
    target = logger or logging.getLogger()
    mask_filter = PlateMaskFilter(key)
    holders: Iterable[logging.Filterer] = [target, *target.handlers]
    for holder in holders:
        for old in [f for f in holder.filters if isinstance(f, PlateMaskFilter)]:
            holder.removeFilter(old)
        holder.addFilter(mask_filter)
    return mask_filter
