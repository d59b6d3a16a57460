"""The central server: FastAPI app with the API, live feed and web UI, and MQTT ingest alongside."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from central.alerts.dispatcher import AlertDispatcher
from central.api import (
    auth_routes,
    decisions,
    devices,
    events,
    export,
    geo,
    live,
    ops,
    stats,
    users,
    watchlists,
)
from central.auth.ratelimit import LoginThrottle
from central.auth.tokens import TokenService, load_or_create_secret
from central.config import CentralConfig
from central.config_push import publish_pending
from central.context import AppContext
from central.db.engine import make_engine, make_sessionmaker
from central.ingest.mqtt import MqttIngest
from central.ingest.writer import IngestWriter
from central.live import LiveHub
from central.live_notify import NotifyListener
from central.retention import Retention, RetentionWorker
from central.security_headers import SecurityHeadersMiddleware
from central.watchlists import push as watchlist_push
from central.web import mount_web

log = logging.getLogger(__name__)


def build_context(config: CentralConfig, engine: Engine | None = None) -> AppContext:
    engine = engine or make_engine(
        config.database_url, pool_size=config.database.pool_size, echo=config.database.echo
    )
    if config.auth.jwt_secret is not None:
        secret = config.auth.jwt_secret.get_secret_value().encode()
    else:
        secret = load_or_create_secret(config.jwt_secret_path)
    hub = LiveHub()
    return AppContext(
        config=config,
        engine=engine,
        sessions=make_sessionmaker(engine),
        tokens=TokenService(secret, timedelta(minutes=config.auth.token_lifetime_min)),
        limiter=LoginThrottle(config.auth.throttle_settings()),
        hub=hub,
        listener=NotifyListener(engine, hub) if engine.dialect.name == "postgresql" else None,
    )


def start_ingest(ctx: AppContext) -> MqttIngest:
    alerts = AlertDispatcher(ctx.config.alerts, ctx.sessions)
    alerts.start()
    ctx.alerts = alerts

    def on_stored(rows: list[dict[str, Any]]) -> None:
        if ctx.listener is None:  # on PostgreSQL the listener publishes every replica's events
            ctx.hub.publish(rows)
        alerts.on_events(rows)

    ingest = MqttIngest(
        ctx.config.mqtt,
        IngestWriter(ctx.engine),
        on_stored=on_stored,
        on_decisions=alerts.on_decisions,
        on_statuses=alerts.on_statuses,
        capture_window=ctx.config.ingest.capture_window(),
    )
    ingest.on_connected = lambda: _on_connected(ctx, ingest)
    ctx.ingest = ingest
    ingest.start()
    return ingest


def _on_connected(ctx: AppContext, ingest: MqttIngest) -> None:
    """Publish what was stored while the broker was unreachable: config and watchlist pushes."""
    publish_pending(ctx.sessions, ingest)
    watchlist_push.stage_all(ctx.sessions)
    watchlist_push.publish_pending(ctx.sessions, ingest)


def _serve_openapi_with_absolute_token_url(app: FastAPI) -> None:
    """/openapi.json with the login URL made absolute from the request's base URL.

    OpenAPI 3.1 requires an OAuth2 flow's tokenUrl to be a URL, and validators reject the relative
    path FastAPI writes; the host is only known per request (behind a proxy too).
    """
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != app.openapi_url]

    @app.get(app.openapi_url or "/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        schema = copy.deepcopy(app.openapi())
        for scheme in schema.get("components", {}).get("securitySchemes", {}).values():
            for flow in scheme.get("flows", {}).values():
                if "tokenUrl" in flow:
                    flow["tokenUrl"] = urljoin(str(request.base_url), flow["tokenUrl"])
        return JSONResponse(schema)


def create_app(
    config: CentralConfig, *, engine: Engine | None = None, with_mqtt: bool | None = None
) -> FastAPI:
    """The app; MQTT ingest runs in its lifespan when enabled (config, or `with_mqtt` to override)."""
    ctx = build_context(config, engine)
    run_mqtt = config.mqtt.enabled if with_mqtt is None else with_mqtt

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        ingest = start_ingest(ctx) if run_mqtt else None
        retention = None
        if config.retention.enabled:
            retention = RetentionWorker(Retention(ctx.engine, config.retention))
            retention.start()
        running.state.retention = retention  # tests wait on its passes
        try:
            yield
        finally:
            if retention is not None:
                retention.stop()
            if ingest is not None:
                ingest.stop()
            if ctx.alerts is not None:
                ctx.alerts.stop()
            if ctx.listener is not None:
                ctx.listener.stop()

    app = FastAPI(
        title="anpr central",
        version="1.0",
        description="Plate event search, devices and config push for the anpr appliance.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    _serve_openapi_with_absolute_token_url(app)
    app.add_middleware(SecurityHeadersMiddleware)
    if config.http.trusted_proxies:
        # Outermost, so everything after it (handlers, audit, uvicorn's access log) sees the
        # client the proxy names. Serve runs uvicorn without its own proxy handling, which would
        # otherwise believe any X-Forwarded-For from 127.0.0.1.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.http.trusted_proxies)
    # export before events: /api/v1/events/export.csv must not be taken for an event id.
    for module in (auth_routes, export, events, devices, geo, ops, live, stats, users, watchlists, decisions):
        app.include_router(module.router)
    app.include_router(users.account_router)
    mount_web(app)
    return app
