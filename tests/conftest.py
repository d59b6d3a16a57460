"""Skips the whole suite shares: a test marked `plate_font` needs the GOST plate font that the
synthetic renderer draws with, which lives beside the checkout (../shared/fonts)."""

from __future__ import annotations

import pytest

from models.synth import fonts


def pytest_runtest_setup(item: pytest.Item) -> None:
    font = fonts.DEFAULT_FONT_DIR / fonts.GOST_FONT_FILE
    if item.get_closest_marker("plate_font") and not font.is_file():
        pytest.skip(f"GOST plate font {font} not found")
