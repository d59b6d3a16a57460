"""The JSON Schemas in docs/schemas/ are exactly what the payload models produce."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "write_schemas.py"


def test_documented_schemas_are_current() -> None:
    spec = importlib.util.spec_from_file_location("write_schemas", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path, text in module.rendered().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run scripts/write_schemas.py"
