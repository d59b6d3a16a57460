"""MQTT passwords and the Mosquitto password file.

Hashes use Mosquitto 2's PBKDF2-SHA512 format, `$7$<iterations>$<salt b64>$<hash b64>`. When
`mosquitto_passwd` is installed it makes the hash (so the format is exactly the broker's own);
the password travels to it in a 0600 temporary file, never on a command line that `ps` shows.
Without the tool the same format is computed here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes; the broker reads the count from the hash
SALT_BYTES = 12
HASH_BYTES = 64
MOSQUITTO_PASSWD_CANDIDATES = ("/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd")


class PasswordFileError(ValueError):
    """A password file line or a username that Mosquitto could not use."""


def generate_password() -> str:
    return secrets.token_urlsafe(24)  # 192 bits, safe in YAML, files and shells


def find_mosquitto_passwd() -> str | None:
    found = shutil.which("mosquitto_passwd")
    if found:
        return found
    return next((p for p in MOSQUITTO_PASSWD_CANDIDATES if os.access(p, os.X_OK)), None)


def check_username(username: str) -> str:
    if (
        not username
        or ":" in username
        or any(ch in username for ch in "\r\n\0")
        or username != username.strip()
    ):
        raise PasswordFileError(f"username {username!r} cannot be stored in a Mosquitto password file")
    return username


def pbkdf2_hash(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_hash(stored: str, password: str) -> bool:
    """Check a `$7$` hash the way the broker does."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7":
        raise PasswordFileError("not a Mosquitto PBKDF2-SHA512 ($7$) hash")
    iterations, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(digest))
    return hmac.compare_digest(candidate, digest)


def hash_password(username: str, password: str, *, use_tool: bool = True) -> str:
    """The hash part of a password-file line for `username`."""
    check_username(username)
    tool = find_mosquitto_passwd() if use_tool else None
    if tool is None:
        return pbkdf2_hash(password)
    with tempfile.TemporaryDirectory(prefix="anpr-passwd-") as tmp:
        plain = Path(tmp) / "passwd"
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{username}:{password}\n")
        result = subprocess.run([tool, "-U", str(plain)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PasswordFileError(
                f"mosquitto_passwd failed: {result.stderr.strip() or result.stdout.strip()}"
            )
        line = plain.read_text(encoding="utf-8").strip()
    name, _, hashed = line.partition(":")
    if name != username or not hashed.startswith("$"):
        raise PasswordFileError(f"mosquitto_passwd wrote an unexpected line for {username!r}")
    return hashed


def read_password_file(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        if not sep or not hashed:
            raise PasswordFileError(f"{path}:{number}: expected username:hash")
        entries[name] = hashed
    return entries


def render_password_file(entries: dict[str, str]) -> str:
    return "".join(f"{check_username(name)}:{hashed}\n" for name, hashed in sorted(entries.items()))
