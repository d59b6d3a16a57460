"""Contact sheets: one captioned grid of 40 samples per country, for looking at training data."""

from __future__ import annotations

import cv2
import pytest

from models.synth.contact_sheet import COLS, COUNT, TILE_H, TILE_W, main
from models.synth.fonts import DEFAULT_FONT_DIR

pytestmark = pytest.mark.plate_font


def test_writes_one_grid_per_country(tmp_path) -> None:
    assert (
        main(["--countries", "fr,SK", "--out", str(tmp_path), "--flat", "--font-dir", str(DEFAULT_FONT_DIR)])
        == 0
    )
    for country in ("FR", "SK"):
        image = cv2.imread(str(tmp_path / f"{country}_flat.png"))
        assert image.shape == (COUNT // COLS * (TILE_H + 4), COLS * (TILE_W + 4), 3)


def test_unknown_country_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(SystemExit, match="no registry formats for country 'XX'"):
        main(["--countries", "XX", "--out", str(tmp_path), "--font-dir", str(DEFAULT_FONT_DIR)])
