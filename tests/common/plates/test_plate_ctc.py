"""CTC decoders against brute-force enumeration of every alignment."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from common.plates.automaton import PlateAutomaton
from common.plates.ctc import (
    glyph_frames,
    greedy_decode,
    greedy_decode_batch,
    prefix_beam_search,
    string_log_probability,
)


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    out: list[int] = []
    prev = None
    for c in path:
        if c != prev and c != 0:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force(logprobs: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(labels) for every label sequence, summing all C**T alignments."""
    n_frames, n_classes = logprobs.shape
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(n_classes), repeat=n_frames):
        logp = float(sum(logprobs[t, c] for t, c in enumerate(path)))
        labels = _collapse(path)
        out[labels] = float(np.logaddexp(out.get(labels, -np.inf), logp))
    return out


@st.composite
def emissions(draw: st.DrawFn, max_frames: int = 5, max_classes: int = 4) -> np.ndarray:
    n_frames = draw(st.integers(1, max_frames))
    n_classes = draw(st.integers(2, max_classes))
    size = n_frames * n_classes
    logits = draw(st.lists(st.floats(-6.0, 6.0, allow_nan=False), min_size=size, max_size=size))
    x = np.array(logits).reshape(n_frames, n_classes)
    return x - np.logaddexp.reduce(x, axis=1, keepdims=True)


EXACT = {"min_char_prob": 0.0, "prune_ratio": 0.0}


@settings(max_examples=60, deadline=None)
@given(emissions())
def test_wide_exact_beam_equals_brute_force(logprobs: np.ndarray) -> None:
    truth = brute_force(logprobs)
    hyps = prefix_beam_search(logprobs, beam_width=10_000, **EXACT)
    assert len(hyps) == len(truth)
    for hyp in hyps:
        assert hyp.logp == pytest.approx(truth[hyp.labels], abs=1e-9)
    assert [h.logp for h in hyps] == sorted((h.logp for h in hyps), reverse=True)
    assert hyps[0].logp == pytest.approx(max(truth.values()), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(emissions(), st.integers(1, 3))
def test_narrow_beam_scores_never_exceed_the_truth(logprobs: np.ndarray, beam: int) -> None:
    truth = brute_force(logprobs)
    for hyp in prefix_beam_search(logprobs, beam_width=beam, **EXACT):
        assert hyp.logp <= truth[hyp.labels] + 1e-9


@settings(max_examples=60, deadline=None)
@given(emissions(), st.data())
def test_constrained_beam_equals_brute_force_over_the_allowed_sequences(
    logprobs: np.ndarray, data: st.DataObject
) -> None:
    n_frames, n_classes = logprobs.shape
    label = st.integers(1, n_classes - 1)
    allowed = data.draw(st.lists(st.lists(label, max_size=n_frames + 1).map(tuple), min_size=1, max_size=4))
    automaton = PlateAutomaton.from_sequences(allowed, n_classes)
    truth = brute_force(logprobs)
    reachable = {seq: truth[seq] for seq in set(allowed) if seq in truth}
    hyps = prefix_beam_search(logprobs, beam_width=10_000, automaton=automaton, **EXACT)
    assert {h.labels for h in hyps} == set(reachable)
    for hyp in hyps:
        assert hyp.logp == pytest.approx(reachable[hyp.labels], abs=1e-9)
        assert automaton.accepts(hyp.labels)


@settings(max_examples=100, deadline=None)
@given(emissions(max_frames=7), st.data(), st.floats(1e-4, 0.9))
def test_giving_up_below_a_probability_only_drops_searches_that_end_below_it(
    logprobs: np.ndarray, data: st.DataObject, give_up: float
) -> None:
    # The search stops once its beams together hold less than give_up_below: no sequence it
    # would have found is that sure.
    n_frames, n_classes = logprobs.shape
    label = st.integers(1, n_classes - 1)
    sequences = st.lists(label, min_size=1, max_size=n_frames).map(tuple)
    allowed = data.draw(st.lists(sequences, min_size=1, max_size=4))
    automaton = PlateAutomaton.from_sequences(allowed, n_classes)
    full = prefix_beam_search(logprobs, beam_width=10_000, automaton=automaton, **EXACT)
    cut = prefix_beam_search(logprobs, beam_width=10_000, automaton=automaton, give_up_below=give_up, **EXACT)
    if full and full[0].probability >= give_up:
        assert cut == full
    else:
        assert cut in ([], full)


@settings(max_examples=40, deadline=None)
@given(emissions(max_frames=6))
def test_greedy_is_the_best_single_path(logprobs: np.ndarray) -> None:
    hyp = greedy_decode(logprobs)
    best_path = tuple(int(c) for c in logprobs.argmax(axis=1))
    assert hyp.labels == _collapse(best_path)
    assert hyp.logp == pytest.approx(float(logprobs.max(axis=1).sum()))


def test_repeats_need_a_blank_between_them() -> None:
    p = np.log(
        np.array(
            [
                [0.01, 0.98, 0.01],
                [0.01, 0.98, 0.01],  # same glyph held: one "1"
                [0.98, 0.01, 0.01],
                [0.01, 0.98, 0.01],  # after a blank: a second "1"
            ]
        )
    )
    assert greedy_decode(p).labels == (1, 1)
    assert prefix_beam_search(p, beam_width=5)[0].labels == (1, 1)


def test_a_greedy_batch_decodes_item_by_item() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4))
    logprobs = x - np.logaddexp.reduce(x, axis=2, keepdims=True)
    assert greedy_decode_batch(logprobs) == [greedy_decode(item) for item in logprobs]


