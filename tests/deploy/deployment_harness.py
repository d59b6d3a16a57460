"""What the deployment test drives: the hosts, the controller's files and the guide's walkthrough.

`Deployment` holds the two booted containers (nspawn.py), the controller's checkout (bundle, fleet,
inventory) and runs ansible-playbook and the blocks of docs/deployment.md's walkthrough on them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml
from nspawn import Container, Network

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO_ROOT / "ansible"
# The walkthrough's names and example addresses.
SITE, DEVICE, CENTRAL_HOST = "depot-north", "gate-in", "central1"
EXAMPLE_CENTRAL_IP = "192.0.2.10"
GUIDE = REPO_ROOT / "docs/deployment.md"
CENTRAL_DB = "/var/lib/anpr-central/central.db"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


class Deployment:
    """The hosts, the controller's files (fleet, bundle, inventory) and a playbook runner."""

    def __init__(self, work: Path, network: Network, central: Container, box: Container, bundle: Path):
        self.work, self.network, self.central, self.box, self.bundle = work, network, central, box, bundle
        # The controller's checkout as the walkthrough sees it: scripts/ of this repository, the
        # bundle in the cache (so its downloads are kept), fleet/ made by the walkthrough.
        self.controller = work / "controller"
        self.controller.mkdir()
        (self.controller / "scripts").symlink_to(REPO_ROOT / "scripts")
        bundle.mkdir(parents=True, exist_ok=True)  # on a fresh machine: the link must not dangle
        (self.controller / "bundle").symlink_to(bundle)
        self.fleet = self.controller / "fleet"
        self.inventory = work / "inventory.yml"
        self.logs = work / "ansible-logs"
        self.logs.mkdir(exist_ok=True)
        self.runs = 0
        self.walkthrough_ran: set[tuple[int, int]] = set()

    def _walkthrough_commands(self, block: int, where: set[str]) -> list[str]:
        found_where, commands = walkthrough()[block]
        assert found_where in where, f"walkthrough block {block} runs on {found_where!r}, expected {where}"
        return [command.replace(EXAMPLE_CENTRAL_IP, self.central.address) for command in commands]

    def run_walkthrough_block(self, block: int) -> str:
        """A controller block of the guide, run by bash in the controller's checkout."""
        commands = self._walkthrough_commands(block, {"controller: repository"})
        env = dict(
            os.environ,
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            PYTHONPATH=str(REPO_ROOT),
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
            cwd=self.controller,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert result.returncode == 0, (
            f"walkthrough block {block}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
        self.walkthrough_ran |= {(block, index) for index in range(len(commands))}
        return result.stdout

    def walkthrough_playbook(
        self, block: int, index: int, expect_ok: bool = True
    ) -> tuple[str, dict[str, dict[str, int]]]:
        """One `ansible-playbook -i inventory/prod.yml ...` line of the guide, on the test's inventory."""
        argv = shlex.split(self._walkthrough_commands(block, {"controller: ansible"})[index])
        assert argv[:3] == ["ansible-playbook", "-i", "inventory/prod.yml"], argv
        self.walkthrough_ran.add((block, index))
        return self.playbook(*argv[3:], expect_ok=expect_ok)

    def walkthrough_on_host(self, block: int) -> list[str]:
        """A block the guide runs on the box or the central host, one command at a time over SSH."""
        commands = self._walkthrough_commands(block, {"edge box", "central host"})
        host = self.box if walkthrough()[block][0] == "edge box" else self.central
        outputs = [host.ssh(f"bash -c {shlex.quote(command)}").stdout for command in commands]
        self.walkthrough_ran |= {(block, index) for index in range(len(commands))}
        return outputs

    def write_inventory(self, bundle: Path) -> None:
        inventory = {
            "all": {
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(self.network.key),
                    "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "anpr_offline_bundle": str(bundle),
                    "anpr_provisioning_root": str(self.fleet),
                },
                "children": {
                    "central": {
                        "hosts": {
                            CENTRAL_HOST: {
                                "ansible_host": self.central.address,
                                "anpr_central_admin_password_file": str(
                                    self.fleet / "central-admin.password"
                                ),
                            }
                        }
                    },
                    "monitoring": {"hosts": {CENTRAL_HOST: {}}},
                    "edge": {
                        "hosts": {
                            DEVICE: {
                                "ansible_host": self.box.address,
                                "anpr_site_id": SITE,
                                "anpr_device_id": DEVICE,
                                "anpr_edge_runtime": "onnxruntime",
                                # Scraped by the Prometheus on the central host, which the firewall admits.
                                "anpr_edge_http_host": "0.0.0.0",
                                "anpr_firewall_metrics_sources": [self.central.address],
                                "anpr_cameras": [
                                    {
                                        "id": "lane1",
                                        "source": "sample:clip",
                                        "loop": True,
                                        "realtime": True,
                                        "fps_limit": 5,
                                    }
                                ],
                            }
                        }
                    },
                },
            }
        }
        self.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))

    def playbook(self, *args: str, expect_ok: bool = True) -> tuple[str, dict[str, dict[str, int]]]:
        """Run ansible-playbook from ansible/ as the docs do; the output and the recap per host."""
        self.runs += 1
        env = dict(
            os.environ,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_PIPELINING="True",
            ANSIBLE_LOCAL_TEMP=str(self.work / "ansible-tmp"),
            ANSIBLE_HOME=str(self.work / "ansible-home"),
        )
        started = time.monotonic()
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", str(self.inventory), *args],
            cwd=ANSIBLE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        output = result.stdout + result.stderr
        log = self.logs / f"{self.runs:02d}-{'_'.join(a.replace('/', '') for a in args)[:60]}.log"
        log.write_text(f"# {time.monotonic() - started:.0f} s, rc {result.returncode}\n{output}")
        if expect_ok:
            assert result.returncode == 0, (
                f"ansible-playbook {' '.join(args)} failed ({log}):\n{output[-6000:]}"
            )
        recap = {
            host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)}
            for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)
        }
        return output, recap

    def central_db(self, sql: str) -> str:
        """One query on central's SQLite database, by the host's own python3."""
        query = f"import sqlite3; print(sqlite3.connect('{CENTRAL_DB}').execute('{sql}').fetchall())"
        return self.central.ssh(f'python3 -c "{query}"').stdout.strip()

    def event_count(self) -> int:
        return int(re.sub(r"\D", "", self.central_db("select count(*) from events")))

    def box_health(self) -> int:
        probe = (
            "import urllib.request as u\ntry:\n"
            " print(u.urlopen('http://127.0.0.1:9108/health', timeout=5).status)\n"
            "except Exception:\n print(0)"
        )
        return int(self.box.ssh(f"python3 -c {shlex.quote(probe)}").stdout.strip() or 0)

    def current_release(self, host: Container) -> str:
        return Path(host.ssh("readlink /opt/anpr/current").stdout.strip()).name


