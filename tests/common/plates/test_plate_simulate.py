"""Simulated reader output and OCR errors used by the decoder tests and the benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from common.plates.alphabet import NUM_CLASSES, decode, encode, to_cyrillic, to_latin
from common.plates.ctc import greedy_decode
from common.plates.simulate import ERROR_MIX, single_error, synthetic_emissions


def test_reader_classes_round_trip_both_spellings() -> None:
    assert decode(encode("А123ВС77")) == "A123BC77"
    assert encode("A123BC77") == encode("А123ВС77")
    assert to_cyrillic("A123BC77") == "А123ВС77" and to_latin("А123ВС77") == "A123BC77"
    with pytest.raises(ValueError, match="outside the reader alphabet"):
        encode("A-1")


def test_emissions_are_log_softmax_and_read_back_greedily() -> None:
    rng = np.random.default_rng(0)
    for text in ("A123BC77", "AA1111BB", "7777", "A"):
        logprobs = synthetic_emissions(text, rng)
        assert logprobs.shape == (32, NUM_CLASSES)
        assert np.allclose(np.exp(logprobs).sum(axis=1), 1.0)
        assert decode(list(greedy_decode(logprobs).labels)) == text


def test_emissions_refuse_texts_too_long_for_the_frames() -> None:
    with pytest.raises(ValueError, match="at least 20 frames"):
        synthetic_emissions("A" * 10, np.random.default_rng(0), frames=16)


def test_confusions_make_look_alikes_win_some_glyphs() -> None:
    rng = np.random.default_rng(1)
    readings = [
        decode(list(greedy_decode(synthetic_emissions("A108BC77", rng, confusion_rate=1.0,
                                                       confusion_margin=(0.5, 1.0))).labels))
        for _ in range(20)
    ]
    assert all(r != "A108BC77" for r in readings)


def test_single_errors_of_each_kind() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        lookalike = single_error("A108BC77", rng, "look-alike")
        assert len(lookalike) == 8 and sum(a != b for a, b in zip(lookalike, "A108BC77", strict=True)) == 1
        assert len(single_error("A108BC77", rng, "doubled")) == 9
        assert len(single_error("A108BC77", rng, "missed")) == 7
        phantom = single_error("A108BC77", rng, "phantom at an end")
        assert phantom[1:] == "A108BC77" or phantom[:-1] == "A108BC77"
    assert abs(sum(ERROR_MIX.values()) - 1.0) < 1e-9
    with pytest.raises(ValueError, match="unknown error kind"):
        single_error("A108BC77", rng, "smudge")
