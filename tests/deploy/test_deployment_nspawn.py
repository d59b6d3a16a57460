"""The Ansible roles applied to booted Debian 12 hosts, end to end, as docs/deployment.md says.

A central host (Mosquitto, central, Prometheus) and an edge box boot as systemd-nspawn containers on
a private bridge with no route out; Ansible reaches them over SSH and installs everything from the
offline bundle. The blocks of the guide's walkthrough ("From nothing to a synced box") are run as
written (the example addresses and `inventory/prod.yml` replaced by the test's), and a last test
checks that every one of them ran. The steps share one deployment and run in order:

1. the bundle and the fleet (TLS, a client certificate for the box), as the walkthrough makes them;
2. `site.yml --check --diff` on the two new hosts succeeds (the docs' preview step);
3. `site.yml` installs both; the box reads the sample clip and its events reach central's
   database over TLS; a second run changes nothing;
4. firewall, journal caps, time sync and certificate expiry metrics on both hosts; the watchdog
   restarts a frozen agent; `systemd-analyze security` rates every unit <= 2.0; Prometheus
   scrapes every target;
5. an upgrade switches after its health check, `rollback.yml` goes back one release, and a broken
   release is rolled back by the play itself.

Needs root, debootstrap, systemd-nspawn, ssh and dpkg-scanpackages (scripts/system-deps.sh) and a
Debian mirror and PyPI the first time (the rootfs and the bundle's downloads are cached in
/var/cache/anpr-test, ANPR_TEST_CACHE to move it). Takes several minutes: `-m "not nspawn"` skips it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from debian_rootfs import CACHE_DIR, rootfs_tarball
from deployment_harness import (
    ANSIBLE_PLAYBOOK,
    CENTRAL_HOST,
    DEVICE,
    REPO_ROOT,
    SITE,
    Deployment,
    release_bundle,
    walkthrough,
)
from nspawn import Network, wait_until

REQUIRED_TOOLS = ["debootstrap", "systemd-nspawn", "ssh", "ssh-keygen", "dpkg-scanpackages", "ip", "tar"]


def _why_not_here() -> str | None:
    if sys.platform != "linux":
        return "booted Debian containers need Linux"
    if os.geteuid() != 0:
        return "booting containers with systemd-nspawn needs root"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (scripts/system-deps.sh installs them)"
    if not ANSIBLE_PLAYBOOK.exists():
        return "ansible-playbook is not installed beside this Python (pip install ansible-core)"
    return None


pytestmark = [
    pytest.mark.nspawn,
    pytest.mark.skipif(_why_not_here() is not None, reason=str(_why_not_here())),
]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("nspawn")
    tarball = rootfs_tarball()
    network = Network(work_dir=work, tarball=tarball)
    try:
        central = network.boot("central")
        box = network.boot(DEVICE)
        for host in (central, box):
            # An apt cache older than a day, which made offline runs try (and fail) to refresh it.
            host.ssh("touch -d '3 days ago' /var/lib/apt/lists/*")
        deployment = Deployment(work, network, central, box, CACHE_DIR / "bundle")
        # Walkthrough step 1 on the controller: the bundle (its downloads cached) and the fleet.
        (where, _), *_ = walkthrough()
        assert where == "controller: repository"
        deployment.run_walkthrough_block(0)
        deployment.write_inventory(deployment.bundle)
        yield deployment
    finally:
        network.close()


def test_preview_on_new_hosts_succeeds(deployment: Deployment) -> None:
    output, recap = deployment.walkthrough_playbook(1, 0)
    assert set(recap) == {CENTRAL_HOST, DEVICE}
    for host, counts in recap.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (host, counts)
        assert counts["changed"] > 0, f"{host}: a new host's preview shows what would change"
    assert "would install" in output, "the preview names the Debian packages it would install"
    assert deployment.box.ssh("test -e /opt/anpr", check=False).returncode != 0, "check mode changed nothing"


def test_site_installs_both_and_events_reach_central_over_tls(deployment: Deployment) -> None:
    _, recap = deployment.walkthrough_playbook(1, 1)
    assert recap[CENTRAL_HOST]["changed"] > 0 and recap[DEVICE]["changed"] > 0
    box_config = yaml.safe_load(deployment.box.ssh("cat /etc/anpr/edge.yaml").stdout)
    assert box_config["mqtt"]["tls"] is True and box_config["mqtt"]["port"] == 8884
    assert box_config["mqtt"]["host"] == deployment.central.address
    assert box_config["mqtt"].get("cert_file"), "the box logs in with its client certificate"
    wait_until(
        "events from the box in central's database", lambda: deployment.event_count() > 0, timeout_s=300
    )
    devices = deployment.central_db("select site_id, device_id from devices")
    assert SITE in devices and DEVICE in devices


def test_the_walkthrough_checks_pass_on_the_box_and_central(deployment: Deployment) -> None:
    active, health, current = deployment.walkthrough_on_host(2)
    assert active.strip() == "active"
    assert json.loads(health)["status"] == "ok"
    assert current.strip().startswith("/opt/anpr/releases/") or current.strip().startswith("releases/")
    services, ready, status = deployment.walkthrough_on_host(3)
    assert services.split() == ["active", "active"]
    assert json.loads(ready)["status"] == "ready"
    assert json.loads(status)["state"] == "online"


def test_second_run_changes_nothing(deployment: Deployment) -> None:
    _, recap = deployment.walkthrough_playbook(1, 1)
    assert {host: counts["changed"] for host, counts in recap.items()} == {CENTRAL_HOST: 0, DEVICE: 0}


def _opened_ports(rules: str) -> dict[str, str]:
    """tcp port -> the addresses its accept rule admits ('' for anywhere), from `nft list ruleset`
    (which prints a one-element set without braces)."""
    opened = {}
    pattern = r"^\s*(?:ip6? saddr (\{[^}]*\}|\S+) )?tcp dport (\{[^}]*\}|\d+) accept$"
    for sources, ports in re.findall(pattern, rules, re.M):
        for port in ports.strip("{} ").split(","):
            opened[port.strip()] = sources.strip("{} ")
    return opened


def test_hosts_have_time_sync_journal_caps_and_a_firewall(deployment: Deployment) -> None:
    central_rules = deployment.central.ssh("nft list ruleset").stdout
    assert "policy drop" in central_rules
    assert _opened_ports(central_rules) == {"22": "", "8883": "", "8884": ""}
    box_rules = deployment.box.ssh("nft list ruleset").stdout
    # The metrics ports only for the Prometheus server (anpr_firewall_metrics_sources).
    central = deployment.central.address
    assert _opened_ports(box_rules) == {"22": "", "9108": central, "9100": central}
    for host in (deployment.central, deployment.box):
        # Everything came from the bundle: the hosts have no route out, and the Debian lists that
        # debootstrap left (made three days old at boot) were never refreshed.
        assert "default" not in host.ssh("ip route").stdout
        stale = host.ssh("find /var/lib/apt/lists -name 'deb.debian.org_*' -mtime +1").stdout.split()
        assert stale, "the Debian mirror's lists are still the stale ones"
        assert "SystemMaxUse=" in host.ssh("cat /etc/systemd/journald.conf.d/anpr.conf").stdout
        assert host.ssh("systemctl is-enabled systemd-timesyncd").stdout.strip() == "enabled"
        for package in ("python3-packaging", "python3-apt", "procps"):
            host.ssh(f"dpkg-query --show {package}")


def test_certificate_expiry_is_exported_on_both_hosts(deployment: Deployment) -> None:
    for host, expected in (
        (deployment.central, ["server.crt", "crl.pem"]),
        (deployment.box, ["mqtt-client.crt"]),
    ):
        host.ssh("systemctl start anpr-expiry-metrics.service")
        text = host.ssh("cat /var/lib/prometheus/node-exporter/anpr-expiry.prom").stdout
        assert "anpr_expiry_file_readable" in text and "} 0" not in text, text
        for name in expected:
            assert name in text, (host.name, text)


def test_prometheus_scrapes_the_fleet_with_the_alert_rules(deployment: Deployment) -> None:
    deployment.walkthrough_playbook(1, 2)
    probe = (
        "import json, urllib.request as u\n"
        "print(json.dumps(json.load(u.urlopen('http://127.0.0.1:9090/api/v1/targets', timeout=5))))"
    )

    def targets_up() -> dict[str, str] | None:
        result = deployment.central.ssh(f"python3 -c {shlex.quote(probe)}", check=False)
        if result.returncode != 0:
            return None
        active = json.loads(result.stdout)["data"]["activeTargets"]
        health = {f"{t['labels']['job']} {t['labels']['instance']}": t["health"] for t in active}
        return health if health and all(value == "up" for value in health.values()) else None

    health = wait_until("every scrape target up", targets_up, timeout_s=180, interval_s=5)
    assert f"anpr-edge {deployment.box.address}:9108" in health
    assert f"node {deployment.box.address}:9100" in health
    assert "anpr-central 127.0.0.1:8080" in health
    rules = deployment.central.ssh("curl -s http://127.0.0.1:9090/api/v1/rules").stdout
    assert "AnprDeviceOffline" in rules and "AnprCrlExpiring" in rules


def test_watchdog_restarts_a_frozen_agent(deployment: Deployment) -> None:
    box = deployment.box
    restarts = int(box.ssh("systemctl show -p NRestarts --value anpr-edge").stdout)
    box.ssh("systemctl kill --signal=SIGSTOP anpr-edge")
    wait_until(
        "a restart of the frozen agent",
        lambda: int(box.ssh("systemctl show -p NRestarts --value anpr-edge").stdout) > restarts,
        timeout_s=180,
    )
    assert "Watchdog timeout" in box.ssh("journalctl -u anpr-edge --no-pager -n 200").stdout
    wait_until("the restarted agent's /health", lambda: deployment.box_health() == 200, timeout_s=240)


@pytest.mark.parametrize(
    ("host", "unit"),
    [
        ("box", "anpr-edge.service"),
        ("central", "anpr-central.service"),
        ("central", "anpr-central-db-upgrade.service"),
        ("central", "anpr-expiry-metrics.service"),
    ],
)
def test_units_are_sandboxed(deployment: Deployment, host: str, unit: str) -> None:
    container = deployment.box if host == "box" else deployment.central
    output = container.ssh(f"systemd-analyze security --no-pager {unit}").stdout
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", output)
    assert match, output[-2000:]
    assert float(match.group(1)) <= 2.0, output[-2000:]


def test_upgrade_switches_after_health_check_and_rollback_goes_back(deployment: Deployment) -> None:
    box = deployment.box
    first = deployment.current_release(box)
    upgrade = release_bundle(deployment.work, deployment.bundle, "bundle-upgrade", "99.0.0")
    deployment.write_inventory(upgrade)
    deployment.playbook("edge.yml", "--limit", DEVICE)
    assert deployment.current_release(box) == "99.0.0"
    assert Path(box.ssh("readlink /opt/anpr/previous").stdout.strip()).name == first
    assert "99.0.0" in box.ssh("readlink -f /opt/anpr/venv").stdout
    assert deployment.box_health() == 200

    deployment.playbook("rollback.yml", "--limit", DEVICE)
    assert deployment.current_release(box) == first
    assert deployment.box_health() == 200


def test_a_release_that_fails_its_health_check_is_rolled_back(deployment: Deployment) -> None:
    box = deployment.box
    running = deployment.current_release(box)
    # A release whose detector weights are damaged: the config checks pass, the agent cannot start.
    source = deployment.work / "broken-source"
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    for name in files.stdout.splitlines():
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    for weights in (source / "edge/inference/weights").glob("*.onnx"):
        weights.write_bytes(b"not a model")
    broken = release_bundle(deployment.work, deployment.bundle, "bundle-broken", "99.0.1", source=source)
    deployment.write_inventory(broken)
    output, recap = deployment.playbook(
        "edge.yml", "--limit", DEVICE, "-e", "anpr_edge_health_timeout_s=60", expect_ok=False
    )
    assert recap[DEVICE]["failed"] == 1
    assert "Release 99.0.1 failed its health check" in output and f"is back on {running}" in output
    assert deployment.current_release(box) == running
    wait_until("the old release's /health", lambda: deployment.box_health() == 200, timeout_s=240)
    deployment.write_inventory(deployment.bundle)


def test_every_walkthrough_command_ran(deployment: Deployment) -> None:
    every = {
        (block, index) for block, (_, commands) in enumerate(walkthrough()) for index in range(len(commands))
    }
    assert len(walkthrough()) == 4
    assert every - deployment.walkthrough_ran == set(), "commands of the guide this test did not run"
