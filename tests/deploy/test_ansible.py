"""The Ansible tree: playbooks parse, roles use builtin modules only, and the config templates
render into files the edge agent and central accept (validated by their own pydantic models).

Rendering runs the real `ansible.builtin.template` module on localhost into a temp folder, with
the roles' own defaults and vars, so a template and its variables cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from unit_files import load

from central.config import load_central_config
from common.config import load_edge_config
from common.credentials import MQTT_CLIENT_KEY
from provisioning import layout
from provisioning.provisioner import Provisioner

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO_ROOT / "ansible"
ROLES_DIR = ANSIBLE_DIR / "roles"
PLAYBOOKS = ["site.yml", "edge.yml", "central.yml", "rollback.yml", "monitoring.yml"]


def _ansible_tool(name: str) -> str | None:
    # The venv running the tests first (ansible-core is a dev dependency), then PATH.
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


ANSIBLE_PLAYBOOK = _ansible_tool("ansible-playbook")
ANSIBLE_INVENTORY = _ansible_tool("ansible-inventory")
needs_ansible = pytest.mark.skipif(
    ANSIBLE_PLAYBOOK is None, reason="ansible-playbook is not installed (pip install ansible-core)"
)


def _ansible_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_BECOME="false",
        ANSIBLE_PIPELINING="true",
    )
    return env


@needs_ansible
def test_every_playbook_passes_the_syntax_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "--syntax-check", "-i", "inventory/example.yml", *PLAYBOOKS],
        cwd=ANSIBLE_DIR,
        env=_ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("playbook:")] == [
        f"playbook: {name}" for name in PLAYBOOKS
    ]


def _task_files() -> list[Path]:
    return sorted(p for p in ROLES_DIR.glob("*/*/*.yml") if p.parent.name in {"tasks", "handlers"})


# Keys a task may carry besides its one module.
TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "register", "notify", "listen", "vars", "become",
    "become_user", "delegate_to", "changed_when", "failed_when", "no_log", "until", "retries",
    "delay", "check_mode", "tags", "run_once", "environment", "ignore_errors",
}  # fmt: skip


def _flat_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks of a file with those inside block/rescue, the blocks themselves left out."""
    flat = []
    for task in tasks:
        if "block" in task:
            flat += _flat_tasks(task["block"]) + _flat_tasks(task.get("rescue", []))
        else:
            flat.append(task)
    return flat


def test_roles_use_builtin_modules_only() -> None:
    files = _task_files()
    roles = {"common", "base", "edge", "central", "mosquitto", "monitoring"}
    assert {p.parent.parent.name for p in files} == roles
    for path in files:
        for task in _flat_tasks(yaml.safe_load(path.read_text(encoding="utf-8"))):
            modules = [key for key in task if key not in TASK_KEYWORDS]
            assert len(modules) == 1, f"{path}: task {task.get('name')!r} has modules {modules}"
            assert modules[0].startswith("ansible.builtin."), f"{path}: {modules[0]} is not builtin"
            assert task.get("name"), f"{path}: every task is named"


def _tasks(role: str) -> list[dict[str, Any]]:
    return yaml.safe_load((ROLES_DIR / role / "tasks/main.yml").read_text(encoding="utf-8"))


def test_secrets_are_copied_root_only_and_never_logged() -> None:
    for role in ["edge", "central"]:
        copies = [t for t in _tasks(role) if "ansible.builtin.copy" in t]
        secret_copies = [t for t in copies if "credentials" in str(t["ansible.builtin.copy"]["dest"])]
        assert secret_copies, role
        for task in secret_copies:
            copy = task["ansible.builtin.copy"]
            assert (copy["owner"], copy["group"], copy["mode"]) == ("root", "root", "0600"), role
            assert task.get("no_log") is True, role


def test_common_role_gives_the_config_directory_the_units_mode() -> None:
    unit_mode = load("anpr-edge.service").value("Service", "ConfigurationDirectoryMode")
    (task,) = [t for t in _tasks("common") if t["name"] == "Create the config directory"]
    directory = task["ansible.builtin.file"]
    assert (directory["owner"], directory["group"]) == ("root", "{{ anpr_group }}")
    assert int(directory["mode"], 8) == int(unit_mode, 8) == 0o1775


def test_broker_secrets_are_readable_by_mosquitto_only() -> None:
    copies = {
        t["name"]: t["ansible.builtin.copy"] for t in _tasks("mosquitto") if "ansible.builtin.copy" in t
    }
    secret = [c for name, c in copies.items() if "password" in name or "key" in name]
    assert len(secret) == 2
    for copy in secret:
        assert (copy["owner"], copy["group"], copy["mode"]) == ("mosquitto", "mosquitto", "0600")


