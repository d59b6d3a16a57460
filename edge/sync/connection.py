"""The device's MQTT session: client id, persistent-session properties, reconnect backoff.

The client itself (credentials, TLS) is built by `common.mqtt.build_client`, as central's is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# The broker keeps the session (subscriptions, queued config pushes) this long after a disconnect.
SESSION_EXPIRY_S = 7 * 24 * 3600


def client_id_for(site_id: str, device_id: str) -> str:
    # Stable across restarts, so the broker finds the persistent session again.
    return f"anpr-{site_id}-{device_id}"


def connect_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    return properties


@dataclass
class Backoff:
    """Exponential reconnect delay with jitter, so a fleet does not reconnect in lockstep."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) * d, d]
    _attempt: int = field(default=0, init=False)
    _random: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter < 1")

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(self._attempt, 64))
        self._attempt += 1
        return ceiling * (1 - self.jitter * self._random.random())

    def reset(self) -> None:
        self._attempt = 0

