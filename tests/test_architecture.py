"""The import rules of the house hold, and each rule is checked by a contract that can fail.

The contracts are in pyproject.toml ([tool.importlinter]); `lint-imports` checks them. Each is
also broken on purpose in a copy of the tree, to show it catches what it is meant to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMON = "common imports neither edge nor central"
APART = "edge and central never import each other"
RUNTIME = "the runtime imports neither models nor torch"
STAGES = "edge stages import one way, capture to sync"
PACKAGES = ("common", "edge", "central", "models", "provisioning")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (dev extra)"
)


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # The copy's packages must win over the installed ones: put its root first on the path.
    env = os.environ | {"PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    ignore = shutil.ignore_patterns("*.onnx", "*.mp4", "*.png", "__pycache__", "reports")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_import_contract() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("common/ids.py", "import edge.capture", COMMON),
        ("common/topics.py", "import central.search", COMMON),
        ("edge/cli.py", "import central.search", APART),
        ("central/search.py", "import edge.store", APART),
        ("edge/inference/reader.py", "import models.synth.fonts", RUNTIME),
        ("central/app.py", "import torch", RUNTIME),
        ("common/config.py", "import models.paths", RUNTIME),
        ("edge/capture/frames.py", "import edge.sync", STAGES),
        ("edge/inference/crops.py", "import edge.tracking.tracker", STAGES),
        ("edge/store/store.py", "import edge.pipeline", STAGES),
    ],
)
def test_each_contract_fails_when_its_rule_is_broken(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{bad_import}  # noqa\n", encoding="utf-8")
    result = _lint(root)
    assert result.returncode != 0
    # One import may break more than one rule (common importing edge also joins edge to central).
    assert f"{contract} BROKEN" in result.stdout, result.stdout
