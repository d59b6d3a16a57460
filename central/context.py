"""What the HTTP app's handlers share: config, database, token service, live hub, broker link."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from central.alerts.dispatcher import AlertDispatcher
from central.auth.ratelimit import LoginThrottle
from central.auth.tokens import TokenService
from central.config import CentralConfig
from central.config_push import ConfigPublisher
from central.ingest.mqtt import MqttIngest
from central.live import LiveHub
from central.live_notify import NotifyListener


@dataclass
class AppContext:
    config: CentralConfig
    engine: Engine
    sessions: sessionmaker[Session]
    tokens: TokenService
    limiter: LoginThrottle
    hub: LiveHub
    ingest: MqttIngest | None = None  # None when MQTT is disabled (API-only replica, tests)
    alerts: AlertDispatcher | None = None  # runs beside ingest
    # PostgreSQL: fills the hub with what every replica stores (LISTEN/NOTIFY); None on SQLite,
    # where this process's ingest publishes to the hub itself.
    listener: NotifyListener | None = None

    @property
    def publisher(self) -> ConfigPublisher | None:
        return self.ingest
