"""A small reader for systemd unit files, enough to check what the shipped units say.

configparser cannot be used: units repeat keys (LoadCredential=, SystemCallFilter=, After=) and a
repeated key adds to the list rather than replacing it. An empty assignment (`CapabilityBoundingSet=`)
is kept as the empty string, because for several directives it means "reset to nothing".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO_ROOT / "systemd"


class UnitSyntaxError(ValueError):
    pass


@dataclass
class UnitFile:
    path: Path
    sections: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def values(self, section: str, key: str) -> list[str]:
        return self.sections.get(section, {}).get(key, [])

    def value(self, section: str, key: str) -> str:
        """The single value of a key that must appear exactly once."""
        found = self.values(section, key)
        if len(found) != 1:
            raise KeyError(f"{self.path.name}: [{section}] {key}= appears {len(found)} times, expected once")
        return found[0]

    def words(self, section: str, key: str) -> list[str]:
        """All space-separated words of every assignment of a list-valued key."""
        return [word for value in self.values(section, key) for word in value.split()]

    def has(self, section: str, key: str) -> bool:
        return key in self.sections.get(section, {})


def parse_unit(path: Path) -> UnitFile:
    unit = UnitFile(path)
    current: dict[str, list[str]] | None = None
    pending = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = unit.sections.setdefault(line[1:-1], defaultdict(list))
            continue
        if "=" not in line:
            raise UnitSyntaxError(f"{path.name}:{number}: not a key=value line: {raw!r}")
        if current is None:
            raise UnitSyntaxError(f"{path.name}:{number}: assignment before any [Section]")
        key, value = line.split("=", 1)
        current[key.strip()].append(value.strip())
    if pending:
        raise UnitSyntaxError(f"{path.name}: ends inside a continued line")
    return unit


def load(name: str) -> UnitFile:
    return parse_unit(SYSTEMD_DIR / name)