@needs_ansible
def test_example_inventory_has_edge_and_central_groups(tmp_path: Path) -> None:
    assert ANSIBLE_INVENTORY is not None
    result = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", "inventory/example.yml", "--list"],
        cwd=ANSIBLE_DIR,
        env=_ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    assert inventory["central"]["hosts"] == ["central1"]
    assert sorted(inventory["edge"]["hosts"]) == ["gate-in", "gate-out"]
    for host in inventory["edge"]["hosts"]:
        host_vars = inventory["_meta"]["hostvars"][host]
        assert host_vars["anpr_device_id"] == host
        assert host_vars["anpr_cameras"], host


def _yaml_file(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real provisioning root: central, a broker certificate, a password box, a certificate box."""
    root = tmp_path_factory.mktemp("fleet")
    provisioner = Provisioner(root)
    provisioner.add_central("central", use_tool=False)
    provisioner.server_cert(["mqtt.example.net"])
    provisioner.add_device("depot-north", "gate-in", broker_host="mqtt.example.net", tls=True, use_tool=False)
    provisioner.add_device(
        "depot-north", "gate-out", broker_host="mqtt.example.net", client_cert=True, use_tool=False
    )
    return root


def _snippet(fleet: Path, device: str) -> dict[str, Any]:
    return _yaml_file(fleet / "devices" / "depot-north" / device / "edge.yaml")


def _edge_vars(fleet: Path, device: str, **extra: Any) -> dict[str, Any]:
    return {
        "anpr_provisioning_root": str(fleet),
        "anpr_site_id": "depot-north",
        "anpr_device_id": device,
        # What the role's set_fact reads from the provisioning bundle.
        "anpr_edge_provisioned": _snippet(fleet, device),
        "anpr_edge_mqtt_username": _snippet(fleet, device)["mqtt"].get("username"),
        "anpr_edge_countries": ["RU"],
        "anpr_cameras": [
            # Characters that break hand-written YAML: the template must quote them.
            {"id": "lane1", "source": "rtsp://cam:p@ss#1: x@192.0.2.31/stream1", "fps_limit": 10},
            {"id": "lane2", "source": "usb:0", "roi": [0.1, 0.3, 0.9, 1.0]},
        ],
        "anpr_edge_config_extra": {"tracking": {"min_reads": 3}},
        **extra,
    }


def _render_cases(fleet: Path) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        "edge_password": ("edge", "edge.yaml.j2", _edge_vars(fleet, "gate-in")),
        "edge_client_cert": ("edge", "edge.yaml.j2", _edge_vars(fleet, "gate-out")),
        # A misspelt key in anpr_edge_config_extra reaches the file, and the agent refuses the file.
        "edge_misspelt": (
            "edge",
            "edge.yaml.j2",
            _edge_vars(fleet, "gate-in", anpr_edge_config_extra={"tracking": {"min_read": 3}}),
        ),
        "edge_dropin": ("edge", "client-cert.conf.j2", _edge_vars(fleet, "gate-out")),
        "central_postgresql": (
            "central",
            "central.yaml.j2",
            {"anpr_central_postgresql_local": True, "anpr_central_config_extra": {"online_timeout_s": 600}},
        ),
        "central_defaults": ("central", "central.yaml.j2", {}),
        "mosquitto_all": ("mosquitto", "anpr.conf.j2", {"anpr_provisioning_root": str(fleet)}),
        "mosquitto_no_certs": (
            "mosquitto",
            "anpr.conf.j2",
            {"anpr_provisioning_root": str(fleet), "anpr_mosquitto_client_cert_listener": False},
        ),
    }


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory: pytest.TempPathFactory, fleet: Path) -> Path:
    """Every rendering case in one ansible-playbook run (Ansible's start-up is the slow part)."""
    if ANSIBLE_PLAYBOOK is None:
        pytest.skip("ansible-playbook is not installed (pip install ansible-core)")
    tmp_path = tmp_path_factory.mktemp("render")
    tasks = []
    for case, (role, template, host_vars) in _render_cases(fleet).items():
        # Later layers win: defaults < inventory host vars < role vars, as when the role runs.
        merged: dict[str, Any] = {}
        for layer in [
            _yaml_file(ROLES_DIR / "common/defaults/main.yml"),
            _yaml_file(ROLES_DIR / role / "defaults/main.yml"),
            # The playbooks find the repository from playbook_dir; this playbook lives elsewhere.
            host_vars | {"anpr_repo_root": str(REPO_ROOT)},
            _yaml_file(ROLES_DIR / role / "vars/main.yml"),
        ]:
            merged |= layer
        # set_fact runs on the controller: no module process per case, which keeps this fast. The
        # template lookup renders with the same engine and the task's variables as the module.
        tasks.append(
            {
                "name": case,
                "ansible.builtin.set_fact": {
                    "anpr_test_renders": "{{ anpr_test_renders | default({}) | combine({anpr_test_case: "
                    "lookup('ansible.builtin.template', anpr_test_template)}) }}"
                },
                "vars": merged
                | {
                    "anpr_test_case": case,
                    "anpr_test_template": str(ROLES_DIR / role / "templates" / template),
                },
            }
        )
    renders_file = tmp_path / "renders.json"
    tasks.append(
        {
            "name": "write every rendering",
            "ansible.builtin.copy": {
                "content": "{{ anpr_test_renders | to_json }}",
                "dest": str(renders_file),
                "mode": "0600",
            },
        }
    )
    plays = [
        {
            "name": "render the role templates",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "become": False,
            # The tests' own interpreter; discovery might pick another python on this machine.
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": tasks,
        }
    ]
    playbook_path = tmp_path / "render.yml"
    playbook_path.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook_path)],
        cwd=tmp_path,
        env=_ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for case, text in json.loads(renders_file.read_text(encoding="utf-8")).items():
        (tmp_path / case).write_text(text, encoding="utf-8")
    return tmp_path


