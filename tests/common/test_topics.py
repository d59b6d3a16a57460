from __future__ import annotations

import pytest

from common.topics import CENTRAL_EVENTS_SUBSCRIPTION, DeviceTopic, device_topic, parse_device_topic


def test_device_topics_live_under_site_and_device() -> None:
    assert device_topic("site1", "edge-7", "events") == "anpr/v1/site1/edge-7/events"
    assert device_topic("site1", "edge-7", "config/ack") == "anpr/v1/site1/edge-7/config/ack"


def test_parse_is_the_inverse_of_build() -> None:
    for kind in ("events", "status", "config", "config/ack", "stats"):
        topic = device_topic("s.1", "d_2", kind)  # type: ignore[arg-type]
        assert parse_device_topic(topic) == DeviceTopic("s.1", "d_2", kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("site", ["", "a/b", "+", "#", "x" * 65])
def test_ids_that_would_break_topic_isolation_are_refused(site: str) -> None:
    with pytest.raises(ValueError):
        device_topic(site, "edge1", "events")


@pytest.mark.parametrize(
    "topic", ["anpr/v2/s/d/events", "anpr/v1/s/events", "anpr/v1/s/d/other", "anpr/v1/s/d/events/x"]
)
def test_foreign_topics_do_not_parse(topic: str) -> None:
    with pytest.raises(ValueError):
        parse_device_topic(topic)


def test_central_uses_a_shared_subscription_for_events() -> None:
    assert CENTRAL_EVENTS_SUBSCRIPTION == "$share/central/anpr/v1/+/+/events"
