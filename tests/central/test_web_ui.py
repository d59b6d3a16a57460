"""The operator web UI end to end in headless Chromium: sign in, search, crop, detail, live feed, devices."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from cdp import Browser, find_chromium
from central_app import PASSWORD, make_central_app
from central_factories import event_message, make_event, status_message
from fastapi import FastAPI
from sqlalchemy import Engine

from central.ingest.decode import decode
from central.ingest.writer import IngestWriter

pytestmark = pytest.mark.browser
CHROMIUM = find_chromium()


@pytest.fixture
def server(sqlite_engine: Engine, tmp_path: Path, password_hash: str) -> Iterator[tuple[str, FastAPI]]:
    """The real app under uvicorn (HTTP and WebSocket) on a free local port."""
    app = make_central_app(sqlite_engine, tmp_path / "data", password_hash)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    uv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    driver = Browser(CHROMIUM)
    yield driver
    driver.close()


def _ingest(app: FastAPI, *messages: tuple[str, bytes]) -> None:
    """What MqttIngest does after the broker: write, then feed the live hub."""
    ctx = app.state.ctx
    result = IngestWriter(ctx.engine).write([decode(t, p, datetime.now(UTC)) for t, p in messages])
    ctx.hub.publish(result.stored)


def test_operator_workflow(server: tuple[str, FastAPI], browser: Browser) -> None:
    url, app = server
    now = datetime.now(UTC)
    _ingest(
        app,
        status_message("online", site="north", device="gate1"),
        event_message(make_event("А123ВС77", site="north", device="gate1", at=now - timedelta(minutes=5))),
        event_message(make_event("А123ВС77", site="north", device="gate1", at=now - timedelta(minutes=1))),
        event_message(make_event("Х999ХХ50", site="north", device="gate1", at=now)),
    )
    browser.navigate(url + "/")
    browser.wait_for("!document.querySelector('#view-login').hidden")

    # Wrong password first: the form says so.
    browser.evaluate("""document.querySelector('#username').value = 'victor';
        document.querySelector('#password').value = 'wrong password!';
        document.querySelector('#login-form').requestSubmit()""")
    browser.wait_for("document.querySelector('#login-error').textContent.includes('wrong')")
    browser.evaluate(f"""document.querySelector('#password').value = {json.dumps(PASSWORD)};
        document.querySelector('#login-form').requestSubmit()""")
    browser.wait_for("!document.querySelector('#nav').hidden")
    assert browser.evaluate("document.querySelector('#whoami').textContent") == "victor (viewer)"

    # Search in Latin for a plate stored in Cyrillic: both passages, newest first, with crops.
    browser.evaluate("""document.querySelector('#plate').value = 'a123bc77';
        document.querySelector('#search-form').requestSubmit()""")
    browser.wait_for("document.querySelectorAll('#results tbody tr[data-event-id]').length === 2")
    browser.wait_for(
        "[...document.querySelectorAll('#results tbody img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    plates = browser.evaluate(
        "[...document.querySelectorAll('#results tbody td.plate')].map(td => td.textContent)"
    )
    assert plates == ["А123ВС77", "А123ВС77"]

    # Event detail.
    browser.evaluate("document.querySelector('#results tbody tr[data-event-id]').click()")
    browser.wait_for("!document.querySelector('#detail').hidden")
    detail = browser.evaluate("document.querySelector('#detail').textContent")
    assert "А123ВС77" in detail and "gate1" in detail and "A123BC77" in detail

    # Fuzzy search with OCR look-alikes finds the other plate.
    browser.evaluate("""document.querySelector('#plate').value = 'X999XX5O';
        document.querySelector('#match').value = 'fuzzy';
        document.querySelector('#search-form').requestSubmit()""")
    browser.wait_for("""[...document.querySelectorAll('#results tbody td.plate')].map(td => td.textContent)
        .join() === 'Х999ХХ50'""")

    # Live feed: follow site north, then a new event arrives.
    browser.evaluate("document.querySelector('nav [data-view=live]').click()")
    browser.evaluate("""document.querySelector('#live-site').value = 'north';
        document.querySelector('#live-form').requestSubmit()""")
    browser.wait_for("document.querySelector('#live-state').textContent === 'following'")
    _ingest(app, event_message(make_event("О777ОО99", site="north", device="gate1")))
    _ingest(app, event_message(make_event("В001ВВ01", site="south", device="yard1")))
    browser.wait_for("document.querySelectorAll('#live-list li').length >= 1")
    time.sleep(0.3)
    live = browser.evaluate("[...document.querySelectorAll('#live-list li .plate')].map(s => s.textContent)")
    assert live == ["О777ОО99"]

    # Devices.
    browser.evaluate("document.querySelector('nav [data-view=devices]').click()")
    browser.wait_for("!!document.querySelector('#devices-table tr[data-device-id=gate1] .online')")
    row = browser.evaluate("document.querySelector('#devices-table tr[data-device-id=gate1]').textContent")
    assert "north" in row and "cam1" in row

    # No script errors, no CSP violations; only the deliberately failed sign-in shows up.
    assert [e for e in browser.errors if "status of 401" not in e] == []
