"""Central's configuration: one typed YAML file, then ANPR_CENTRAL_* environment overrides.

Environment variables name a field path with double underscores, e.g.
ANPR_CENTRAL_DATABASE__URL or ANPR_CENTRAL_MQTT__HOST, so containers can override single fields
without a file. Secrets (JWT key, MQTT password) are files, never values in this config.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from central.alerts.settings import AlertSettings
from central.auth.ratelimit import ThrottleSettings
from central.ingest.decode import CaptureWindow
from common.config import MqttConnection

ENV_PREFIX = "ANPR_CENTRAL_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file central.db in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    pool_size: int = Field(default=5, ge=1, le=100)
    auto_migrate: bool = Field(default=True, description="`serve` applies pending migrations at start")
    echo: bool = False


class MqttSettings(MqttConnection):
    enabled: bool = True
    client_id: str = Field(
        default_factory=lambda: f"anpr-central-{socket.gethostname()}",
        description=(
            "unique per replica: the broker keeps this replica's unacknowledged messages under it. "
            "The anpr broker config binds client ids to logins (use_username_as_clientid), so there "
            "the username is the id: give each replica its own broker account"
        ),
    )
    share_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description=(
            "shared-subscription group so several replicas split the events; unset: one replica "
            "with a plain persistent subscription. Mosquitto 2.0 keeps no shared subscription "
            "across a broker restart and lets any login join a group it can name, so events routed "
            "there arrive a receipt timeout late (the box re-sends them; docs/mqtt.md): name the "
            "group with a secret, e.g. 'central-' and 16 random characters"
        ),
    )
    session_expiry_s: int = Field(default=3600, ge=0, description="how long the broker keeps our session")
    receive_maximum: int = Field(
        default=2000, ge=1, le=65535, description="unacknowledged messages in flight"
    )
    batch_size: int = Field(default=500, ge=1, le=10000, description="events per database transaction")
    writers: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="parallel database writers; default 2 on PostgreSQL, 1 on SQLite (it serializes writes)",
    )
    batch_max_wait_ms: float = Field(
        default=50.0, ge=0, le=10000, description="how long a batch waits to fill"
    )


class IngestSettings(_Section):
    captured_not_before: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="events captured (or first/last seen) earlier are dead-lettered (kind bad_time)",
    )
    captured_max_ahead_s: float = Field(
        default=86400.0,
        ge=0,
        description="events captured more than this after central received them are dead-lettered",
    )

    @field_validator("captured_not_before")
    @classmethod
    def _with_zone(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    def capture_window(self) -> CaptureWindow:
        return CaptureWindow(self.captured_not_before, timedelta(seconds=self.captured_max_ahead_s))


def _days(default: float | None, what: str) -> Any:
    return Field(
        default=default, gt=0, description=f"{what} older than this many days are deleted; null: kept"
    )


class SiteRetention(_Section):
    """A site's own retention; a field left out takes the value of `retention`."""

    events_days: float | None = _days(None, "events (captured_at) of this site")
    images_days: float | None = _days(None, "crops and thumbnails of this site's events")


class RetentionSettings(_Section):
    enabled: bool = Field(
        default=True, description="`serve` deletes old rows periodically; with several replicas one is enough"
    )
    interval_s: float = Field(default=3600.0, ge=10, description="seconds between retention passes")
    first_pass_after_s: float = Field(default=60.0, ge=0, description="the first pass, after start")
    events_days: float | None = _days(90.0, "events (by captured_at), with their images,")
    images_days: float | None = _days(30.0, "crops and thumbnails (events stay, without images)")
    dead_letters_days: float | None = _days(30.0, "dead letters (by received_at)")
    audit_days: float | None = _days(365.0, "audit-log entries")
    sites: dict[str, SiteRetention] = Field(
        default_factory=dict, description="per-site overrides of events_days and images_days, by site id"
    )
    batch_size: int = Field(
        default=2000, ge=1, le=100_000, description="rows per delete transaction: short locks"
    )

    def for_site(self, site_id: str) -> tuple[float | None, float | None]:
        """(events_days, images_days) of a site."""
        own = self.sites.get(site_id)
        if own is None:
            return self.events_days, self.images_days
        given = own.model_fields_set
        return (
            own.events_days if "events_days" in given else self.events_days,
            own.images_days if "images_days" in given else self.images_days,
        )


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (login throttling, audit log, access log); nobody else's",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # uvicorn would take a typo for a host name and trust nobody, or '*' for everyone.
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value


class AuthSettings(_Section):
    token_lifetime_min: float = Field(
        default=60.0, gt=0, le=24 * 60, description="a token's life; the UI refreshes it before it ends"
    )
    session_max_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="refreshes stop this long after sign-in: sign in again"
    )
    jwt_secret_file: Path | None = Field(
        default=None, description="default: jwt.secret in the data dir, generated on first run"
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="the signing secret itself, for containers (ANPR_CENTRAL_AUTH__JWT_SECRET); "
        "prefer jwt_secret_file, and never put it in the YAML file",
    )
    login_free_failures: int = Field(
        default=3, ge=0, description="failed logins of one user from one address before backoff"
    )
    login_address_free_failures: int = Field(
        default=20, ge=0, description="failed logins from one address, any user, before backoff"
    )
    login_backoff_base_s: float = Field(
        default=1.0, gt=0, description="first wait after the free failures; doubles with each failure"
    )
    login_backoff_max_s: float = Field(default=300.0, gt=0, description="longest wait between tries")
    login_global_max_failures: int = Field(
        default=100,
        ge=1,
        description="failures per window on this replica above which free tries stop for every "
        "address that has failed (addresses with no failure may still try)",
    )
    login_window_s: float = Field(default=900.0, gt=0, description="failures older than this are forgotten")

    def throttle_settings(self) -> ThrottleSettings:
        return ThrottleSettings(
            free_failures=self.login_free_failures,
            address_free_failures=self.login_address_free_failures,
            backoff_base_s=self.login_backoff_base_s,
            backoff_max_s=self.login_backoff_max_s,
            global_max_failures=self.login_global_max_failures,
            window_s=self.login_window_s,
        )


class CentralConfig(_Section):
    data_dir: Path = Path("var/central")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="webhooks and Telegram")
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    online_timeout_s: float = Field(
        default=300.0, gt=0, description="a device silent this long is shown offline even without its Will"
    )

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'central.db'}"

    @property
    def jwt_secret_path(self) -> Path:
        return self.auth.jwt_secret_file or self.data_dir / "jwt.secret"


class CentralConfigError(ValueError):
    """A config that cannot be used; the message names the source and the field."""


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = data
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        # YAML parsing turns "true"/"8080"/"[a, b]" into the types the model expects.
        try:
            node[path[-1]] = yaml.safe_load(value) if value != "" else None
        except yaml.YAMLError:
            node[path[-1]] = value
    return data


def load_central_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> CentralConfig:
    """Read the YAML file (optional), apply environment overrides and validate."""
    env = os.environ if env is None else env
    source = str(path) if path else "<defaults>"
    data: Any = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise CentralConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise CentralConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise CentralConfigError(f"{path}: the top level must be a mapping")
    data = _apply_env(data, env)
    try:
        return CentralConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid configuration"]
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            lines.append(f"  {where}: {error['msg']}")
        raise CentralConfigError("\n".join(lines)) from exc
