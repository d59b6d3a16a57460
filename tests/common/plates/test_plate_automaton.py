"""The registry's automaton accepts exactly what the formats' regular expressions accept."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from common.plates.alphabet import READER_ALPHABET, encode
from common.plates.registry import load_registry

REGISTRY = load_registry()


def _regex_formats(glyphs: str, countries: list[str] | None = None) -> set[str]:
    return {f.key for f in REGISTRY.formats_for(countries) if f.is_valid(glyphs)}


def test_every_random_plate_is_accepted_with_its_format() -> None:
    automaton = REGISTRY.automaton()
    rng = np.random.default_rng(0)
    for fmt in REGISTRY.formats:
        for _ in range(20):
            glyphs = fmt.random_glyphs(rng)
            accepted = {f.key for f in automaton.accepted_formats(glyphs)}
            assert fmt.key in accepted
            assert accepted == _regex_formats(glyphs)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=READER_ALPHABET, min_size=0, max_size=10))
def test_automaton_and_regexes_agree_on_any_glyph_string(glyphs: str) -> None:
    accepted = {f.key for f in REGISTRY.automaton().accepted_formats(glyphs)}
    assert accepted == _regex_formats(glyphs)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789ABCEHKMOPTXY", min_size=0, max_size=10))
def test_country_automaton_accepts_only_that_country(glyphs: str) -> None:
    accepted = {f.key for f in REGISTRY.automaton(["RU"]).accepted_formats(glyphs)}
    assert accepted == _regex_formats(glyphs, ["RU"])


def test_min_remaining_counts_the_glyphs_still_needed() -> None:
    automaton = REGISTRY.automaton(["RU"])
    shortest = min(f.min_length for f in REGISTRY.formats_for(["RU"]))
    assert shortest == 7  # police, taxi and others with a 2-digit region
    assert automaton.min_remaining[0] == shortest
    state = automaton.walk(encode("A123BC"))
    assert automaton.min_remaining[state] == 2
    assert automaton.min_remaining[automaton.walk(encode("A123BC77"))] == 0
    assert automaton.accepting[automaton.walk(encode("A123BC77"))]
    assert automaton.walk(encode("Z")) == automaton.dead


def test_automata_are_cached_per_country_set() -> None:
    assert REGISTRY.automaton(["RU", "UA"]) is REGISTRY.automaton(["UA", "ru"])
    assert REGISTRY.automaton() is REGISTRY.automaton(None)
