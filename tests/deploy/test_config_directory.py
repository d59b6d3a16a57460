"""The permissions of /etc/anpr as the units and the common role set them (root:anpr, mode 1775).

Central's config push rewrites edge.yaml with the agent's own atomic writer (a temporary file in
the same directory, then rename), so the agent's user must be able to add files there. The sticky
bit must still keep it from replacing or renaming what root owns: central.yaml and credentials/.
The checks run the real writer in a child process that has dropped to an unprivileged uid.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit_files import load

# The mode systemd applies to /etc/anpr at every start of an anpr unit.
CONFIG_DIR_MODE = int(load("anpr-edge.service").value("Service", "ConfigurationDirectoryMode"), 8)
UNPRIVILEGED = 65534  # nobody / nogroup: present on every Debian system, no user is created

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to set owners and drop privileges")


@pytest.fixture
def config_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: its parents are 0700, which the unprivileged child cannot cross.
    with tempfile.TemporaryDirectory(prefix="anpr-etc-") as top:
        os.chmod(top, 0o755)
        etc = Path(top) / "anpr"
        etc.mkdir()
        os.chown(etc, 0, UNPRIVILEGED)
        etc.chmod(CONFIG_DIR_MODE)
        edge_yaml = etc / "edge.yaml"
        edge_yaml.write_text("version: 1\n", encoding="utf-8")
        os.chown(edge_yaml, UNPRIVILEGED, UNPRIVILEGED)
        edge_yaml.chmod(0o640)
        (etc / "central.yaml").write_text("data_dir: /var/lib/anpr-central\n", encoding="utf-8")
        (etc / "central.yaml").chmod(0o640)
        credentials = etc / "credentials"
        credentials.mkdir(mode=0o700)
        (credentials / "store.key").write_bytes(bytes(32))
        yield etc


def _as_unprivileged(body: str) -> subprocess.CompletedProcess[str]:
    # Imports first: this interpreter's own files need not be readable by the unprivileged uid.
    prologue = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from edge.sync.config_applier import write_atomically
        os.setgid({UNPRIVILEGED})
        os.setgroups([])
        os.setuid({UNPRIVILEGED})
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_agent_can_rewrite_its_own_config(config_dir: Path) -> None:
    result = _as_unprivileged(
        f"""
        write_atomically(Path({str(config_dir / "edge.yaml")!r}), b"version: 2\\n")
        """
    )
    assert result.returncode == 0, result.stderr
    edge_yaml = config_dir / "edge.yaml"
    assert edge_yaml.read_text(encoding="utf-8") == "version: 2\n"
    assert (edge_yaml.stat().st_mode & 0o777, edge_yaml.stat().st_uid) == (0o640, UNPRIVILEGED)
    assert sorted(p.name for p in config_dir.iterdir()) == ["central.yaml", "credentials", "edge.yaml"]


def test_the_agent_cannot_replace_or_move_roots_files(config_dir: Path) -> None:
    result = _as_unprivileged(
        f"""
        etc = Path({str(config_dir)!r})
        refused = []
        for attempt in (
            lambda: write_atomically(etc / "central.yaml", b"data_dir: /tmp\\n"),
            lambda: os.rename(etc / "credentials", etc / "old-credentials"),
            lambda: os.unlink(etc / "central.yaml"),
            lambda: (etc / "credentials" / "store.key").read_bytes(),
        ):
            try:
                attempt()
            except PermissionError:
                refused.append(True)
            else:
                refused.append(False)
        print(refused)
        """
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[True, True, True, True]"), result.stderr
    assert (config_dir / "central.yaml").read_text(encoding="utf-8") == "data_dir: /var/lib/anpr-central\n"
    assert (config_dir / "credentials" / "store.key").read_bytes() == bytes(32)
    # A refused atomic write cleans up its temporary file.
    assert sorted(p.name for p in config_dir.iterdir()) == ["central.yaml", "credentials", "edge.yaml"]