def test_probabilities_are_not_log_probabilities() -> None:
    with pytest.raises(ValueError, match="log-softmax"):
        prefix_beam_search(np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="2 dimensions"):
        greedy_decode(np.zeros((2, 4, 3)) + math.log(1 / 3))
    with pytest.raises(ValueError, match="beam_width"):
        prefix_beam_search(np.log(np.full((4, 3), 1 / 3)), beam_width=0)


def test_automaton_with_other_class_count_is_refused() -> None:
    automaton = PlateAutomaton.from_sequences([(1, 2)], num_classes=3)
    with pytest.raises(ValueError, match="automaton has 3 classes"):
        prefix_beam_search(np.log(np.full((4, 5), 0.2)), automaton=automaton)


def test_no_allowed_sequence_fits_gives_an_empty_list() -> None:
    automaton = PlateAutomaton.from_sequences([(1, 2, 1, 2)], num_classes=3)
    logprobs = np.log(np.full((3, 3), 1 / 3))  # three frames cannot hold four glyphs
    assert prefix_beam_search(logprobs, automaton=automaton) == []


def textbook_beam(
    logprobs: np.ndarray,
    beam_width: int,
    automaton: PlateAutomaton | None,
    min_char_prob: float,
    prune_ratio: float,
) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search that extends every beam by every candidate glyph in every frame, then
    keeps the beam_width surest prefixes: what `prefix_beam_search` must equal, however it
    skips extensions that cannot survive."""
    probs = np.exp(logprobs)
    n_frames = len(probs)
    beams: dict[tuple[int, ...], tuple[float, float, int]] = {(): (1.0, 0.0, 0)}
    for t in range(n_frames):
        remaining = n_frames - 1 - t
        step: dict[tuple[int, ...], list] = {}
        for prefix, (p_b, p_nb, state) in beams.items():
            ok = automaton is None or automaton.min_remaining[state] <= remaining
            if ok:
                entry = step.setdefault(prefix, [0.0, 0.0, state])
                entry[0] += (p_b + p_nb) * probs[t, 0]
                entry[1] += p_nb * probs[t, prefix[-1]] if prefix else 0.0
            for c in range(1, probs.shape[1]):
                if probs[t, c] < min_char_prob:
                    continue
                nxt = 0 if automaton is None else int(automaton.transitions[state, c])
                if automaton is not None and automaton.min_remaining[nxt] > remaining:
                    continue
                gain = (p_b if prefix and c == prefix[-1] else p_b + p_nb) * probs[t, c]
                step.setdefault((*prefix, c), [0.0, 0.0, nxt])[1] += gain
        ranked = sorted(((v[0] + v[1], p) for p, v in step.items()), reverse=True)[:beam_width]
        if not ranked or ranked[0][0] <= 0:
            return []
        beams = {p: tuple(step[p]) for total, p in ranked if total >= ranked[0][0] * prune_ratio}
    finals = [
        (p, v[0] + v[1]) for p, v in beams.items()
        if v[0] + v[1] > 0 and (automaton is None or automaton.accepting[v[2]])
    ]
    return sorted(finals, key=lambda item: item[1], reverse=True)


@settings(max_examples=150, deadline=None)
@given(
    emissions(max_frames=8, max_classes=6),
    st.integers(1, 4),
    st.sampled_from([0.0, 1e-4, 0.05]),
    st.sampled_from([0.0, 1e-6, 0.01]),
    st.data(),
)
def test_skipping_hopeless_extensions_keeps_the_textbook_beams(
    logprobs: np.ndarray, beam: int, min_char_prob: float, prune_ratio: float, data: st.DataObject
) -> None:
    n_frames, n_classes = logprobs.shape
    # Equal scores may be ranked either way; a tiny irregular tilt makes every score distinct.
    tilted = logprobs + 1e-6 * np.sqrt(np.arange(1, logprobs.size + 1)).reshape(logprobs.shape)
    logprobs = tilted - np.logaddexp.reduce(tilted, axis=1, keepdims=True)
    automaton = None
    if data.draw(st.booleans()):
        label = st.integers(1, n_classes - 1)
        allowed = data.draw(st.lists(st.lists(label, max_size=n_frames).map(tuple), min_size=1, max_size=5))
        automaton = PlateAutomaton.from_sequences(allowed, n_classes)
    hyps = prefix_beam_search(logprobs, beam, None, automaton, min_char_prob, prune_ratio)
    expected = textbook_beam(logprobs, beam, automaton, min_char_prob, prune_ratio)
    assert [h.labels for h in hyps] == [labels for labels, _ in expected]
    for hyp, (_, probability) in zip(hyps, expected, strict=True):
        assert hyp.probability == pytest.approx(probability, rel=1e-9)


# --- forced alignment ------------------------------------------------------------------------------


def _best_spelling_path(
    logprobs: np.ndarray, labels: tuple[int, ...]
) -> tuple[tuple[int, ...] | None, float]:
    """The most probable of all C**T frame paths that collapse to `labels` (None if none does),
    and by how much (log) it beats the next one."""
    n_frames, n_classes = logprobs.shape
    scored = sorted(
        (
            (float(sum(logprobs[t, c] for t, c in enumerate(path))), path)
            for path in itertools.product(range(n_classes), repeat=n_frames)
            if _collapse(path) == labels
        ),
        reverse=True,
    )
    if not scored:
        return None, math.inf
    return scored[0][1], scored[0][0] - scored[1][0] if len(scored) > 1 else math.inf


def _run_centres(path: tuple[int, ...]) -> list[float]:
    centres, start = [], 0
    for t in range(1, len(path) + 1):
        if t == len(path) or path[t] != path[start]:
            if path[start] != 0:
                centres.append((start + t - 1) / 2)
            start = t
    return centres


@settings(max_examples=60, deadline=None)
@given(emissions(max_frames=6, max_classes=3), st.lists(st.integers(1, 2), min_size=1, max_size=3))
def test_glyph_frames_are_the_runs_of_the_best_path_that_spells_the_labels(
    logprobs: np.ndarray, labels: list[int]
) -> None:
    labels = [c for c in labels if c < logprobs.shape[1]] or [1]
    best, margin = _best_spelling_path(logprobs, tuple(labels))
    assume(margin > 1e-6)  # two equally probable paths may place a glyph either way
    if best is None:
        with pytest.raises(ValueError, match="cannot spell"):
            glyph_frames(logprobs, labels)
    else:
        assert glyph_frames(logprobs, labels) == pytest.approx(_run_centres(best))


def test_glyph_frames_place_each_glyph_where_it_is_seen() -> None:
    # Glyph 1 over frames 1-2, glyph 2 at frame 5, glyph 1 again at 8: the best path spells them.
    logprobs = np.full((10, 3), math.log(0.05))
    logprobs[:, 0] = math.log(0.9)
    for t, c in ((1, 1), (2, 1), (5, 2), (8, 1)):
        logprobs[t] = math.log(0.05)
        logprobs[t, c] = math.log(0.9)
    assert glyph_frames(logprobs, [1, 2, 1]) == [1.5, 5.0, 8.0]
    # A reading the best path does not spell (glyph 2 twice) is still placed, by the search.
    twice = glyph_frames(logprobs, [1, 2, 2, 1])
    assert len(twice) == 4 and twice == sorted(twice) and 5.0 in twice and twice[-1] == 8.0
    assert glyph_frames(logprobs, []) == []
    with pytest.raises(ValueError, match="cannot spell"):
        glyph_frames(logprobs[:2], [1, 1])  # a repeat needs a blank between: three frames at least


@settings(max_examples=60, deadline=None)
@given(emissions(max_frames=5, max_classes=3), st.lists(st.integers(1, 2), max_size=4))
def test_a_strings_probability_sums_every_alignment_that_spells_it(
    logprobs: np.ndarray, labels: list[int]
) -> None:
    labels = [c for c in labels if c < logprobs.shape[1]]
    truth = brute_force(logprobs).get(tuple(labels), -np.inf)
    assert string_log_probability(logprobs, labels) == pytest.approx(truth, abs=1e-9)


def test_a_string_too_long_for_the_frames_has_no_probability() -> None:
    logprobs = np.log(np.full((2, 3), 1 / 3))
    assert string_log_probability(logprobs, [1, 1]) == -np.inf  # a repeat needs a blank between
    assert string_log_probability(logprobs, [1, 2]) == pytest.approx(2 * math.log(1 / 3))
