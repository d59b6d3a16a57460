"""Plates are personal data: log output masks them and leaves everything else readable."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from common.logmask import PlateMasker, PlateMaskFilter, install_log_masking

MASKED_LINES = [
    (
        "event 0190c3a2-7b1e-7c3d-9f00-123456789abc plate А123ВС77 conf 0.93 at 2026-11-28T09:53:29.123Z",
        "event 0190c3a2-7b1e-7c3d-9f00-123456789abc plate А***ВС** conf 0.93 at 2026-11-28T09:53:29.123Z",
    ),
    ("read plate 'A 123 BC 777' on cam1", "read plate 'A *** BC ***' on cam1"),
    ("search plate=a123bc77 took 3 ms", "search plate=a***bc** took 3 ms"),
    ("GET /api/events?plate=AB-123-CD HTTP/1.1 200", "GET /api/events?plate=AB-***-CD HTTP/1.1 200"),
    ("saved /var/lib/anpr/crops/А123ВС77_crop.jpg", "saved /var/lib/anpr/crops/А***ВС**_crop.jpg"),
    ("taxi АВ 123 77 and trailer АВ 1234 77", "taxi АВ *** ** and trailer АВ **** **"),
    ("UA АА1234ВВ, KZ 123ABC02, BY 1234 AB-7", "UA АА****ВВ, KZ ***ABC**, BY **** AB-*"),
    ("UK AB12 CDE, ES 1234 BCD, DE B MW 1234", "UK AB** CDE, ES **** BCD, DE B MW ****"),
    (
        "FR AM-123-BC, PL WA 12345, SE ABC 123, NL 12-ABC-3",
        "FR AM-***-BC, PL WA *****, SE ABC ***, NL **-ABC-*",
    ),
    ("GET A123BC77 then ISO 8601", "GET A***BC** then ISO 8601"),
]

UNTOUCHED_LINES = [
    "2026-11-28 09:53:29,123 INFO edge.pipeline: processed 12345 frames in 3.2 s (38.6 fps)",
    "event 550E8400-E29B-41D4-A716-446655440000 stored; id 0190c3a2-7b1e-7c3d-9f00-123456789abc",
    "connected to mqtt 192.168.10.20:8883 from 10.0.0.5, listening on 0.0.0.0:9108",
    "Sat Nov 28 09:53:29 UTC 2026 uptime 1234567 s pid=4242",
    "frame 1920x1080 H264 at 25 fps, sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f0",
    "SHA256 AES256 ISO8601 HTTP 200 GET 200 1024 MB 512 MB, 200 1024 MB, p99 12.5 ms, version 1.2.3",
    "MAC AA:BB:CC:DD:EE:FF register 0x1F3A at 09:53:29.004 on 2026-11-28",
    "camera cam1 reconnect 3/10, queue 17, dropped 0",
]


@pytest.mark.parametrize(("line", "expected"), MASKED_LINES)
def test_plates_in_log_lines_lose_their_digits(line: str, expected: str) -> None:
    assert PlateMasker().mask(line) == expected


@pytest.mark.parametrize("line", UNTOUCHED_LINES)
def test_ids_times_addresses_and_numbers_are_left_alone(line: str) -> None:
    assert PlateMasker().mask(line) == line


def test_masking_twice_changes_nothing_more() -> None:
    masker = PlateMasker()
    once = masker.mask(MASKED_LINES[0][0])
    assert masker.mask(once) == once


def test_a_keyed_mask_follows_one_plate_across_spellings_without_showing_it() -> None:
    masker = PlateMasker(key=b"k" * 32)
    line = masker.mask("entry А123ВС77, exit A 123 BC 77, other В777ОР99")
    tags = [part.split("]")[0] for part in line.split("[plate:")[1:]]
    assert len(tags) == 3 and tags[0] == tags[1] != tags[2]
    assert all(len(tag) == 6 for tag in tags)
    assert "123" not in line and "777" not in line
    assert PlateMasker(key=b"o" * 32).mask("А123ВС77") != masker.mask("А123ВС77")


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    log = logging.getLogger("test_logmask.app")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, stream
    log.removeHandler(handler)
    for existing in list(log.filters):
        log.removeFilter(existing)


def test_the_filter_masks_arguments_and_keeps_other_values(logger) -> None:
    log, stream = logger
    install_log_masking(log)
    log.info("plate %s read with confidence %.2f on %s (%d frames)", "А123ВС77", 0.934, "cam1", 12)
    assert (
        stream.getvalue()
        == "INFO test_logmask.app plate А***ВС** read with confidence 0.93 on cam1 (12 frames)\n"
    )


def test_the_filter_masks_exceptions_and_extra_fields(logger) -> None:
    log, stream = logger
    mask_filter = install_log_masking(log)
    try:
        raise ValueError("plate text 'A123BC77@' has characters no plate carries")
    except ValueError:
        log.exception("rejected")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "stored", None, None)
    record.plate = "Е777КХ199"
    mask_filter.filter(record)
    assert record.plate == "Е***КХ***"
    output = stream.getvalue()
    assert "A123BC77" not in output and "A***BC**@" in output and "Traceback" in output


def test_records_from_child_loggers_are_masked_at_the_parents_handler(logger) -> None:
    log, stream = logger
    install_log_masking(log)
    logging.getLogger("test_logmask.app.pipeline").warning("track lost for %s", "Х001ХХ99")
    assert "Х***ХХ**" in stream.getvalue() and "001" not in stream.getvalue()


def test_a_broken_format_string_keeps_its_arguments_masked() -> None:
    # logging prints the message and arguments of a record it cannot format: they must be masked.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plate %s %s", ("А123ВС77",), None)
    PlateMaskFilter().filter(record)
    assert (record.msg, record.args) == ("plate %s %s", ("А***ВС**",))


def test_installing_twice_keeps_one_filter(logger) -> None:
    log, _ = logger
    install_log_masking(log)
    second = install_log_masking(log)
    assert [f for f in log.filters if isinstance(f, PlateMaskFilter)] == [second]
    assert [f for f in log.handlers[0].filters if isinstance(f, PlateMaskFilter)] == [second]
