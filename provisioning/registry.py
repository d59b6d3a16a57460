"""The provisioning registry: who has an MQTT identity, kept as JSON beside the broker files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from provisioning.files import write_file

# integration: a read-only login for a third party (dashboards, a gate controller of its own).
Role = Literal["device", "central", "integration"]


def device_username(site_id: str, device_id: str) -> str:
    # Ids cannot contain "/", so the pair is unambiguous; it is also the certificate CN.
    return f"{site_id}/{device_id}"


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    created_at: str
    site_id: str | None = None
    device_id: str | None = None
    cert_serial: str | None = None  # hex, when a client certificate was issued
    revoked_at: str | None = None
    rotated_at: str | None = None  # the last `rotate`
    # Earlier certificates of this username (replaced by rotate, or by a re-add after a revoke):
    # they stay in the CRL, or the old certificate, whose CN is still this username, would log in.
    revoked_serials: tuple[str, ...] = ()
    # An integration login that may press Home Assistant's gate buttons (publish open commands).
    can_open_gates: bool = False

    def revoked(self) -> Account:
        return replace(self, revoked_at=datetime.now(UTC).isoformat())

    def crl_serials(self) -> list[str]:
        """Every serial of this account the CRL must list."""
        current = [self.cert_serial] if self.cert_serial and self.revoked_at is not None else []
        return [*self.revoked_serials, *current]

    def all_serials(self) -> tuple[str, ...]:
        """Every certificate ever issued to this username, current one last."""
        return (*self.revoked_serials, *([self.cert_serial] if self.cert_serial else []))


def _account(item: dict[str, Any]) -> Account:
    return Account(**item | {"revoked_serials": tuple(item.get("revoked_serials", ()))})


class RegistryError(ValueError):
    """The registry file is unreadable, or an operation conflicts with it."""


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.accounts: dict[str, Account] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.accounts = {item["username"]: _account(item) for item in data["accounts"]}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise RegistryError(f"{path}: not a provisioning registry: {exc}") from exc

    def save(self) -> None:
        data = {"accounts": [asdict(a) for a in sorted(self.accounts.values(), key=lambda a: a.username)]}
        write_file(self.path, json.dumps(data, indent=2) + "\n")

    def active(self) -> list[Account]:
        return [a for a in self.accounts.values() if a.revoked_at is None]
