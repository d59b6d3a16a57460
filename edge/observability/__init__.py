"""Prometheus metrics, the /metrics /health /ready HTTP endpoint, systemd notifications."""
