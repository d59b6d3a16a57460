"""The watchlist and gate-decision screens in headless Chromium: an operator builds a list, a viewer
cannot edit, decisions from the boxes are shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cdp import Browser
from central_app import PASSWORD
from fastapi import FastAPI
from test_web_ui import _ingest, browser, server  # noqa: F401  (fixtures)

from common.gates import GateDecision, OutputResult
from common.plates.reading import PlateReading
from common.topics import device_topic

pytestmark = pytest.mark.browser


def _sign_in(driver: Browser, url: str, username: str) -> None:
    driver.navigate(url + "/")
    driver.wait_for("!document.querySelector('#view-login').hidden")
    driver.evaluate(f"""document.querySelector('#username').value = {json.dumps(username)};
        document.querySelector('#password').value = {json.dumps(PASSWORD)};
        document.querySelector('#login-form').requestSubmit()""")
    driver.wait_for("!document.querySelector('#nav').hidden")


def test_operator_builds_a_list_and_sees_decisions(server: tuple[str, FastAPI], browser: Browser) -> None:  # noqa: F811
    url, app = server
    _sign_in(browser, url, "oscar")
    browser.evaluate("document.querySelector('nav [data-view=watchlists]').click()")
    browser.wait_for(
        "!document.querySelector('#view-watchlists').hidden && !document.querySelector('#wl-create').hidden"
    )
    browser.evaluate("""document.querySelector('#wl-id').value = 'staff';
        document.querySelector('#wl-name').value = 'Staff';
        document.querySelector('#wl-create').requestSubmit()""")
    browser.wait_for("!!document.querySelector('#wl-table tr[data-list-id=staff]')")
    browser.wait_for("!document.querySelector('#wl-detail').hidden")
    browser.evaluate("""document.querySelector('#wl-plate').value = 'а 123 вс 77';
        document.querySelector('#wl-add').requestSubmit()""")
    browser.wait_for("!!document.querySelector('#wl-entries tr[data-plate=A123BC77]')")
    csv = json.dumps("plate,match,weekdays,hours\nB777OP99,fuzzy,1-5,08:00-18:00\n")
    browser.evaluate(f"""document.querySelector('#wl-csv').value = {csv};
        document.querySelector('#wl-mode').value = 'append';
        document.querySelector('#wl-import').requestSubmit()""")
    browser.wait_for("!!document.querySelector('#wl-entries tr[data-plate=B777OP99]')")
    valid = browser.evaluate("document.querySelector('#wl-entries tr[data-plate=B777OP99]').textContent")
    assert "days 1,2,3,4,5; 08:00-18:00" in valid and "fuzzy" in valid
    browser.evaluate("""document.querySelector('#wl-csv').value = 'plate\\n--\\n';
        document.querySelector('#wl-import').requestSubmit()""")
    browser.wait_for("document.querySelector('#wl-error').textContent.includes('line 2')")
    browser.evaluate("""document.querySelector('#wl-assignments').value = 'north/barrier';
        document.querySelector('#wl-assign').requestSubmit()""")
    browser.wait_for(
        "document.querySelector('#wl-table tr[data-list-id=staff]').textContent.includes('north/barrier')"
    )

    now = datetime.now(UTC)
    decision = GateDecision(
        site_id="north",
        device_id="gate1",
        gate_id="barrier",
        channel_id="cam1",
        track_id=1,
        plate=PlateReading(text="А123ВС77", latin="A123BC77", confidence=0.95, valid=True),
        action="open",
        rule="allow-list",
        alert=False,
        watchlist_version=1,
        captured_at=now,
        decided_at=now,
        latency_ms=87.4,
        outputs=(OutputResult(name="relay", type="http", ok=True, attempts=1, sent_at=now),),
    )
    _ingest(app, (device_topic("north", "gate1", "decisions"), decision.to_json()))
    browser.evaluate("document.querySelector('nav [data-view=decisions]').click()")
    browser.wait_for("document.querySelectorAll('#decisions-table tbody tr').length === 1")
    row = browser.evaluate("document.querySelector('#decisions-table tbody tr').textContent")
    assert "А123ВС77" in row and "allow-list" in row and "87 ms" in row and "ok" in row
    # Only the deliberately malformed import shows up.
    assert [e for e in browser.errors if "status of 422" not in e] == []


def test_a_viewer_sees_lists_without_edit_controls(server: tuple[str, FastAPI], browser: Browser) -> None:  # noqa: F811
    url, _app = server
    _sign_in(browser, url, "victor")
    browser.evaluate("document.querySelector('nav [data-view=watchlists]').click()")
    browser.wait_for("!document.querySelector('#view-watchlists').hidden")
    browser.wait_for("document.querySelector('#wl-create').hidden")
    assert browser.errors == []
