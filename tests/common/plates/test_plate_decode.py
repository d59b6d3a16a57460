"""The format-constrained plate decoder on reader-like output."""

from __future__ import annotations

import numpy as np
import pytest

from common.plates.alphabet import NUM_CLASSES, READER_ALPHABET, encode
from common.plates.ctc import greedy_decode, prefix_beam_search
from common.plates.decode import PlateSearch, decode_plate, decode_plate_batch, rank_plates, search_plates
from common.plates.registry import load_registry
from common.plates.simulate import synthetic_emissions


def _confuse(logprobs: np.ndarray, text: str, position: int, rival: str, margin: float) -> np.ndarray:
    """Make ``rival`` beat the true glyph at ``position`` of ``text`` by ``margin`` nats."""
    true_class = encode(text)[position]
    rival_class = READER_ALPHABET.index(rival) + 1
    out = logprobs.copy()
    for f in _glyph_runs(out)[position]:
        out[f, rival_class] = out[f, true_class] + margin
    return out - np.logaddexp.reduce(out, axis=1, keepdims=True)


def _glyph_runs(logprobs: np.ndarray) -> list[list[int]]:
    best = logprobs.argmax(axis=1)
    runs: list[list[int]] = []
    prev = 0
    for f, c in enumerate(best):
        if c != 0:
            if c == prev and runs:
                runs[-1].append(f)
            else:
                runs.append([f])
        prev = c
    return runs


def test_a_clear_reading_comes_back_canonical_with_country_format_and_region() -> None:
    rng = np.random.default_rng(0)
    best = decode_plate(synthetic_emissions("A123BC77", rng), countries=["RU"])[0]
    assert best.valid
    assert (best.text, best.latin) == ("А123ВС77", "A123BC77")
    assert (best.country, best.format, best.format_key) == ("RU", "standard", "RU/standard")
    assert (best.region, best.region_name) == ("77", "Москва")
    assert 0.9 < best.confidence <= 1.0


def test_the_grammar_overrules_a_look_alike_the_reader_preferred() -> None:
    rng = np.random.default_rng(1)
    # The reader sees "O" where RU standard needs a digit: greedy keeps the invalid O.
    logprobs = _confuse(synthetic_emissions("A103BC77", rng), "A103BC77", 2, "O", margin=1.0)
    assert greedy_decode(logprobs).labels == tuple(encode("A1O3BC77"))
    best = decode_plate(logprobs, countries=["RU"])[0]
    assert best.valid and best.text == "А103ВС77"
    assert best.confidence < 0.5  # the reader's own probability of the digit stays low


def test_nothing_valid_falls_back_to_the_raw_reading_marked_invalid() -> None:
    rng = np.random.default_rng(2)
    candidates = decode_plate(synthetic_emissions("A1234", rng), countries=["RU"])
    assert len(candidates) == 1
    raw = candidates[0]
    assert not raw.valid
    assert (raw.text, raw.latin, raw.country, raw.format) == ("A1234", "A1234", None, None)
    assert raw.confidence > 0.9


def test_country_priors_rank_a_string_several_countries_accept() -> None:
    rng = np.random.default_rng(3)
    logprobs = synthetic_emissions("ABC123", rng)
    lithuania_first = decode_plate(logprobs, priors={"LT": 10.0})
    moldova_first = decode_plate(logprobs, priors={"MD": 10.0})
    assert lithuania_first[0].country == "LT" and moldova_first[0].country == "MD"
    assert {c.country for c in lithuania_first} >= {"LT", "MD"}
    assert lithuania_first[0].confidence == moldova_first[0].confidence


def test_one_search_ranked_under_each_prior_reads_as_decoding_anew() -> None:
    rng = np.random.default_rng(3)
    logprobs = synthetic_emissions("ABC123", rng)
    search = search_plates(logprobs)
    assert search.found
    for priors in (None, {"LT": 10.0}, {"MD": 10.0}):
        assert rank_plates(search, priors) == decode_plate(logprobs, priors=priors)


def test_a_search_that_found_nothing_ranks_as_the_raw_reading_whatever_the_priors() -> None:
    rng = np.random.default_rng(2)
    logprobs = synthetic_emissions("A1234", rng)
    search = search_plates(logprobs, countries=["RU"])
    assert not search.found
    raw = decode_plate(logprobs, countries=["RU"])
    assert rank_plates(search) == rank_plates(search, {"RU": 1e6}) == raw
    assert rank_plates(PlateSearch.not_run(logprobs), {"RU": 1e6}) == raw


def test_restricting_countries_restricts_the_answers() -> None:
    rng = np.random.default_rng(4)
    logprobs = synthetic_emissions("123ABC02", rng)
    assert decode_plate(logprobs)[0].format_key == "KZ/standard"
    # A Kazakh plate on a Russian-only device: forcing it into a RU format would take two
    # improbable glyphs, so the raw reading comes back instead.
    raw = decode_plate(logprobs, countries=["RU", "UA"])
    assert [(c.latin, c.valid) for c in raw] == [("123ABC02", False)]
    forced = decode_plate(logprobs, countries=["RU", "UA"], min_confidence=0.0)[0]
    assert forced.valid and forced.country == "RU" and forced.confidence < 1e-4


def test_batch_matches_one_by_one() -> None:
    rng = np.random.default_rng(5)
    batch = np.stack([synthetic_emissions(t, rng) for t in ("A123BC77", "AA1234BC", "1234AB7")])
    assert decode_plate_batch(batch) == [decode_plate(item) for item in batch]
    assert [c[0].country for c in decode_plate_batch(batch)] == ["RU", "UA", "BY"]


def test_default_pruning_agrees_with_the_exact_search_on_reader_like_output() -> None:
    registry = load_registry()
    automaton = registry.automaton(["RU"])
    rng = np.random.default_rng(6)
    for _ in range(40):
        fmt = registry.sample_format(rng, countries=["RU"])
        logprobs = synthetic_emissions(fmt.random_glyphs(rng), rng, confusion_rate=0.3)
        fast = prefix_beam_search(logprobs, 10, automaton=automaton)
        exact = prefix_beam_search(logprobs, 10, automaton=automaton, min_char_prob=0.0, prune_ratio=0.0)
        assert fast[0].labels == exact[0].labels
        assert fast[0].logp == pytest.approx(exact[0].logp, abs=1e-3)


def test_reader_shaped_input_is_checked() -> None:
    with pytest.raises(ValueError, match="3 dimensions"):
        decode_plate_batch(np.zeros((32, NUM_CLASSES)))


def test_a_row_count_keeps_the_readings_to_formats_printed_in_that_many_rows() -> None:
    rng = np.random.default_rng(6)
    logprobs = synthetic_emissions("1234AB77", rng)  # RU: a two-row motorcycle or a one-row military plate
    assert {r.format for r in decode_plate(logprobs, countries=["RU"])[:2]} == {"motorcycle", "military"}
    assert decode_plate(logprobs, countries=["RU"], rows=2)[0].format == "motorcycle"
    assert decode_plate(logprobs, countries=["RU"], rows=1)[0].format == "military"
    assert all(r.format != "motorcycle" for r in decode_plate(logprobs, countries=["RU"], rows=1))
