"""MQTT ingest: decode and validate device messages, write them in batches, ack after commit."""