def test_edge_template_renders_a_config_the_agent_accepts(render_dir: Path) -> None:
    config = load_edge_config(render_dir / "edge_password")
    assert (config.site_id, config.device_id) == ("depot-north", "gate-in")
    assert [c.id for c in config.cameras] == ["lane1", "lane2"]
    assert config.cameras[0].source == "rtsp://cam:p@ss#1: x@192.0.2.31/stream1"
    assert config.cameras[1].roi == (0.1, 0.3, 0.9, 1.0)
    assert config.reader.countries == ["RU"]
    assert config.tracking.min_reads == 3, "anpr_edge_config_extra is merged in"
    # Paths the unit (systemd/anpr-edge.service) and the role provide.
    assert str(config.store.path) == "/var/lib/anpr-edge/events.db"
    assert str(config.store.key_file) == "/etc/anpr/credentials/store.key"
    assert (config.http.host, config.http.port) == ("127.0.0.1", 9108)


def test_edge_template_takes_the_broker_login_from_provisioning(render_dir: Path) -> None:
    config = load_edge_config(render_dir / "edge_password")
    assert config.mqtt.enabled and config.mqtt.tls
    assert (config.mqtt.host, config.mqtt.port) == ("mqtt.example.net", layout.TLS_PORT)
    assert config.mqtt.username == "depot-north/gate-in"
    # The root-only file; under systemd the agent reads the credential anpr-mqtt-password instead.
    assert str(config.mqtt.password_file) == "/etc/anpr/credentials/mqtt.password"
    assert str(config.mqtt.ca_file) == "/etc/anpr/mqtt-ca.crt"
    assert config.mqtt.cert_file is None


def test_edge_template_logs_in_with_the_client_certificate_when_provisioned_so(render_dir: Path) -> None:
    config = load_edge_config(render_dir / "edge_client_cert")
    assert (config.mqtt.port, config.mqtt.tls, config.mqtt.username) == (layout.CLIENT_CERT_PORT, True, None)
    assert str(config.mqtt.cert_file) == "/etc/anpr/mqtt-client.crt"
    assert str(config.mqtt.key_file) == "/etc/anpr/credentials/client.key"
    dropin = (render_dir / "edge_dropin").read_text(encoding="utf-8")
    assert "LoadCredential=anpr-mqtt-client-key:/etc/anpr/credentials/client.key" in dropin.splitlines()
    assert f"LoadCredential={MQTT_CLIENT_KEY}:{layout.CONFIG_DIR / layout.CLIENT_KEY}" in dropin.splitlines()


@pytest.mark.parametrize(("device", "case"), [("gate-in", "edge_password"), ("gate-out", "edge_client_cert")])
def test_edge_template_and_provisioning_agree_on_every_path_and_the_port(
    render_dir: Path, fleet: Path, device: str, case: str
) -> None:
    """The role's edge.yaml and the provisioning snippet (written for /etc/anpr) name the same files."""
    rendered = load_edge_config(render_dir / case)
    provisioned = load_edge_config(fleet / "devices" / "depot-north" / device / "edge.yaml")
    fields = {"host", "port", "tls", "username", "password_file", "ca_file", "cert_file", "key_file"}
    assert rendered.mqtt.model_dump(include=fields) == provisioned.mqtt.model_dump(include=fields)
    assert rendered.store.key_file == provisioned.store.key_file


