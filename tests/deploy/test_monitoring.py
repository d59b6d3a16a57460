"""Monitoring files: Prometheus alert rules and scrape config checked and unit-tested by promtool,
and every metric the rules and the Grafana dashboard query is one the code exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from central import metrics as central_metrics
from edge.observability.metrics import AgentState, EdgeMetrics
from provisioning import expiry_metrics
from provisioning.provisioner import Provisioner

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING = REPO_ROOT / "deploy/monitoring"
RULES = MONITORING / "prometheus/anpr-alerts.yml"
DASHBOARD = MONITORING / "grafana/anpr-fleet.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing (Debian package prometheus)"
)
# Series of Prometheus itself and of prometheus-node-exporter, which the rules may use as well.
EXTERNAL_SERIES = {"up", "node_filesystem_avail_bytes", "node_filesystem_size_bytes"}
PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "deriv",
    "predict_linear",
    "histogram_quantile",
    "and",
    "or",
    "time",
    "count",
    "le",
    "unless",
    "without",
    "on",
    "ignoring",
    "min",
    "max",
    "avg",
}


def _sample_names(family_name: str, kind: str) -> set[str]:
    """The series names a metric family is scraped as."""
    if kind == "counter":
        return {f"{family_name}_total", f"{family_name}_created"}
    if kind == "histogram":
        return {f"{family_name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
    return {family_name}


def _registry_series(registry: CollectorRegistry) -> set[str]:
    return {name for family in registry.collect() for name in _sample_names(family.name, family.type)}


def exported_series() -> set[str]:
    """Every series edge, central and the expiry exporter can serve, from their own code."""
    edge = EdgeMetrics()
    # Store and sync present, so their counters are exported too (values read by attribute).
    edge.watch(
        lambda: AgentState(channels=[], held_events=0, outbox_pending=0, store=object(), sync=object())
    )
    central_registry = CollectorRegistry()
    for value in vars(central_metrics).values():
        if hasattr(value, "_name") and hasattr(value, "collect"):
            central_registry.register(value)
    expiry = {
        family.name
        for family in text_string_to_metric_families(expiry_metrics.render([Path("/nonexistent")]))
    } | {"anpr_certificate_not_after_timestamp_seconds", "anpr_crl_next_update_timestamp_seconds"}
    return _registry_series(edge.registry) | _registry_series(central_registry) | expiry


def _series_in(expr: str) -> set[str]:
    # Drop label matchers, quoted strings and range/duration brackets; what is left that looks like
    # a name and is not a PromQL word is a series.
    stripped = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^]]*\]', " ", expr)
    stripped = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", stripped)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", stripped))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"e\d*|\d.*", n)}


def _rule_exprs() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_exported_series_include_the_known_names() -> None:
    series = exported_series()
    for name in (
        "anpr_frames_total",
        "anpr_outbox_pending_events",
        "anpr_mqtt_connected",
        "anpr_inference_seconds_bucket",
        "anpr_central_dead_letters_total",
        "anpr_certificate_not_after_timestamp_seconds",
    ):
        assert name in series


@pytest.mark.parametrize(
    ("source", "exprs"), [("alert rules", _rule_exprs()), ("dashboard", _dashboard_exprs())]
)
def test_every_query_uses_series_the_code_exports(source: str, exprs: list[tuple[str, str]]) -> None:
    known = exported_series() | EXTERNAL_SERIES
    assert exprs
    for title, expr in exprs:
        unknown = _series_in(expr) - known
        assert not unknown, f"{source}, {title!r}: {sorted(unknown)} not exported (expr {expr!r})"


def test_the_name_check_catches_a_misspelt_series() -> None:
    assert _series_in('rate(anpr_frame_total{job="anpr-edge"}[5m]) > 0.2') == {"anpr_frame_total"}
    assert "anpr_frame_total" not in exported_series()


def test_the_alerts_cover_what_operators_asked_for() -> None:
    alerts = {name for name, _ in _rule_exprs()}
    assert {
        "AnprDeviceOffline",
        "AnprOutboxGrowing",
        "AnprFramesDropped",
        "AnprDiskFilling",
        "AnprCertificateExpiring",
        "AnprCrlExpiring",
        "AnprIngestDeadLetters",
    } <= alerts


@needs_promtool
def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    for argv in (
        ["check", "rules", str(RULES)],
        ["check", "config", str(MONITORING / "prometheus/anpr-scrape.yml")],
    ):
        result = subprocess.run([str(PROMTOOL), *argv], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", "anpr-alerts.test.yml"],
        cwd=MONITORING / "prometheus",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_expiry_metrics_read_real_certificates_and_the_crl(tmp_path: Path) -> None:
    provisioner = Provisioner(tmp_path / "fleet")
    provisioner.add_central("central", use_tool=False)
    provisioner.server_cert(["mqtt.example.net"])
    provisioner.add_device("s", "d", broker_host="mqtt.example.net", client_cert=True, use_tool=False)
    broker = tmp_path / "fleet/broker"
    out = tmp_path / "textfile/anpr-expiry.prom"
    assert (
        expiry_metrics.main(
            [
                "--out",
                str(out),
                str(broker / "server.crt"),
                str(broker / "crl.pem"),
                str(tmp_path / "missing.crt"),
            ]
        )
        == 0
    )
    families = {f.name: f for f in text_string_to_metric_families(out.read_text())}
    (cert,) = families["anpr_certificate_not_after_timestamp_seconds"].samples
    assert cert.labels["path"] == str(broker / "server.crt") and "CN=" in cert.labels["subject"]
    assert cert.value > 0
    (crl,) = families["anpr_crl_next_update_timestamp_seconds"].samples
    assert crl.labels["path"] == str(broker / "crl.pem")
    readable = {s.labels["path"]: s.value for s in families["anpr_expiry_file_readable"].samples}
    assert readable == {
        str(broker / "server.crt"): 1,
        str(broker / "crl.pem"): 1,
        str(tmp_path / "missing.crt"): 0,
    }


def test_expiry_metrics_refuse_a_file_without_pem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="no PEM certificate or CRL"):
        expiry_metrics.read_expiries(junk)
