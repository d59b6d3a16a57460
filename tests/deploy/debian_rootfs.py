"""A Debian 12 root file system for booted test containers, built once with debootstrap and cached.

The tarball's name carries a hash of everything that shapes it (suite, mirror, package list), so a
change to the list builds a new one and an unchanged list reuses the cache. A fresh copy of the
tarball is unpacked per container: it boots in seconds, where debootstrap takes minutes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import tarfile
from pathlib import Path

SUITE = "bookworm"
# What a freshly installed Debian 12 box has that minbase lacks: an init, SSH and sudo for Ansible,
# Python for its modules. Everything the roles need beyond this they must install themselves.
PACKAGES = (
    "python3",
    "systemd",
    "systemd-sysv",
    "dbus",
    "ca-certificates",
    "openssh-server",
    "sudo",
    "iproute2",
)
CACHE_DIR = Path(os.environ.get("ANPR_TEST_CACHE", "/var/cache/anpr-test"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def apt_mirror(
    sources_dir: Path = Path("/etc/apt/sources.list.d"), sources_list: Path = Path("/etc/apt/sources.list")
) -> str:
    """The Debian mirror this machine's apt uses (it is known to be reachable), else deb.debian.org."""
    texts = [p.read_text(errors="replace") for p in sorted(sources_dir.glob("*.sources"))]
    for text in texts:
        for stanza in text.split("\n\n"):
            if re.search(r"^Suites:.*\bbookworm\b", stanza, re.M) and "security" not in stanza:
                match = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if match:
                    return match.group(1)
    if sources_list.exists():
        for line in sources_list.read_text(errors="replace").splitlines():
            match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


def rootfs_tarball(mirror: str | None = None, cache_dir: Path = CACHE_DIR) -> Path:
    """Path of the cached rootfs tarball, built first when missing (root and debootstrap needed)."""
    mirror = mirror or apt_mirror()
    key = hashlib.sha256("\n".join([SUITE, mirror, *PACKAGES]).encode()).hexdigest()[:16]
    tarball = cache_dir / f"debian-{SUITE}-{key}.tar"
    if tarball.exists():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    # One builder at a time: a second test run waits for the first one's tarball.
    with open(cache_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        build_dir = cache_dir / f"build-{key}"
        subprocess.run(["rm", "-rf", str(build_dir)], check=True)
        log = cache_dir / f"debootstrap-{key}.log"
        with open(log, "w") as out:
            result = subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=" + ",".join(PACKAGES),
                    SUITE,
                    str(build_dir),
                    mirror,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1800,
            )
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed ({result.returncode}), see {log}")
        partial = tarball.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(build_dir, arcname=".")
        partial.rename(tarball)
        subprocess.run(["rm", "-rf", str(build_dir)], check=True)
    return tarball


if __name__ == "__main__":
    print(rootfs_tarball())
