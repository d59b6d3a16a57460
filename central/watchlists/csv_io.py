"""Watchlist entries as CSV, for import from and export to spreadsheets.

Columns (a header row is required; only `plate` is mandatory):

    plate,match,valid_from,valid_until,weekdays,hours,note
    А123ВС77,exact,2026-01-01,2026-12-31,1-5,08:00-18:00,contractor

`weekdays` takes ISO numbers (1 = Monday) as a list or ranges ("1,3,5", "1-5") or English day
names ("mon-fri"). An import is all or nothing: every bad row is reported with its line number and
nothing is stored, so a half-imported deny list never goes to a gate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from pydantic import ValidationError

from common.watchlists import WatchlistEntry

COLUMNS = ("plate", "match", "valid_from", "valid_until", "weekdays", "hours", "note")
MAX_IMPORT_ROWS = 100_000
MAX_REPORTED_ERRORS = 50
_DAY_NAMES = {
    name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), 1)
}


class CsvImportError(ValueError):
    """The CSV cannot be imported; `errors` lists every problem as "line N: what"."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        super().__init__("; ".join(shown) + more)
        self.errors = errors


def _day(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in _DAY_NAMES and token.isalpha():
        return _DAY_NAMES[token[:3]]
    if token.isdigit() and 1 <= int(token) <= 7:
        return int(token)
    raise ValueError(f"weekday {token!r} is neither 1-7 nor a day name")


def parse_weekdays(text: str) -> tuple[int, ...]:
    days: set[int] = set()
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        if "-" in part:
            start, end = (_day(p) for p in part.split("-", 1))
            if end < start:
                raise ValueError(f"weekday range {part!r} runs backwards")
            days.update(range(start, end + 1))
        elif len(part) > 1 and part.isdigit():  # "12345"
            days.update(_day(ch) for ch in part)
        else:
            days.add(_day(part))
    return tuple(sorted(days))


def parse_csv(text: str) -> list[WatchlistEntry]:
    """Entries of a CSV document; CsvImportError naming each bad line (nothing partial)."""
    if text.startswith("\ufeff"):  # spreadsheets save UTF-8 with a byte order mark
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))  # the csv module reads line ends itself
    try:
        return _parse_rows(reader)
    except csv.Error as exc:  # a stray quote or line break the dialect cannot read
        raise CsvImportError([f"line {reader.line_num or 1}: {exc}"]) from exc


def _parse_rows(reader: csv.DictReader[str]) -> list[WatchlistEntry]:
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "plate" not in header:
        raise CsvImportError(["line 1: the header must name a `plate` column"])
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CsvImportError([f"line 1: unknown columns {unknown}; known: {list(COLUMNS)}"])
    reader.fieldnames = header
    entries: list[WatchlistEntry] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if len(entries) + len(errors) >= MAX_IMPORT_ROWS:
            errors.append(f"line {line}: more than {MAX_IMPORT_ROWS} rows")
            break
        if None in row:
            errors.append(f"line {line}: more fields than the header has")
            continue
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # blank line
        try:
            validity = {
                "valid_from": values.get("valid_from") or None,
                "valid_until": values.get("valid_until") or None,
                "weekdays": parse_weekdays(values.get("weekdays", "")),
                "hours": values.get("hours") or None,
            }
            entry = WatchlistEntry.model_validate(
                {
                    "plate": values.get("plate", ""),
                    "match": values.get("match") or "exact",
                    "validity": validity,
                    "note": values.get("note", ""),
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(f"line {line}: {where}: {first['msg']}")
            continue
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        key = (entry.plate, entry.match)
        if key in seen:
            errors.append(f"line {line}: plate {entry.plate} ({entry.match}) repeats line {seen[key]}")
            continue
        seen[key] = line
        entries.append(entry)
    if errors:
        raise CsvImportError(errors)
    return entries


def to_csv(entries: Iterable[WatchlistEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        v = entry.validity
        writer.writerow(
            [
                entry.plate,
                entry.match,
                v.valid_from.isoformat() if v.valid_from else "",
                v.valid_until.isoformat() if v.valid_until else "",
                ",".join(str(d) for d in v.weekdays),
                v.hours or "",
                _safe_cell(entry.note),
            ]
        )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    # A note starting with = + - @ would run as a formula when the export is opened in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
