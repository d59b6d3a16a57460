"""Text parameters of the HTTP API and the 422 answer for the checks FastAPI cannot express.

Every text a client can send is held to a pattern: PostgreSQL text cannot hold NUL, and control
characters have no business in ids, names or plates (they forge log lines and audit entries).
The patterns are in the OpenAPI schema, so clients and fuzzers see the rule; a request that breaks
one gets FastAPI's own 422 body. Checks made in handler code answer with the same body shape
(`unprocessable`), so every 422 matches the schema's HTTPValidationError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError

# Site, device and channel ids: what devices may use (1-64 of A-Z a-z 0-9 _ . -).
from common.config import ID_PATTERN

# No C0 control character and no DEL, anywhere in the value.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

DeviceIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)]
UsernameQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE)]


def printable(max_length: int, description: str | None = None) -> Any:
    """Query() for optional free text of at most `max_length` printable characters."""
    return Query(max_length=max_length, pattern=PRINTABLE, description=description)


def has_control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def unprocessable(loc: Sequence[str | int], message: str, value: Any = None) -> RequestValidationError:
    """A 422 with FastAPI's body ({"detail": [{"loc", "msg", "type", "input"}]}), to raise."""
    return RequestValidationError(
        [{"loc": tuple(loc), "msg": message, "type": "value_error", "input": value}]
    )


_LINE_BREAKS_AND_TABS = str.maketrans("\t\n\r", "   ")


def control_characters_in(value: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where in a JSON value (keys and strings) the first control character is, other than tab,
    newline and carriage return; None if there is none."""
    if isinstance(value, str):
        return loc if has_control_characters(value.translate(_LINE_BREAKS_AND_TABS)) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if has_control_characters(str(key)):
                return (*loc, str(key).encode("unicode_escape").decode())
            found = control_characters_in(item, (*loc, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = control_characters_in(item, (*loc, index))
            if found is not None:
                return found
    return None
