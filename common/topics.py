"""MQTT topic layout, version 1: everything a device says lives under its own site and device.

    anpr/v1/{site}/{device}/events      plate events, QoS 1
    anpr/v1/{site}/{device}/status      retained "online"/"offline" (offline is the Last Will)
    anpr/v1/{site}/{device}/config      retained config pushed by central
    anpr/v1/{site}/{device}/config/ack  the device's answer to a config push
    anpr/v1/{site}/{device}/config/effective  retained: the config the device runs (secrets redacted)
    anpr/v1/{site}/{device}/stats       periodic counters
    anpr/v1/{site}/{device}/watchlists      retained watchlist bundle pushed by central
    anpr/v1/{site}/{device}/watchlists/ack  the device's answer to a watchlist push
    anpr/v1/{site}/{device}/decisions   gate decisions, QoS 1 (stored on the box first, like events)
    anpr/v1/{site}/{device}/receipts    central's receipts for stored events and decisions, QoS 1
                                        (see docs/mqtt.md)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PREFIX = "anpr/v1"
TopicKind = Literal[
    "events", "status", "config", "config/ack", "config/effective", "stats", "receipts",
    "watchlists", "watchlists/ack", "decisions",
]
TOPIC_KINDS: tuple[TopicKind, ...] = (
    "events", "status", "config", "config/ack", "config/effective", "stats", "receipts",
    "watchlists", "watchlists/ack", "decisions",
)

# Shared subscription: several central replicas split the event stream between them.
CENTRAL_EVENTS_SUBSCRIPTION = f"$share/central/{PREFIX}/+/+/events"
# A single central replica subscribes plainly: brokers keep plain subscriptions across restarts.
CENTRAL_EVENTS_PLAIN_SUBSCRIPTION = f"{PREFIX}/+/+/events"
CENTRAL_STATUS_SUBSCRIPTION = f"{PREFIX}/+/+/status"
CENTRAL_CONFIG_ACK_SUBSCRIPTION = f"{PREFIX}/+/+/config/ack"
CENTRAL_EFFECTIVE_CONFIG_SUBSCRIPTION = f"{PREFIX}/+/+/config/effective"
CENTRAL_STATS_SUBSCRIPTION = f"{PREFIX}/+/+/stats"
CENTRAL_WATCHLIST_ACK_SUBSCRIPTION = f"{PREFIX}/+/+/watchlists/ack"
CENTRAL_DECISIONS_SUBSCRIPTION = f"{PREFIX}/+/+/decisions"

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class DeviceTopic:
    site_id: str
    device_id: str
    kind: TopicKind


def _checked_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{what} {value!r} must be 1-64 characters of letters, digits, '_', '.', '-'")
    return value


def device_topic(site_id: str, device_id: str, kind: TopicKind) -> str:
    if kind not in TOPIC_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/{_checked_id(site_id, 'site id')}/{_checked_id(device_id, 'device id')}/{kind}"


def parse_device_topic(topic: str) -> DeviceTopic:
    """Split a concrete topic into site, device and kind; ValueError for anything else."""
    prefix = PREFIX + "/"
    if not topic.startswith(prefix):
        raise ValueError(f"topic {topic!r} is not under {PREFIX}/")
    parts = topic[len(prefix) :].split("/", 2)
    if len(parts) != 3 or parts[2] not in TOPIC_KINDS:
        raise ValueError(f"topic {topic!r} is not {PREFIX}/<site>/<device>/<kind>")
    site_id, device_id, kind = parts
    return DeviceTopic(_checked_id(site_id, "site id"), _checked_id(device_id, "device id"), kind)  # type: ignore[arg-type]


def home_assistant_node_id(site_id: str, device_id: str) -> str:
    """The box's Home Assistant node id: HA allows [a-zA-Z0-9_-], box ids may hold dots."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"anpr_{site_id}_{device_id}")
