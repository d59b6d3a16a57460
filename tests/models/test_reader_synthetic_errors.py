"""The synthetic misreads tool: lists exactly the crops the shipped reader gets wrong, drawn from a
development seed so the evaluation's own crops stay held out."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from common.config import ReaderConfig
from edge.inference.models import READERS
from models.evaluate import SPEC_CHAR_PX, SYNTH_COUNTRY_SEED, synthetic_country_crops
from models.paths import READER_INT8
from models.reader.synthetic_errors import (
    DEV_SEED,
    CountryErrors,
    Misread,
    country_errors,
    main,
    misread_sheet,
    report_lines,
)
from models.synth.contact_sheet import COLS, TILE_H, TILE_W

pytestmark = pytest.mark.plate_font


@pytest.mark.parametrize("every_country", [False, True])
def test_lists_exactly_the_crops_the_reader_gets_wrong(every_country: bool) -> None:
    samples = synthetic_country_crops("AT", 120, seed=DEV_SEED)
    countries = [] if every_country else ["AT"]
    readings = READERS["onnx"](
        ReaderConfig(path=READER_INT8, runtime="onnxruntime", countries=countries)
    ).read([s.crop for s in samples])
    in_spec = [(s, r) for s, r in zip(samples, readings, strict=True) if s.char_px >= SPEC_CHAR_PX]
    wrong = [(s.text, r.latin) for s, r in in_spec if s.text != r.latin]

    errors = country_errors("AT", 120, every_country=every_country)

    assert errors.crops == len(in_spec) < 120
    assert [(m.truth, m.read) for m in errors.misreads] == wrong
    assert errors.right == len(in_spec) - len(wrong)
    every_size = country_errors("AT", 120, every_country=every_country, all_sizes=True)
    assert every_size.crops == 120 and len(every_size.misreads) >= len(wrong)


def test_the_development_seed_draws_other_crops_than_the_evaluation() -> None:
    dev = [s.text for s in synthetic_country_crops("DE", 20, seed=DEV_SEED)]
    held_out = [s.text for s in synthetic_country_crops("DE", 20)]
    assert not set(dev) & set(held_out)
    assert [s.text for s in synthetic_country_crops("DE", 20, seed=SYNTH_COUNTRY_SEED)] == held_out


def test_report_names_each_misread_and_the_commonest_confusion() -> None:
    crop = np.zeros((20, 80, 3), np.uint8)
    made_up = CountryErrors(
        "AT",
        10,
        [
            Misread("AT/standard_2l", "KI9OU", "KI90U", 52.6, 0.99, crop),
            Misread("AT/standard_2l", "DL5OO", "DL50O", 40.0, 0.5, crop),
            Misread("AT/standard_3l", "PL63DYG", "", 20.0, 0.0, crop),
        ],
    )
    lines = report_lines(made_up)
    assert lines[0] == "AT: 7 of 10 read right (70.0%)"
    assert "KI9OU      -> KI90U" in lines[1] and "52.6 px" in lines[1]
    assert "(nothing)" in lines[3]
    assert lines[-1].split(": ", 1)[1].startswith("O->0 2")


def test_sheet_shows_each_misread_in_a_grid() -> None:
    crop = np.full((20, 80, 3), 255, np.uint8)
    misreads = [Misread("AT/standard_2l", "KI9OU", "KI90U", 30.0, 0.9, crop)] * (COLS + 1)
    sheet = misread_sheet(misreads)
    assert sheet.shape == (2 * (TILE_H + 4), COLS * (TILE_W + 4), 3)


def test_cli_prints_each_country_and_writes_its_sheet(tmp_path, capsys) -> None:
    assert main(["--countries", "at,DE", "--count", "200", "--all-sizes", "--sheets", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    at = country_errors("AT", 200, all_sizes=True)
    assert out.startswith(at.summary() + "\n")
    assert "\nDE: " in out
    sheet = cv2.imread(str(tmp_path / "AT_misread.png"))
    assert sheet.shape[0] == math.ceil(len(at.misreads) / COLS) * (TILE_H + 4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--countries", "AT", "--seed", str(SYNTH_COUNTRY_SEED)], "held-out"),
        (["--countries", "XX"], "unknown country XX"),
        (["--countries", ","], "no country named"),
        (["--countries", "AT", "--count", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
