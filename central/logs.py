"""Central's log masking: plates (and live-feed tokens) never reach a log in clear.

Central's own loggers get common.logmask's PlateMaskFilter. Uvicorn's access log needs more: a
search is logged as its URL, where the plate is URL-encoded (`plate=%D0%90123...`), which the
text masker cannot see, and its AccessFormatter needs the record's arguments as a tuple, which
PlateMaskFilter flattens. So request lines have their query decoded, `plate` masked and `token`
removed, argument by argument.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from common.logmask import PlateMasker, PlateMaskFilter, install_log_masking

# Query parameters whose values are secrets: dropped, not masked.
SECRET_PARAMS = frozenset({"token", "access_token", "password"})
# Query parameters that hold a plate (searched by an operator).
PLATE_PARAMS = frozenset({"plate"})


def mask_request_target(target: str, masker: PlateMasker) -> str:
    """A logged path with query: plates masked (decoded first), secrets replaced by `***`."""
    parts = urlsplit(target)
    if not parts.query:
        return masker.mask(target)
    pairs = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in SECRET_PARAMS:
            value = "***"
        elif name in PLATE_PARAMS:
            value = masker.mask(value)
            if any(char.isdigit() for char in value):  # too short or odd to look like a plate
                value = "***"
        else:
            value = masker.mask(value)
        pairs.append(f"{quote(name, safe='')}={quote(value, safe='*[]:')}")
    return urlunsplit(parts._replace(query="&".join(pairs)))


class RequestLineMaskFilter(logging.Filter):
    """Masks every string argument of a uvicorn access/ws record as a request target, keeping
    the arguments a tuple for uvicorn's formatters."""

    def __init__(self, masker: PlateMasker | None = None) -> None:
        super().__init__()
        self.masker = masker or PlateMasker()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_request_target(arg, self.masker) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install_central_log_masking() -> None:
    """Mask plates in central's logs and uvicorn's; call after uvicorn configured its loggers."""
    install_log_masking(logging.getLogger())
    request_filter = RequestLineMaskFilter()
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        for holder in (logger, *logger.handlers):
            for old in [f for f in holder.filters if isinstance(f, RequestLineMaskFilter | PlateMaskFilter)]:
                holder.removeFilter(old)
            holder.addFilter(request_filter)
    # uvicorn.error's formatter takes a plain message: tracebacks there are masked too.
    install_log_masking(logging.getLogger("uvicorn.error"))
