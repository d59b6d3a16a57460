"""Prometheus metrics of central, on the default registry (one set per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_RECEIVED = Counter(
    "anpr_central_messages_received_total", "MQTT messages handed to ingest", ["kind"]
)
EVENTS_STORED = Counter("anpr_central_events_stored_total", "plate events written to the database")
EVENTS_DUPLICATE = Counter("anpr_central_events_duplicate_total", "plate events already stored (redelivery)")
DEAD_LETTERS = Counter(
    "anpr_central_dead_letters_total", "messages refused into the dead-letter table", ["kind"]
)
RECEIPTS_SENT = Counter("anpr_central_receipts_sent_total", "event receipts published to devices")
EVENTS_CONFIRMED = Counter(
    "anpr_central_events_confirmed_total", "events named in receipts (stored, re-sent or conflicting)"
)
DECISIONS_CONFIRMED = Counter(
    "anpr_central_decisions_confirmed_total", "gate decisions named in receipts (stored or re-sent)"
)
INGEST_BATCH_SECONDS = Histogram(
    "anpr_central_ingest_batch_seconds",
    "time to write one ingest batch, commit included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
INGEST_BATCH_SIZE = Histogram(
    "anpr_central_ingest_batch_size", "messages per ingest batch", buckets=(1, 5, 10, 50, 100, 250, 500, 1000)
)
INGEST_ERRORS = Counter("anpr_central_ingest_errors_total", "batches that failed to commit and were retried")
INGEST_QUEUE = Gauge("anpr_central_ingest_queue", "messages received and not yet committed")
MQTT_CONNECTED = Gauge("anpr_central_mqtt_connected", "1 while connected to the broker")
SEARCH_SECONDS = Histogram(
    "anpr_central_search_seconds",
    "event search time",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5),
)
LOGIN_FAILURES = Counter("anpr_central_login_failures_total", "failed logins")
LIVE_CLIENTS = Gauge("anpr_central_live_clients", "connected live-feed WebSockets")
CONFIG_PUSHES = Counter("anpr_central_config_pushes_total", "config versions pushed to devices")
RETENTION_DELETED = Counter(
    "anpr_central_retention_deleted_total", "rows deleted by retention", ["kind"]
)
