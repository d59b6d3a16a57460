"""Alert settings (part of central's config): webhooks and Telegram. Secrets are files, never values."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AlertKind = Literal["deny", "watchlist", "output_failed", "device_offline"]
ALERT_KINDS: tuple[AlertKind, ...] = ("deny", "watchlist", "output_failed", "device_offline")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertFilter(_Section):
    kinds: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS), description="alert kinds sent")
    sites: list[str] = Field(default_factory=list, description="only these sites; empty: every site")

    def accepts(self, kind: str, site_id: str) -> bool:
        return kind in self.kinds and (not self.sites or site_id in self.sites)


class RetrySettings(_Section):
    attempts: int = Field(default=6, ge=1, le=20, description="tries before the alert is dead-lettered")
    initial_backoff_s: float = Field(default=0.5, gt=0, le=60)
    max_backoff_s: float = Field(default=30.0, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class WebhookSettings(_Section):
    """A JSON POST per alert, signed: X-Anpr-Signature: sha256=HMAC-SHA256(secret, timestamp.body)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: str = Field(pattern=r"^https?://")
    secret_file: Path | None = Field(default=None, description="HMAC key; unsigned when absent")
    filter: AlertFilter = Field(default_factory=AlertFilter)
    retry: RetrySettings = Field(default_factory=RetrySettings)


class HttpTemplateSettings(_Section):
    """Any HTTP API (an SMS gateway, a chat service): each field is a template of alert values.

    Placeholders: $kind $plate $lists $site $device $camera $gate $local_time $caption $alert_id.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT", "GET"] = "POST"
    body: Literal["json", "form", "query"] = Field(default="json", description="how `fields` are sent")
    fields: dict[str, str] = Field(
        default_factory=lambda: {"text": "$caption"},
        description="name -> template, e.g. to: +7..., text: $caption",
    )
    secret_header: str | None = Field(
        default=None, description="header that carries the secret, e.g. Authorization"
    )
    secret_file: Path | None = Field(
        default=None, description="the header's value (e.g. 'Bearer ...'), from a file"
    )
    filter: AlertFilter = Field(default_factory=AlertFilter)
    retry: RetrySettings = Field(default_factory=RetrySettings)


class TelegramSettings(_Section):
    """A photo (the plate crop) with a caption per alert, through the Telegram Bot API."""

    enabled: bool = False
    api_base_url: str = Field(default="https://api.telegram.org", pattern=r"^https?://")
    token_file: Path | None = Field(
        default=None, description="bot token file (or the systemd credential anpr-telegram-token)"
    )
    chat_ids: list[str] = Field(default_factory=list, description="chats, groups or channels to send to")
    filter: AlertFilter = Field(default_factory=AlertFilter)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    per_chat_interval_s: float = Field(default=1.0, ge=0, description="Telegram allows ~1 message/s per chat")
    overall_per_s: float = Field(default=30.0, gt=0, description="... and ~30 messages/s per bot")


class AlertSettings(_Section):
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    http_templates: list[HttpTemplateSettings] = Field(
        default_factory=list, description="SMS gateways and the like"
    )
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    timezone_fallback: str = Field(default="UTC", description="for captions of sites without a time zone")
