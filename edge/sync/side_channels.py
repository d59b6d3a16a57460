"""The publisher's topics beside the event stream: watchlist pushes (and their acks) and Home
Assistant discovery, state and commands. Everything here runs on the publisher's network thread,
except `publish`, which other threads call to queue a state update.
"""

from __future__ import annotations

import logging
import queue

import paho.mqtt.client as mqtt

from edge.sync.home_assistant import HomeAssistantBridge
from edge.sync.watchlist_applier import WatchlistApplier

log = logging.getLogger(__name__)

MAX_QUEUED_SIDE_PUBLISHES = 1000


class SideChannels:
    def __init__(
        self,
        watchlists_topic: str,
        watchlists_ack_topic: str,
        watchlists: WatchlistApplier | None,
        home_assistant: HomeAssistantBridge | None,
    ) -> None:
        self._watchlists_topic = watchlists_topic
        self._watchlists_ack_topic = watchlists_ack_topic
        self._watchlists = watchlists
        self._home_assistant = home_assistant
        self._queued: queue.Queue[tuple[str, bytes, bool]] = queue.Queue(maxsize=MAX_QUEUED_SIDE_PUBLISHES)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Queue a QoS 0 publish for the network thread (latest state; dropped when the queue is full)."""
        try:
            self._queued.put_nowait((topic, payload, retain))
        except queue.Full:
            log.warning("side publish queue full; dropping an update for %s", topic)

    def flush(self, client: mqtt.Client) -> None:
        while not self._queued.empty():
            topic, payload, retain = self._queued.get_nowait()
            client.publish(topic, payload, qos=0, retain=retain)

    def on_connect(self, client: mqtt.Client) -> list[tuple[str, int]]:
        """Publish Home Assistant discovery; returns the subscriptions to add (QoS 1)."""
        subscriptions: list[tuple[str, int]] = []
        if self._watchlists is not None:
            subscriptions.append((self._watchlists_topic, 1))
        if self._home_assistant is not None:
            for topic, payload, retain in self._home_assistant.discovery():
                client.publish(topic, payload, qos=1, retain=retain)
            subscriptions.extend((topic, 1) for topic in self._home_assistant.command_topics())
        return subscriptions

    def handle(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> bool:
        """Take a watchlist push or Home Assistant command; False if the message is for someone else."""
        if self._home_assistant is not None and message.topic.startswith(self._home_assistant.base + "/"):
            self._home_assistant.on_command(message.topic, message.payload)
            return True
        if self._watchlists is not None and message.topic == self._watchlists_topic:
            ack = self._watchlists.handle(message.payload)
            if ack is not None:
                client.publish(self._watchlists_ack_topic, ack.to_json(), qos=1)
            return True
        return False