def walkthrough() -> list[tuple[str, list[str]]]:
    """The guide's walkthrough as (where, commands): its ```sh blocks, whose first line says where
    they run; a command's continuation lines are joined to it."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("<!-- walkthrough:start -->") : text.index("<!-- walkthrough:end -->")]
    blocks = []
    for block in re.findall(r"^( *)```sh\n(.*?)^\1```", section, re.M | re.S):
        indent, body = block
        lines = [line[len(indent) :] for line in body.splitlines()]
        where = lines[0].removeprefix("# ").strip()
        commands: list[str] = []
        for line in lines[1:]:
            if commands and commands[-1].endswith("\\"):
                commands[-1] = commands[-1][:-1] + line.strip()
            elif line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
        blocks.append((where, commands))
    return blocks


def release_bundle(work: Path, cached: Path, name: str, version: str, source: Path = REPO_ROOT) -> Path:
    """A bundle with another anpr wheel and the cached bundle's dependencies."""
    bundle = work / name
    (bundle / "wheels").mkdir(parents=True)
    for part in ("wheelhouse", "debs", "wheelhouse.tar", "debs.tar"):
        (bundle / part).symlink_to(cached / part)
    env = dict(os.environ, PYTHONPATH="", SETUPTOOLS_SCM_PRETEND_VERSION=version)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(bundle / "wheels"),
            str(source),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return bundle
