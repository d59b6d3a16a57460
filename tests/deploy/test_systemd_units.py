"""The shipped systemd units: valid for systemd itself, sandboxed, and wired the way the agent expects.

`systemd-analyze verify` runs against a throwaway root holding the units, the distribution's own
units (for targets such as multi-user.target) and stand-ins for the console scripts, so it also
checks that every ExecStart= names the installed path. `systemd-analyze security --offline`
scores the sandbox; the thresholds are today's scores, so a directive dropped by mistake fails.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from unit_files import REPO_ROOT, SYSTEMD_DIR, UnitFile, UnitSyntaxError, load, parse_unit

from common.crypto import STORE_KEY_CREDENTIAL
from provisioning import layout

UNITS = ["anpr-edge.service", "anpr-central.service", "anpr-central-db-upgrade.service"]
VENV_BIN = Path("/opt/anpr/venv/bin")
SYSTEM_UNIT_DIR = Path("/usr/lib/systemd/system")

systemd_analyze = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    systemd_analyze is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


# Root's hourly oneshot that exports certificate expiry (provisioning/expiry_metrics.py), and its timer.
EXPIRY_UNITS = ["anpr-expiry-metrics.service", "anpr-expiry-metrics.timer"]


def test_the_unit_directory_holds_exactly_the_documented_units() -> None:
    assert sorted(p.name for p in SYSTEMD_DIR.iterdir() if p.is_file()) == sorted(UNITS + EXPIRY_UNITS)


def test_the_expiry_unit_runs_the_exporter_with_its_arguments() -> None:
    argv = _exec_argv(load("anpr-expiry-metrics.service"))
    assert argv[:3] == [str(VENV_BIN / "python"), "-m", "provisioning.expiry_metrics"]
    assert argv[-1] == "$ANPR_EXPIRY_FILES", "the roles' drop-ins name the files"
    out = Path(argv[argv.index("--out") + 1])
    assert out.parent == Path("/var/lib/prometheus/node-exporter"), "Debian's textfile collector folder"
    assert load("anpr-expiry-metrics.service").value("Service", "ReadWritePaths") == str(out.parent)


def test_reader_keeps_repeated_and_empty_assignments(tmp_path: Path) -> None:
    unit_path = tmp_path / "x.service"
    unit_path.write_text("[Service]\nA=1\nA=2 3\nB=\nC=one \\\n  two\n", encoding="utf-8")
    unit = parse_unit(unit_path)
    assert unit.values("Service", "A") == ["1", "2 3"]
    assert unit.words("Service", "A") == ["1", "2", "3"]
    assert unit.value("Service", "B") == ""
    assert unit.value("Service", "C") == "one two"
    with pytest.raises(KeyError, match="appears 2 times"):
        unit.value("Service", "A")
    unit_path.write_text("A=1\n", encoding="utf-8")
    with pytest.raises(UnitSyntaxError, match="before any"):
        parse_unit(unit_path)


def _exec_argv(unit: UnitFile) -> list[str]:
    return shlex.split(unit.value("Service", "ExecStart"))


def test_exec_start_uses_the_console_scripts_pyproject_installs() -> None:
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    expected = {
        "anpr-edge.service": ["anpr-edge", "run", "--config", "/etc/anpr/edge.yaml"],
        "anpr-central.service": ["anpr-central", "--config", "/etc/anpr/central.yaml", "serve"],
        "anpr-central-db-upgrade.service": [
            "anpr-central",
            "--config",
            "/etc/anpr/central.yaml",
            "db",
            "upgrade",
        ],
    }
    for name, (script, *args) in expected.items():
        argv = _exec_argv(load(name))
        assert argv == [str(VENV_BIN / script), *args], name
        assert script in scripts, f"{script} is not a [project.scripts] entry"


def test_exec_start_arguments_are_accepted_by_the_real_command_lines() -> None:
    from central.cli import build_parser as central_parser
    from edge.cli import build_parser as edge_parser

    edge_args = edge_parser().parse_args(_exec_argv(load("anpr-edge.service"))[1:])
    assert (edge_args.command, str(edge_args.config)) == ("run", "/etc/anpr/edge.yaml")
    serve = central_parser().parse_args(_exec_argv(load("anpr-central.service"))[1:])
    assert (serve.command, str(serve.config)) == ("serve", "/etc/anpr/central.yaml")
    upgrade = central_parser().parse_args(_exec_argv(load("anpr-central-db-upgrade.service"))[1:])
    assert (upgrade.command, upgrade.db_command, str(upgrade.config)) == (
        "db",
        "upgrade",
        "/etc/anpr/central.yaml",
    )


@pytest.mark.parametrize("name", UNITS)
def test_every_unit_is_sandboxed(name: str) -> None:
    unit = load(name)
    service = "Service"
    assert unit.value(service, "User") == "anpr"
    assert unit.value(service, "Group") == "anpr"
    assert unit.value(service, "CapabilityBoundingSet") == "", "no capabilities at all"
    assert unit.value(service, "AmbientCapabilities") == ""
    for key in [
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectClock",
        "RestrictNamespaces",
        "RestrictSUIDSGID",
        "RestrictRealtime",
        "LockPersonality",
    ]:
        assert unit.value(service, key) == "yes", key
    assert unit.value(service, "ProtectSystem") == "strict"
    assert unit.value(service, "SystemCallArchitectures") == "native"
    filters = unit.values(service, "SystemCallFilter")
    assert filters[0] == "@system-service", "an allow list first, then deny lists"
    assert all(f.startswith("~") for f in filters[1:])
    assert "~@privileged" in " ".join(filters[1:])
    assert set(unit.words(service, "RestrictAddressFamilies")) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
        "AF_NETLINK",
    }
    assert unit.value(service, "UMask") == "0077"
    assert unit.value(service, "ConfigurationDirectory") == "anpr"


def test_edge_unit_is_a_watched_notify_service() -> None:
    unit = load("anpr-edge.service")
    assert unit.value("Service", "Type") == "notify"
    assert unit.value("Service", "NotifyAccess") == "main", "only the agent itself may report readiness"
    assert unit.value("Service", "WatchdogSec") == "30s"
    assert unit.value("Service", "Restart") == "always"
    assert unit.value("Service", "RestartSec") == "10s"
    assert unit.value("Unit", "StartLimitIntervalSec") == "0", "an unattended box never gives up restarting"
    assert unit.value("Service", "StateDirectory") == "anpr-edge"
    assert unit.value("Install", "WantedBy") == "multi-user.target"


def test_units_agree_on_the_shared_configuration_directory() -> None:
    # systemd re-applies the mode at every start: two units with different modes would fight.
    modes = {name: load(name).value("Service", "ConfigurationDirectoryMode") for name in UNITS}
    assert set(modes.values()) == {"1775"}, modes


def test_edge_unit_may_rewrite_its_config_for_central_pushes_and_reload_it() -> None:
    unit = load("anpr-edge.service")
    assert unit.values("Service", "ReadWritePaths") == ["/etc/anpr"]
    assert unit.value("Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    for name in ["anpr-central.service", "anpr-central-db-upgrade.service"]:
        assert not load(name).has("Service", "ReadWritePaths"), name


def test_edge_unit_gets_its_secrets_as_credentials() -> None:
    credentials = load("anpr-edge.service").values("Service", "LoadCredential")
    assert sorted(credentials) == [
        "anpr-mqtt-password:/etc/anpr/credentials/mqtt.password",
        f"{STORE_KEY_CREDENTIAL}:/etc/anpr/credentials/store.key",
    ]


def test_edge_unit_loads_the_files_provisioning_writes_under_the_names_the_agent_reads() -> None:
    # The client key comes from the edge role's drop-in (tests/deploy/test_ansible.py), only where
    # the box logs in with a certificate.
    expected = {
        f"{name}:{layout.CONFIG_DIR / path}"
        for path, name in layout.CREDENTIAL_NAMES.items()
        if path != layout.CLIENT_KEY
    }
    assert set(load("anpr-edge.service").values("Service", "LoadCredential")) == expected
    assert load("anpr-edge.service").value("Service", "ConfigurationDirectory") == layout.CONFIG_DIR.name


def test_edge_unit_reaches_usb_cameras_and_nothing_else() -> None:
    unit = load("anpr-edge.service")
    assert unit.value("Service", "SupplementaryGroups") == "video"
    assert unit.value("Service", "PrivateDevices") == "no"
    assert unit.value("Service", "DevicePolicy") == "closed"
    assert unit.values("Service", "DeviceAllow") == ["char-video4linux rw"]


def test_edge_unit_fits_the_memory_target_and_yields_the_cpu() -> None:
    unit = load("anpr-edge.service")
    assert unit.value("Service", "MemoryHigh") == "1G"
    assert unit.value("Service", "MemoryMax") == "1280M"
    assert int(unit.value("Service", "CPUWeight")) < 100


def test_edge_unit_caps_glibc_malloc_arenas() -> None:
    """The agent's ~25 threads would each get a malloc arena holding freed memory (~100 MB at 8
    cameras, bench/bench_edge.py); the bench runs with the same cap."""
    unit = load("anpr-edge.service")
    environment = [item for line in unit.values("Service", "Environment") for item in shlex.split(line)]
    assert "MALLOC_ARENA_MAX=2" in environment


def test_write_execute_memory_is_denied_where_no_jit_runs() -> None:
    # OpenVINO's CPU plugin JIT-compiles kernels (see test_write_execute_memory.py for the evidence).
    assert not load("anpr-edge.service").has("Service", "MemoryDenyWriteExecute")
    for name in ["anpr-central.service", "anpr-central-db-upgrade.service"]:
        assert load(name).value("Service", "MemoryDenyWriteExecute") == "yes", name


def test_central_runs_migrations_before_every_start() -> None:
    central = load("anpr-central.service")
    upgrade = load("anpr-central-db-upgrade.service")
    assert "anpr-central-db-upgrade.service" in central.words("Unit", "Requires")
    assert "anpr-central-db-upgrade.service" in central.words("Unit", "After")
    assert upgrade.value("Service", "Type") == "oneshot"
    # Without RemainAfterExit the oneshot goes back to inactive, so each start of the server runs it.
    assert not upgrade.has("Service", "RemainAfterExit")
    assert "Install" not in upgrade.sections, "only the server pulls the migration in"
    assert central.value("Service", "Type") == "exec"
    assert central.value("Service", "StateDirectory") == upgrade.value("Service", "StateDirectory")
    assert central.values("Service", "LoadCredential") == [
        "anpr-mqtt-password:/etc/anpr/credentials/central-mqtt.password"
    ]


def _verify_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(SYSTEMD_DIR / name, unit_dir / name)
    shutil.copytree(SYSTEM_UNIT_DIR, root / "usr/lib/systemd/system", symlinks=True)
    # Stand-ins for every command the units run: our console scripts (not installed here) and
    # system tools, which must exist on this machine under the same path.
    for name in UNITS:
        unit = load(name)
        for key in ["ExecStart", "ExecStartPre", "ExecReload", "ExecStop"]:
            for command in unit.values("Service", key):
                executable = Path(shlex.split(command)[0].lstrip("-+!@:"))
                if not executable.is_relative_to(VENV_BIN):
                    assert executable.exists(), f"{name}: {key}= runs {executable}, missing on this machine"
                stand_in = root / executable.relative_to("/")
                stand_in.parent.mkdir(parents=True, exist_ok=True)
                stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
                stand_in.chmod(0o755)
    return root


@needs_systemd_analyze
@pytest.mark.skipif(not SYSTEM_UNIT_DIR.is_dir(), reason=f"{SYSTEM_UNIT_DIR} is missing")
def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    root = _verify_root(tmp_path)
    result = subprocess.run(
        [str(systemd_analyze), "verify", f"--root={root}", *UNITS],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown or misspelt directives are only warnings (exit 0), so any output at all is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_systemd_analyze_verify_catches_a_missing_executable(tmp_path: Path) -> None:
    root = _verify_root(tmp_path)
    (root / VENV_BIN.relative_to("/") / "anpr-edge").unlink()
    result = subprocess.run(
        [str(systemd_analyze), "verify", f"--root={root}", "anpr-edge.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "/opt/anpr/venv/bin/anpr-edge" in result.stderr


# Exposure in tenths, as `systemd-analyze security --threshold` takes it; today's scores are 1.8 and 1.1.
EXPOSURE_LIMITS = {
    "anpr-edge.service": 18,
    "anpr-central.service": 11,
    "anpr-central-db-upgrade.service": 11,
}


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_exposure_score_does_not_regress(name: str) -> None:
    result = subprocess.run(
        [
            str(systemd_analyze),
            "security",
            "--offline=yes",
            "--no-pager",
            f"--threshold={EXPOSURE_LIMITS[name]}",
            str(SYSTEMD_DIR / name),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    overall = [line for line in result.stdout.splitlines() if "Overall exposure level" in line]
    assert result.returncode == 0, overall or result.stderr
