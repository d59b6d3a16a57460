"""The device page's config editor in headless Chromium: an operator edits the reported config,
sees the merge patch and the line diff, checks, pushes and sees the push (and later its ack) in the
history; an invalid edit names the field and pushes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cdp import Browser
from central_app import PASSWORD
from central_factories import ack_message, effective_message, status_message
from fastapi import FastAPI
from test_web_ui import _ingest, browser, server, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _sign_in(driver: Browser, url: str, username: str) -> None:
    driver.navigate(url + "/")
    driver.wait_for("!document.querySelector('#view-login').hidden")
    driver.evaluate(f"""document.querySelector('#username').value = {json.dumps(username)};
        document.querySelector('#password').value = {json.dumps(PASSWORD)};
        document.querySelector('#login-form').requestSubmit()""")
    driver.wait_for("!document.querySelector('#nav').hidden")


def _edit(driver: Browser, pattern: str, replacement: str) -> None:
    """Change the editor's text as typing would (an input event), by a regular expression."""
    driver.evaluate(f"""{{ const editor = document.querySelector('#config-editor');
        editor.value = editor.value.replace(new RegExp({json.dumps(pattern)}), {json.dumps(replacement)});
        editor.dispatchEvent(new Event('input', {{bubbles: true}})) }}""")


def _click(driver: Browser, selector: str) -> None:
    driver.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def _text(driver: Browser, selector: str) -> str:
    return str(driver.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? ''"))


def _texts(driver: Browser, selector: str) -> list[str]:
    texts: list[str] = driver.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map(n => n.textContent)"
    )
    return texts


def _history(driver: Browser) -> list[dict[str, object]]:
    """The device's pushes as the API lists them, asked with the signed-in user's token."""
    history: list[dict[str, object]] = driver.evaluate("""fetch('/api/v1/devices/gate1/config',
        {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('anpr.token')}})
        .then(r => r.json()).then(c => c.history)""")
    return history


def test_operator_edits_checks_and_pushes_a_config(
    server: tuple[str, FastAPI],  # noqa: F811
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    url, app = server
    cameras = [
        {"id": "cam1", "source": "rtsp://admin:s3cret@10.0.0.5/in"},
        {"id": "cam2", "source": "rtsp://10.0.0.6/out"},
    ]
    _ingest(
        app,
        status_message("online", site="north", device="gate1", config_version=3),
        effective_message(3, site="north", device="gate1", cameras=cameras),
    )
    _sign_in(browser, url, "oscar")
    browser.evaluate("location.hash = 'device/gate1'")
    browser.wait_for("!!document.querySelector('#config-editor')")
    shown = json.loads(browser.evaluate("document.querySelector('#config-editor').value"))
    assert shown["device_id"] == "gate1"
    assert shown["cameras"][0]["source"] == "rtsp://admin:REDACTED@10.0.0.5/in"  # the secret stays out
    assert _text(browser, "#config-patch") == "No changes."
    assert browser.evaluate("document.querySelector('#config-push').disabled") is True
    assert _text(browser, "#config-history") == "Central has pushed no configuration to this device."

    # One value edited: the merge patch names only it, the line diff shows the one line changed.
    _edit(browser, '"min_reads": 2', '"min_reads": 4')
    assert json.loads(_text(browser, "#config-patch")) == {"tracking": {"min_reads": 4}}
    removed, added = _texts(browser, "#config-diff .diff-del"), _texts(browser, "#config-diff .diff-add")
    assert [line[2:].strip().rstrip(",") for line in removed] == ['"min_reads": 2']
    assert [line[2:].strip().rstrip(",") for line in added] == ['"min_reads": 4']
    assert browser.evaluate("document.querySelector('#config-push').disabled") is False

    # Check: central validates it as a push and answers the version it would get; nothing is stored.
    _click(browser, "#config-check")
    browser.wait_for("document.querySelector('#config-status').textContent.startsWith('Valid')")
    assert _text(browser, "#config-status") == "Valid: pushed now, it would become version 4."
    assert _history(browser) == []
    browser.screenshot(shots / "device-config-editor.png")

    # Push: the page reloads with the new row in the history, pending until the device acks.
    _click(browser, "#config-push")
    browser.wait_for("!!document.querySelector('#config-history tr[data-version=\"4\"]')")
    browser.wait_for("document.querySelector('#config-status')?.textContent.startsWith('Pushed')")
    row = _texts(browser, "#config-history tr[data-version='4'] td")
    assert row[:2] == ["v4", "oscar"] and row[3] == "tracking.min_reads = 4" and row[4].startswith("pending")
    assert [(v["version"], v["patch"]) for v in _history(browser)] == [(4, {"tracking": {"min_reads": 4}})]
    assert _text(browser, "#config-patch") == "No changes."  # the editor starts again from the report

    # The device rejects it; the page shows the reason.
    reason = "camera cam2 unreachable"
    _ingest(app, ack_message(4, accepted=False, site="north", device="gate1", reason=reason))
    browser.evaluate("location.hash = 'devices'")
    browser.wait_for("!document.querySelector('#view-devices').hidden")
    browser.evaluate("location.hash = 'device/gate1'")
    pushed = "#config-history tr[data-version='4']"
    browser.wait_for(f"document.querySelector({json.dumps(pushed)})?.dataset.ack === 'rejected'")
    assert f"rejected: {reason}" in _text(browser, pushed)

    # An invalid value: the field is named beside the editor (with its line), and nothing is pushed.
    _edit(browser, '"beam_width": 10', '"beam_width": 0')
    _click(browser, "#config-check")
    field = "#config-errors li[data-field='reader.beam_width']"
    browser.wait_for(f"!!document.querySelector({json.dumps(field)})")
    text = browser.evaluate("document.querySelector('#config-editor').value")
    line = next(number for number, content in enumerate(text.splitlines(), 1) if '"beam_width"' in content)
    assert _text(browser, field).startswith(f"reader.beam_width (line {line}): ")
    _click(browser, "#config-push")
    browser.wait_for("document.querySelector('#config-status').textContent.startsWith('Central refused')")
    browser.wait_for(f"!!document.querySelector({json.dumps(field)})")
    browser.screenshot(shots / "device-config-refused.png")
    assert [v["version"] for v in _history(browser)] == [4]

    # Text that is not JSON is caught in the browser: no patch, nothing to check or push.
    _edit(browser, "^\\{", "{{")
    assert _text(browser, "#config-errors").startswith("Not valid JSON")
    assert browser.evaluate("document.querySelector('#config-push').disabled") is True
    _click(browser, "#config-discard")
    assert _text(browser, "#config-patch") == "No changes."

    # The patch the page computes, on a wider edit: nested objects key by key, a removed key as
    # null, a list whole, an added key with its value.
    before = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f": "x", "h": {"i": 1}}
    after = {"a": 1, "b": {"c": 5, "d": 3}, "e": [1], "g": True, "h": {"i": 1}}
    patch = browser.evaluate(
        f"import('/js/jsondiff.js').then(m => m.mergePatch({json.dumps(before)}, {json.dumps(after)}))"
    )
    assert patch == {"b": {"c": 5}, "e": [1], "f": None, "g": True}

    # Only the refused check and push show up as errors in the console.
    assert [e for e in browser.errors if "status of 422" not in e] == []
