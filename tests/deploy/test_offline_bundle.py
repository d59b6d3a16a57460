"""The offline bundle holds every Debian package the roles install, and nothing they do not.

scripts/build-offline-bundle.sh downloads deploy/offline/debian-packages.txt; the roles name their
packages in common's vars (anpr_common_packages) and in the `anpr_packages` of each include of
common's tasks/packages.yml. A package added to a role but not to the list would make an offline
install fail on the box; the deployment test (test_deployment_nspawn.py) shows such an install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = REPO_ROOT / "ansible/roles"
BUNDLE_LIST = REPO_ROOT / "deploy/offline/debian-packages.txt"


def _bundle_packages() -> set[str]:
    lines = BUNDLE_LIST.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


def _tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for task in tasks:
        flat += _tasks(task["block"]) + _tasks(task.get("rescue", [])) if "block" in task else [task]
    return flat


def _role_packages() -> set[str]:
    common_vars = yaml.safe_load((ROLES / "common/vars/main.yml").read_text(encoding="utf-8"))
    packages = set(common_vars["anpr_common_packages"])
    for path in ROLES.glob("*/tasks/*.yml"):
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            include = task.get("ansible.builtin.include_role") or {}
            if include.get("tasks_from") == "packages":
                packages |= set(task["vars"]["anpr_packages"])
            assert "ansible.builtin.apt" not in task or path.name == "packages.yml", (
                f"{path}: {task['name']!r} installs with apt itself; include common's packages.yml "
                "so that offline hosts install from the bundle"
            )
    return packages


def test_the_bundle_lists_exactly_the_packages_the_roles_install() -> None:
    roles = _role_packages()
    assert {"mosquitto", "postgresql", "prometheus", "python3-apt", "nftables"} <= roles
    assert _bundle_packages() == roles
