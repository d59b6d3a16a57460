"""The operator console end to end in headless Chromium: every view, with assertions on what it shows.

Each view is also photographed; set ANPR_SCREENSHOTS_DIR=docs/screenshots to refresh the pictures
docs/central.md shows (otherwise they go to the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from cdp import Browser, find_chromium
from central_app import PASSWORD, make_central_app
from central_factories import effective_message, event_message, make_event, stats_message, status_message
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.db.models import DeadLetter
from central.ingest.decode import decode
from central.ingest.writer import IngestWriter
from provisioning.local_broker import free_port

pytestmark = pytest.mark.browser
CHROMIUM = find_chromium()
ZONE = "Europe/Moscow"  # the browser's zone in these tests: UTC+3 all year, so times are checkable


@pytest.fixture
def server(sqlite_engine: Engine, tmp_path: Path, password_hash: str) -> Iterator[tuple[str, FastAPI]]:
    yield from _serve(make_central_app(sqlite_engine, tmp_path / "data", password_hash))


@pytest.fixture
def short_token_server(
    sqlite_engine: Engine, tmp_path: Path, password_hash: str
) -> Iterator[tuple[str, FastAPI]]:
    """Tokens live one minute, so the UI refreshes its token within seconds."""
    yield from _serve(make_central_app(sqlite_engine, tmp_path / "data", password_hash, token_lifetime_min=1))


def _serve(app: FastAPI) -> Iterator[tuple[str, FastAPI]]:
    """The real app under uvicorn (HTTP and WebSocket) on a free local port."""
    port = free_port()
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
    driver.send("Page.enable")
    driver.send("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    yield driver
    driver.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("ANPR_SCREENSHOTS_DIR") or tmp_path / "screenshots")


def _ingest(app: FastAPI, *messages: tuple[str, bytes]) -> None:
    """What MqttIngest does after the broker: write, then feed the live hub."""
    ctx = app.state.ctx
    result = IngestWriter(ctx.engine).write([decode(t, p, datetime.now(UTC)) for t, p in messages])
    ctx.hub.publish(result.stored)


def plate_crop(plate: str) -> bytes:
    """A plate-like JPEG (black Latin text on white with a rim), so the pictures look like crops."""
    import cv2
    import numpy as np

    from common.plates.alphabet import to_latin

    image = np.full((52, 240, 3), 250, np.uint8)
    cv2.rectangle(image, (1, 1), (238, 50), (20, 20, 20), 2)
    cv2.putText(image, to_latin(plate), (12, 38), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (15, 15, 15), 3, cv2.LINE_AA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return jpeg.tobytes()


def _fleet(app: FastAPI, now: datetime) -> None:
    """Two sites: a healthy gate with two cameras, a yard box gone offline; a day of traffic."""
    channels = {
        "cam1": {"fps": 12.5, "frames": 54_000, "events": 40, "online": True, "dropped": 120},
        "cam2": {"fps": 11.8, "frames": 51_000, "events": 12, "online": True, "dropped": 0},
    }
    models = {"detector": "det-2", "reader": "ocr-3"}
    messages = [
        status_message("online", site="north", device="gate1", models=models),
        stats_message(
            site="north", device="gate1", channels=channels, outbox_pending=3,
            disk_free_bytes=40 * 2**30, disk_total_bytes=64 * 2**30,
        ),
        status_message("offline", site="south", device="yard1"),
    ]  # fmt: skip
    regulars = ["А123ВС77", "Х999ХХ50", "О777ОО99", "К001КК197"]
    for i in range(36):
        plate = regulars[i % 4] if i % 3 else f"В{100 + i:03d}ВВ01"
        site, device = ("south", "yard1") if i % 5 == 0 else ("north", "gate1")
        channel = "cam2" if i % 4 == 3 and device == "gate1" else "cam1"
        at = now - timedelta(hours=23) + timedelta(minutes=37 * i)
        confidence = 0.6 + (i % 4) / 10
        event = make_event(
            plate,
            site=site,
            device=device,
            channel=channel,
            at=at,
            confidence=confidence,
            crop=plate_crop(plate),
        )
        messages.append(event_message(event))
    _ingest(app, *messages)
    with Session(app.state.ctx.engine) as session, session.begin():
        session.add(
            DeadLetter(
                received_at=now, topic="anpr/v1/north/gate1/events", kind="invalid",
                reason="plate.text: too long", payload=b"{}",
            )
        )  # fmt: skip


def _sign_in(browser: Browser, user: str, password: str = PASSWORD) -> None:
    browser.evaluate(f"""document.querySelector('#username').value = {json.dumps(user)};
        document.querySelector('#password').value = {json.dumps(password)};
        document.querySelector('#login-form').requestSubmit()""")


def _text(browser: Browser, selector: str) -> str | None:
    return browser.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent")


def _wait_text(browser: Browser, selector: str, text: str) -> None:
    browser.wait_for(f"document.querySelector({json.dumps(selector)})?.textContent === {json.dumps(text)}")


def _choose(browser: Browser, selector: str, value: str) -> None:
    """Set a form field as a user would, change event included."""
    browser.evaluate(f"""{{ const field = document.querySelector({json.dumps(selector)});
        field.value = {json.dumps(value)}; field.dispatchEvent(new Event('change', {{bubbles: true}})) }}""")


def _submit(browser: Browser, form: str) -> None:
    browser.evaluate(f"document.querySelector({json.dumps(form)}).requestSubmit()")


def _texts(browser: Browser, selector: str) -> list[str]:
    return browser.evaluate(f"[...document.querySelectorAll({json.dumps(selector)})].map(n => n.textContent)")


def test_console_views(server: tuple[str, FastAPI], browser: Browser, shots: Path, tmp_path: Path) -> None:
    url, app = server
    now = datetime.now(UTC).replace(microsecond=0)
    _fleet(app, now)
    # gate1 reports the config it runs (camera positions included); an operator pushes a change.
    cameras = [
        {"id": "cam1", "source": "rtsp://10.0.0.5/in", "lat": 55.7512, "lon": 37.6184},
        {"id": "cam2", "source": "rtsp://10.0.0.6/out"},
    ]
    _ingest(app, effective_message(3, site="north", device="gate1", cameras=cameras))
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "oscar", "password": PASSWORD}).json()
        operator = {"Authorization": f"Bearer {token['access_token']}"}
        patch = {"tracking": {"min_reads": 4}}
        pushed = client.patch("/api/v1/devices/gate1/config", json=patch, headers=operator)
        assert pushed.status_code == 200, pushed.text

    # Sign-in page: the navigation is hidden (a CSS display rule must not beat the hidden attribute).
    browser.navigate(url + "/")
    browser.wait_for("document.body.dataset.ready === 'true'")
    assert browser.evaluate("getComputedStyle(document.querySelector('#nav')).display") == "none"
    assert browser.evaluate("document.querySelector('#view-login').hidden") is False
    browser.screenshot(shots / "login.png")
    _sign_in(browser, "victor", "wrong password!")
    browser.wait_for("document.querySelector('#login-error').textContent.includes('wrong')")
    _sign_in(browser, "victor")
    browser.wait_for("getComputedStyle(document.querySelector('#nav')).display === 'flex'")
    assert browser.evaluate("document.querySelector('#whoami').textContent") == "victor (viewer)"
    assert browser.evaluate("document.querySelector('#nav-admin').hidden") is True  # not for viewers

    # Dashboard (the landing view): a line per site, camera figures, busiest plates, attention.
    browser.wait_for("document.querySelectorAll('#dash-chart polyline').length === 2")
    assert browser.evaluate("document.querySelector('#dash-chart figure').dataset.total") == "36"
    assert sorted(_texts(browser, "#dash-chart .legend li")) == ["north", "south"]
    cameras = _texts(browser, "#dash-cameras tbody tr td:first-child")
    assert cameras == ["north / gate1 / cam1", "north / gate1 / cam2", "south / yard1 / cam1"]
    busiest = _texts(browser, "#dash-busiest tbody td:first-child")
    assert len(busiest) == 10 and set(busiest[:4]) == {"А123ВС77", "Х999ХХ50", "О777ОО99", "К001КК197"}
    repeats = _texts(browser, "#dash-repeats tbody td:first-child")
    assert set(repeats) == {"А123ВС77", "Х999ХХ50", "О777ОО99", "К001КК197"}  # each seen 6 times
    attention = _texts(browser, "#dash-attention li")
    assert len(attention) == 1 and "yard1" in attention[0] and "offline" in attention[0]
    browser.screenshot(shots / "dashboard.png")
    _choose(browser, "#dash-split", "camera")
    browser.wait_for("document.querySelectorAll('#dash-chart polyline').length === 3")

    # Search loads the newest events on opening, counts them, and shows times in the chosen zone.
    browser.evaluate("location.hash = 'search'")
    browser.wait_for("document.querySelectorAll('#results tbody tr[data-event-id]').length === 36")
    assert browser.evaluate("document.querySelector('#result-count').textContent") == "36 events"
    browser.wait_for(
        "[...document.querySelectorAll('#results tbody img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    newest = now - timedelta(hours=23) + timedelta(minutes=37 * 35)
    first_time, time_header = "#results tbody tr td:nth-child(3)", "#results thead th:nth-child(3)"
    assert _text(browser, first_time) == newest.strftime("%Y-%m-%d %H:%M:%S")  # UTC is the default zone
    assert _text(browser, time_header) == "Captured (UTC)"
    _choose(browser, "#tz", ZONE)
    _wait_text(browser, time_header, f"Captured ({ZONE})")
    _wait_text(browser, first_time, (newest + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"))
    # From is read as Moscow wall time too: from the 30th event's minute on, six events remain.
    since = now - timedelta(hours=23) + timedelta(minutes=37 * 30)
    wall = (since + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    _choose(browser, "#f-since", wall)
    _submit(browser, "#search-form")
    _wait_text(browser, "#result-count", "6 events")
    _choose(browser, "#f-since", "")

    # Site and camera are pick-lists from the API; choosing a site narrows the cameras.
    assert _texts(browser, "#f-site option")[1:] == ["north", "south"]
    _choose(browser, "#f-site", "south")
    assert _texts(browser, "#f-camera option")[1:] == ["yard1 / cam1"]
    _submit(browser, "#search-form")
    _wait_text(browser, "#result-count", "8 events")
    _choose(browser, "#f-site", "")

    # A swapped pair of characters is one edit: A132BC77 finds А123ВС77.
    browser.evaluate("""document.querySelector('#plate').value = 'A132BC77';
        document.querySelector('#match').value = 'fuzzy';
        document.querySelector('#search-form').requestSubmit()""")
    _wait_text(browser, "#result-count", "6 events")
    assert set(_texts(browser, "#results tbody td.plate")) == {"А123ВС77"}
    browser.evaluate("document.querySelector('#results tbody tr[data-event-id]').click()")
    browser.wait_for("!document.querySelector('#detail').hidden && !!document.querySelector('#detail img')")
    detail = browser.evaluate("document.querySelector('#detail').textContent")
    assert "A123BC77" in detail and "det-1 / ocr-1" in detail
    browser.screenshot(shots / "search.png")

    # Export what is on screen: the CSV and the ZIP with crops arrive as downloads.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.evaluate("document.querySelector('#export-csv').click()")
    browser.evaluate("document.querySelector('#export-zip').click()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and {p.name for p in downloads.iterdir()} != {
        "anpr-events.csv",
        "anpr-events.zip",
    }:
        time.sleep(0.1)
    rows = (downloads / "anpr-events.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 7 and rows[0].startswith("event_id,captured_at,plate_text")
    with zipfile.ZipFile(downloads / "anpr-events.zip") as archive:
        crops = [n for n in archive.namelist() if n.startswith("crops/")]
    assert len(crops) == 6 and all("A123BC77" in n for n in crops)

    # Live feed with crops: only the followed site's events arrive.
    browser.evaluate("location.hash = 'live'")
    browser.wait_for("document.querySelectorAll('#live-site option').length === 3")
    browser.evaluate("""document.querySelector('#live-site').value = 'north';
        document.querySelector('#live-form').requestSubmit()""")
    browser.wait_for("document.querySelector('#live-state').dataset.state === 'following'")
    _ingest(
        app,
        event_message(
            make_event("М555ММ77", site="north", device="gate1", at=now, crop=plate_crop("М555ММ77"))
        ),
    )
    _ingest(app, event_message(make_event("В001ВВ01", site="south", device="yard1")))
    browser.wait_for("!!document.querySelector('#live-list li img')")
    time.sleep(0.3)
    assert _texts(browser, "#live-list li .plate") == ["М555ММ77"]
    browser.screenshot(shots / "live.png")

    # Devices: health per box; offline is a state of its own, not "online" in red.
    browser.evaluate("location.hash = 'devices'")
    browser.wait_for("!!document.querySelector('#devices-table tr[data-device-id=yard1]')")
    assert _text(browser, "#devices-table tr[data-device-id=yard1] .state") == "offline"
    gate = _text(browser, "#devices-table tr[data-device-id=gate1]") or ""
    assert "online" in gate and "0.1.0" in gate and "cam1 12.5 fps" in gate and "40.0 GiB (63 %)" in gate
    browser.screenshot(shots / "devices.png")
    browser.evaluate("document.querySelector('#devices-table tr[data-device-id=gate1] a').click()")
    browser.wait_for("!!document.querySelector('#device-config')")
    channels = _texts(browser, "#device-channels tbody tr")
    assert len(channels) == 2 and "12.5" in channels[0] and "120" in channels[0]
    facts = browser.evaluate("document.querySelector('#device-detail').textContent")
    assert "detector det-2, reader ocr-3" in facts
    shown_config = json.loads(browser.evaluate("document.querySelector('#device-config').textContent"))
    assert shown_config["cameras"][0]["lat"] == 55.7512 and shown_config["device_id"] == "gate1"
    # A viewer reads the config and the pushes but gets no editor.
    assert browser.evaluate("document.querySelector('#config-editor')") is None
    pushed_row = _texts(browser, "#config-history tbody tr[data-version='4'] td")
    assert pushed_row[:2] == ["v4", "oscar"] and pushed_row[3] == "tracking.min_reads = 4"
    assert pushed_row[4].startswith("pending")
    browser.screenshot(shots / "device.png")

    # Logout revokes the token: a copy of it is refused afterwards.
    old_token = browser.evaluate("sessionStorage.getItem('anpr.token')")
    browser.evaluate("document.querySelector('#logout').click()")
    browser.wait_for("!document.querySelector('#view-login').hidden")
    status = browser.evaluate(
        f"fetch('/api/v1/auth/me', {{headers: {{Authorization: 'Bearer {old_token}'}}}}).then(r => r.status)"
    )
    assert status == 401

    # Administration, as an admin: create a user (one-time password), disable, audit, dead letters.
    _sign_in(browser, "alice")
    browser.wait_for("!document.querySelector('#nav-admin').hidden")
    browser.evaluate("location.hash = 'admin/users'")
    browser.wait_for("!!document.querySelector('#users-table tr[data-username=victor]')")
    # A refused name: the 422's list-shaped detail is shown as "field: message".
    browser.evaluate("""document.querySelector('#new-username').value = 'no spaces allowed';
        document.querySelector('#user-form').requestSubmit()""")
    browser.wait_for("document.querySelector('#admin-error').textContent !== ''")
    refused = "username: username must be 1-64 letters, digits, '_', '.', '@' or '-'"
    assert _text(browser, "#admin-error") == refused
    browser.evaluate("""document.querySelector('#new-username').value = 'nina';
        document.querySelector('#new-role').value = 'operator';
        document.querySelector('#user-form').requestSubmit()""")
    browser.wait_for("!!document.querySelector('#users-table tr[data-username=nina]')")
    one_time = browser.evaluate("document.querySelector('#one-time-password').textContent")
    assert len(one_time) >= 16
    nina = "#users-table tr[data-username=nina]"
    browser.evaluate(f"document.querySelector('{nina} [data-action=toggle]').click()")
    _wait_text(browser, f"{nina} .state", "disabled")
    browser.screenshot(shots / "admin-users.png")
    browser.evaluate("location.hash = 'admin/audit'")
    browser.wait_for("document.querySelectorAll('#audit-table tbody tr').length > 3")
    browser.evaluate("""document.querySelector('#audit-action').value = 'user_create';
        document.querySelector('#audit-form').requestSubmit()""")
    browser.wait_for("document.querySelectorAll('#audit-table tbody tr').length === 1")
    assert "nina" in browser.evaluate("document.querySelector('#audit-table tbody tr').textContent")
    _choose(browser, "#audit-action", "")
    _submit(browser, "#audit-form")
    browser.wait_for("document.querySelectorAll('#audit-table tbody tr').length > 3")
    browser.screenshot(shots / "admin-audit.png")
    browser.evaluate("location.hash = 'admin/dead-letters'")
    browser.wait_for("document.querySelectorAll('#dead-table tbody tr').length === 1")
    assert "plate.text: too long" in (_text(browser, "#dead-table tbody") or "")

    # Russian, chosen by this user and kept on the server: every label changes.
    browser.evaluate("location.hash = 'dashboard'")
    browser.wait_for("document.querySelectorAll('#dash-chart polyline').length >= 1")
    _choose(browser, "#lang", "ru")
    browser.wait_for("document.querySelector('nav [data-view=search]').textContent === 'Поиск'")
    browser.wait_for("document.querySelector('#dash-attention li')?.textContent.includes('не в сети')")
    assert _text(browser, "#dash-busiest thead th") == "Номер"
    browser.screenshot(shots / "dashboard-ru.png")
    bearer = "{headers: {Authorization: 'Bearer ' + sessionStorage.getItem('anpr.token')}}"
    browser.wait_for(f"fetch('/api/v1/auth/me', {bearer}).then(r => r.json()).then(m => m.language === 'ru')")

    # No script errors and no CSP violations; only the deliberately failed sign-in, the revoked
    # token and the refused user name show up.
    expected = ("status of 401", "status of 422")
    assert [e for e in browser.errors if not any(text in e for text in expected)] == []


def test_the_session_slides_and_survives_a_reload(
    short_token_server: tuple[str, FastAPI], browser: Browser
) -> None:
    url, _app = short_token_server
    browser.navigate(url + "/")
    browser.wait_for("document.body.dataset.ready === 'true'")
    _sign_in(browser, "oscar")
    browser.wait_for("!document.querySelector('#nav').hidden")
    first = browser.evaluate("sessionStorage.getItem('anpr.token')")
    # A one-minute token is refreshed before it runs out (the UI keeps a minute's margin, at least 5 s).
    browser.wait_for(f"sessionStorage.getItem('anpr.token') !== {json.dumps(first)}", timeout=20)
    status = "fetch('/api/v1/auth/me', {headers: {Authorization: 'Bearer ' + %s}}).then(r => r.status)"
    assert browser.evaluate(status % json.dumps(first)) == 401  # the old token was revoked
    assert browser.evaluate(status % "sessionStorage.getItem('anpr.token')") == 200
    # A reload keeps the session (the token is in this tab's sessionStorage) and opens the dashboard.
    browser.navigate(url + "/#devices")
    browser.wait_for("document.body.dataset.ready === 'true'")
    browser.wait_for("!document.querySelector('#view-devices').hidden")
    assert _text(browser, "#whoami") == "oscar (operator)"
    assert [e for e in browser.errors if "status of 401" not in e] == []


def test_a_new_user_replaces_the_one_time_password(server: tuple[str, FastAPI], browser: Browser) -> None:
    url, app = server
    with TestClient(app) as client:
        admin = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD}).json()
        created = client.post(
            "/api/v1/users",
            json={"username": "pavel", "role": "viewer"},
            headers={"Authorization": f"Bearer {admin['access_token']}"},
        )
        one_time = created.json()["one_time_password"]
    browser.navigate(url + "/")
    browser.wait_for("document.body.dataset.ready === 'true'")
    _sign_in(browser, "pavel", one_time)
    browser.wait_for("!document.querySelector('#nav').hidden")
    browser.evaluate("document.querySelector('#whoami').click()")
    browser.wait_for("!document.querySelector('#view-password').hidden")
    fill = """document.querySelector('#current-password').value = %s;
        document.querySelector('#new-password').value = %s;
        document.querySelector('#repeat-password').value = %s;
        document.querySelector('#password-form').requestSubmit()"""
    browser.evaluate(
        fill % (json.dumps(one_time), json.dumps("pavel's own secret"), json.dumps("a different one"))
    )
    _wait_text(browser, "#password-error", "the two new passwords differ")
    browser.evaluate(
        fill % (json.dumps(one_time), json.dumps("pavel's own secret"), json.dumps("pavel's own secret"))
    )
    browser.wait_for("!document.querySelector('#password-done').hidden")
    # Still signed in with the token the change answered with: the next view loads.
    browser.evaluate("location.hash = 'devices'")
    browser.wait_for("!document.querySelector('#view-devices').hidden")
    assert browser.evaluate("document.querySelector('#view-login').hidden") is True
    with TestClient(app) as client:
        old = client.post("/api/v1/auth/token", data={"username": "pavel", "password": one_time})
        new = client.post("/api/v1/auth/token", data={"username": "pavel", "password": "pavel's own secret"})
    assert (old.status_code, new.status_code) == (401, 200)
    assert [e for e in browser.errors if "status of 401" not in e] == []
