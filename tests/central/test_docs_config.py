"""The sample config in docs/central.md is one central accepts, so the docs cannot drift from it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from central.config import CentralConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "central.md"


def test_the_documented_config_is_valid() -> None:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    config = CentralConfig.model_validate(yaml.safe_load(block.group(1)))
    assert config.http.trusted_proxies == ["127.0.0.1"]
    assert config.retention.for_site("gate") == (14, 3)
    assert config.retention.for_site("north") == (90, 30)