def test_edge_role_installs_each_bundle_file_where_the_bundle_layout_puts_it(fleet: Path) -> None:
    """Every file the role copies from a bundle exists in a real bundle, and lands at the same
    relative path under /etc/anpr (the bundle mirrors the box's config directory)."""
    bundle = fleet / "devices" / "depot-north" / "gate-out"
    role_vars = _yaml_file(ROLES_DIR / "common/defaults/main.yml")
    role_vars |= _yaml_file(ROLES_DIR / "edge/vars/main.yml")
    installed: dict[str, str] = {}
    for task in _tasks("edge"):
        copy = task.get("ansible.builtin.copy")
        if not copy or "anpr_provisioning_device_dir" not in copy["src"]:
            continue
        items = ["mqtt.password", "client.key"] if "{{ item }}" in copy["src"] else [""]
        for item in items:
            src = copy["src"].replace("{{ anpr_provisioning_device_dir }}/", "").replace("{{ item }}", item)
            dest = copy["dest"].replace("{{ item }}", item)
            for name in ["anpr_edge_ca_path", "anpr_edge_client_cert_path", "anpr_credentials_dir"]:
                dest = dest.replace("{{ " + name + " }}", str(role_vars[name]))
            installed[src] = dest.replace("{{ anpr_config_dir }}", str(role_vars["anpr_config_dir"]))
    bundle_files = [layout.BROKER_CA, layout.CLIENT_CERT, *layout.CREDENTIAL_NAMES]
    assert sorted(installed) == sorted(str(path) for path in bundle_files)
    for src, dest in installed.items():
        assert (bundle / src).is_file(), src
        assert dest == str(layout.CONFIG_DIR / src)


def test_edge_role_never_replaces_a_boxs_store_key() -> None:
    (task,) = [t for t in _tasks("edge") if "store.key" in str(t.get("ansible.builtin.copy", {}).get("src"))]
    assert task["ansible.builtin.copy"]["force"] is False


def test_edge_template_passes_extra_keys_through_for_the_agent_to_judge(render_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"tracking\.min_read"):
        load_edge_config(render_dir / "edge_misspelt")


def test_central_template_renders_a_config_central_accepts(render_dir: Path) -> None:
    config = load_central_config(render_dir / "central_postgresql", env={})
    assert str(config.data_dir) == "/var/lib/anpr-central"
    assert config.database_url == "postgresql+psycopg:///anpr?host=/run/postgresql"
    assert config.database.auto_migrate is False, "anpr-central-db-upgrade.service migrates"
    assert str(config.mqtt.password_file) == "/run/credentials/anpr-central.service/anpr-mqtt-password"
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1883, False)
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8080)
    assert config.online_timeout_s == 600


def test_central_template_defaults_to_sqlite_in_the_state_directory(render_dir: Path) -> None:
    config = load_central_config(render_dir / "central_defaults", env={})
    assert config.database_url == "sqlite:////var/lib/anpr-central/central.db"


def _conf_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_broker_config_is_deploy_mosquitto_anpr_conf(render_dir: Path) -> None:
    shipped = (REPO_ROOT / "deploy/mosquitto/anpr.conf").read_text(encoding="utf-8")
    assert _conf_lines((render_dir / "mosquitto_all").read_text(encoding="utf-8")) == _conf_lines(shipped)


def test_broker_config_drops_only_the_certificate_listener_without_a_client_ca(render_dir: Path) -> None:
    shipped = _conf_lines((REPO_ROOT / "deploy/mosquitto/anpr.conf").read_text(encoding="utf-8"))
    rendered = _conf_lines((render_dir / "mosquitto_no_certs").read_text(encoding="utf-8"))
    cert_listener = f"listener {layout.CLIENT_CERT_PORT}"
    assert cert_listener in shipped and cert_listener not in rendered
    assert not any("clients-ca.pem" in line or "crl.pem" in line for line in rendered)
    assert rendered == shipped[: len(rendered)], "everything before the certificate listener is kept"
    assert {f"listener {layout.PLAIN_PORT} 127.0.0.1", f"listener {layout.TLS_PORT}"} <= set(rendered)


def test_mosquitto_role_ports_are_the_provisioning_ones() -> None:
    role_vars = _yaml_file(ROLES_DIR / "mosquitto/vars/main.yml")
    assert (
        role_vars["anpr_mosquitto_plain_port"],
        role_vars["anpr_mosquitto_tls_port"],
        role_vars["anpr_mosquitto_cert_port"],
    ) == (layout.PLAIN_PORT, layout.TLS_PORT, layout.CLIENT_CERT_PORT)
