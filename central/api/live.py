"""`/ws/events`: the live feed. Authenticate with `?token=` or a first message {"token": "..."}."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from starlette.concurrency import run_in_threadpool

from central import audit, metrics
from central.api.deps import AuthError, Principal, get_ctx, principal_for_token
from central.api.params import has_control_characters
from common.plates.normalize import normalize_plate

router = APIRouter()
FIRST_MESSAGE_TIMEOUT_S = 10.0


async def _token_from(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    try:
        first = await asyncio.wait_for(websocket.receive_text(), FIRST_MESSAGE_TIMEOUT_S)
        message: Any = json.loads(first)
    except (TimeoutError, json.JSONDecodeError, WebSocketDisconnect):
        return None
    value = message.get("token") if isinstance(message, dict) else None
    return value if isinstance(value, str) else None


def _authenticate(websocket: WebSocket, token: str, filters: dict[str, str]) -> Principal:
    ctx = get_ctx(websocket)  # type: ignore[arg-type]
    with ctx.sessions() as session:
        principal = principal_for_token(ctx, session, token)
        client = websocket.client.host if websocket.client else None
        audit.record(session, principal.username, "live_feed", filters, client)
        session.commit()
        return principal


@router.websocket("/ws/events")
async def live_events(websocket: WebSocket) -> None:
    await websocket.accept()
    site = websocket.query_params.get("site") or None
    plate = websocket.query_params.get("plate") or None
    try:
        if any(has_control_characters(value) for value in (site or "", plate or "")):
            raise ValueError("control characters are not allowed in site or plate")
        prefix = normalize_plate(plate) if plate else None
    except ValueError as exc:
        await websocket.send_json({"type": "error", "detail": str(exc)})
        await websocket.close(status.WS_1008_POLICY_VIOLATION)
        return
    token = await _token_from(websocket)
    filters = {k: v for k, v in (("site", site), ("plate", plate)) if v}
    try:
        if token is None:
            raise AuthError("no token")
        principal = await run_in_threadpool(_authenticate, websocket, token, filters)
    except AuthError as exc:
        await websocket.send_json({"type": "error", "detail": f"not authenticated: {exc}"})
        await websocket.close(status.WS_1008_POLICY_VIOLATION)
        return
    ctx = get_ctx(websocket)  # type: ignore[arg-type]
    if ctx.listener is not None:
        await run_in_threadpool(ctx.listener.ensure_started)
    hub = ctx.hub
    subscriber = hub.subscribe(site, prefix)
    metrics.LIVE_CLIENTS.inc()
    try:
        await websocket.send_json({"type": "ready", "user": principal.username, "filters": filters})
        receiver = asyncio.create_task(_drain_client(websocket))
        while not receiver.done():
            getter = asyncio.create_task(subscriber.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
            else:
                getter.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        metrics.LIVE_CLIENTS.dec()


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until it goes away; returns on disconnect."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
