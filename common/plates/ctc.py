"""CTC decoders over the reader's log-probabilities (numpy only).

Input is the log-softmax output of the reader, shape (T, C) for one plate or (N, T, C) for a
batch (the ``*_batch`` functions); class 0 is the blank. Three decoders:

* ``greedy_decode``: best path (argmax per frame, collapse repeats, drop blanks);
* ``prefix_beam_search``: the N most probable label sequences (Graves 2006 / Hannun 2014 prefix
  search), optionally constrained by a ``PlateAutomaton`` so that only prefixes of allowed
  plates survive and only complete plates are returned.

The beam search works in the probability domain (rescaled when it shrinks towards underflow),
so there is no log-sum-exp. numpy finds the candidate glyphs of all frames at once; each frame
then touches only the (beam, candidate glyph) pairs, a handful on a trained reader's peaky
output, which plain Python updates faster than a dozen numpy calls over (beam x class) would.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from common.plates.alphabet import BLANK_INDEX
from common.plates.automaton import PlateAutomaton

# Glyphs less probable than this in a frame do not start there; see prefix_beam_search.
DEFAULT_MIN_CHAR_PROB = 1e-4
# Beams this much less probable than the best are dropped; see prefix_beam_search.
DEFAULT_PRUNE_RATIO = 1e-6
# Beam probabilities are rescaled when the best falls below this, to stay clear of underflow.
_RESCALE_BELOW = 1e-100


@dataclass(frozen=True)
class Hypothesis:
    """A decoded label sequence (class indices, blanks removed) and its log-probability."""

    labels: tuple[int, ...]
    logp: float
    state: int = 0  # automaton state after the labels (0 when unconstrained)

    @property
    def probability(self) -> float:
        return math.exp(self.logp)


def _check(logprobs: np.ndarray, ndim: int) -> np.ndarray:
    arr = np.asarray(logprobs, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"expected log-probabilities of {ndim} dimensions, got shape {arr.shape}")
    if arr.shape[-1] < 2 or arr.shape[-2] < 1:
        raise ValueError(f"need at least one frame and two classes, got shape {arr.shape}")
    if arr.size and (np.isnan(arr).any() or arr.max() > 1e-6):
        raise ValueError("log-probabilities must be <= 0 and not NaN (pass log-softmax output)")
    return arr


def greedy_decode(logprobs: np.ndarray) -> Hypothesis:
    """Best-path decoding; ``logp`` is the log-probability of that one path."""
    arr = _check(logprobs, 2)
    best = arr.argmax(axis=1)
    logp = float(arr[np.arange(arr.shape[0]), best].sum())
    keep = np.ones(best.shape[0], dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != BLANK_INDEX
    return Hypothesis(tuple(int(c) for c in best[keep]), logp)


def greedy_decode_batch(logprobs: np.ndarray) -> list[Hypothesis]:
    arr = _check(logprobs, 3)
    return [greedy_decode(item) for item in arr]


def prefix_beam_search(
    logprobs: np.ndarray,
    beam_width: int = 10,
    top_n: int | None = None,
    automaton: PlateAutomaton | None = None,
    min_char_prob: float = DEFAULT_MIN_CHAR_PROB,
    prune_ratio: float = DEFAULT_PRUNE_RATIO,
    give_up_below: float = 0.0,
) -> list[Hypothesis]:
    """The ``top_n`` (default ``beam_width``) most probable sequences, best first.

    With an automaton, prefixes it rejects, and prefixes that need more glyphs than frames
    remain, are pruned at once, and only sequences it accepts are returned (possibly none).
    ``logp`` sums the alignments kept in the beam: exact when the beam never had to drop a
    prefix, a lower bound otherwise.

    ``min_char_prob``: a frame can only start a new glyph of a class at least this probable
    there. A trained reader puts almost all of a frame's mass on one or two classes, so this
    leaves a handful of candidates per frame instead of beam x classes; 0 considers every class.
    ``prune_ratio``: beams less probable than this times the best beam are dropped early;
    0 keeps all ``beam_width``. Both at 0 give the textbook prefix beam search.
    ``give_up_below``: the search returns nothing as soon as the beams together hold less: a
    frame only splits a beam's mass among its continuations, so the beams' total never grows
    and no sequence can end surer than it. Crops of things that are not plates often lose their
    mass to the automaton within a few glyphs.
    """
    arr = _check(logprobs, 2)
    if beam_width < 1:
        raise ValueError("beam_width must be at least 1")
    if not 0.0 <= min_char_prob < 1.0:
        raise ValueError("min_char_prob must be in [0, 1)")
    if not 0.0 <= prune_ratio < 1.0:
        raise ValueError("prune_ratio must be in [0, 1)")
    if not 0.0 <= give_up_below <= 1.0:
        raise ValueError("give_up_below must be in [0, 1]")
    n_frames, n_classes = arr.shape
    if automaton is not None and automaton.num_classes != n_classes:
        raise ValueError(f"automaton has {automaton.num_classes} classes, log-probabilities have {n_classes}")
    probs = np.exp(arr)
    blank = BLANK_INDEX
    # The candidate glyphs of every frame, found for all frames at once.
    mask = probs >= min_char_prob
    mask[:, blank] = False
    has_glyphs = mask.any(axis=1).tolist()
    # Glyphs of each frame, most probable first (the blank sorted last and cut): step 2 below
    # walks them until one is too weak.
    ranked_probs = probs.copy()
    ranked_probs[:, blank] = -1.0
    by_prob = np.argsort(-ranked_probs, axis=1, kind="stable")[:, :-1].tolist()
    rows = probs.tolist()
    if automaton is not None:
        trans, min_rem = automaton.transition_lists, automaton.min_remaining_list
    else:  # one state that takes every glyph and needs none
        trans, min_rem = [[0] * n_classes], [0]

    # prefix -> [p_blank, p_nonblank, automaton state]; probabilities are rescaled as they shrink.
    beams: dict[tuple[int, ...], list] = {(): [1.0, 0.0, 0]}  # type: ignore[type-arg]
    log_scale = 0.0  # beams and give_up_below are kept divided by exp(log_scale)
    for t in range(n_frames):
        y = rows[t]
        y_blank = y[blank]
        remaining = n_frames - 1 - t
        if not has_glyphs[t]:
            # No glyph can start here (so the blank has nearly all the mass): beams only age.
            held = 0.0
            for prefix, v in list(beams.items()):
                if min_rem[v[2]] > remaining:
                    del beams[prefix]
                    continue
                p_nb = v[1]
                v[0] = (v[0] + p_nb) * y_blank
                v[1] = p_nb * y[prefix[-1]] if prefix else 0.0
                held += v[0] + v[1]
            if not beams or held < give_up_below:
                return []
            continue
        step: dict[tuple[int, ...], list[float]] = {}
        values: list[float] = []
        # 1. Every beam stays itself (a blank, or its last glyph repeated), unless it can no
        # longer finish a plate in the frames left; a beam one glyph longer than another beam
        # also grows from it (the parent's mass times the glyph) when the glyph may start here.
        for prefix, (p_b, p_nb, state) in beams.items():
            if min_rem[state] > remaining:
                continue
            if prefix:
                c = prefix[-1]
                y_c = y[c]
                nb = p_nb * y_c
                if y_c >= min_char_prob:
                    parent = beams.get(prefix[:-1])
                    if parent is not None:
                        # A repeated glyph only starts a new symbol after a blank.
                        repeat = len(prefix) > 1 and prefix[-2] == c
                        nb += (parent[0] if repeat else parent[0] + parent[1]) * y_c
            else:
                nb = 0.0
            b = (p_b + p_nb) * y_blank
            step[prefix] = [b, nb, state]
            values.append(b + nb)
        # 2. New prefixes. Each has one parent, so its mass is the one gain computed here: one
        # below the beam_width-th surest entry so far, or below the prune floor of the surest,
        # cannot survive this frame. Glyphs are tried most probable first, so a beam stops at
        # its first glyph under that bar: exactly the beams the full (beam x glyph) search keeps.
        # `surest` holds the beam_width largest masses so far (a min-heap): the bar rises as
        # better new prefixes come in.
        held = sum(values)  # with the new prefixes' gains: at least what the beams keep
        if values:
            values.sort()
            best = values[-1]
            surest = values[-beam_width:]  # ascending: a valid min-heap
            bar = best * prune_ratio
            if len(surest) == beam_width and surest[0] > bar:
                bar = surest[0]
        else:
            surest, best, bar = [], 0.0, 0.0
        floor_ratio_bar = bar
        grown = False
        glyphs = by_prob[t]
        for prefix, (p_b, p_nb, state) in beams.items():
            total = p_b + p_nb
            last = prefix[-1] if prefix else -1
            moves = trans[state]
            for c in glyphs:
                y_c = y[c]
                if y_c < min_char_prob or total * y_c < bar:
                    break
                gain = (p_b if c == last else total) * y_c
                if gain < bar:
                    continue
                nxt = moves[c]
                if min_rem[nxt] > remaining:
                    continue
                longer = (*prefix, c)
                if longer in beams:  # grown in step 1
                    continue
                step[longer] = [0.0, gain, nxt]
                held += gain
                grown = True
                if gain > best:
                    best = gain
                    floor_ratio_bar = best * prune_ratio
                if len(surest) < beam_width:
                    heapq.heappush(surest, gain)
                    bar = surest[0] if len(surest) == beam_width else bar
                else:
                    heapq.heappushpop(surest, gain)
                    bar = surest[0]
                if floor_ratio_bar > bar:
                    bar = floor_ratio_bar
        if best <= 0.0 or held < give_up_below:
            return []
        floor = best * prune_ratio
        if len(step) > beam_width:
            ranked = sorted(((v[0] + v[1], prefix) for prefix, v in step.items()), reverse=True)
            beams = {prefix: step[prefix] for total, prefix in ranked[:beam_width] if total >= floor}
        elif grown or values[0] < floor:
            beams = {prefix: v for prefix, v in step.items() if v[0] + v[1] >= floor}
        else:
            beams = step
        if best < _RESCALE_BELOW:
            log_scale += math.log(best)
            give_up_below /= best
            for v in beams.values():
                v[0] /= best
                v[1] /= best

    finals = [
        (prefix, v)
        for prefix, v in beams.items()
        if v[0] + v[1] > 0.0 and (automaton is None or automaton.accepting[int(v[2])])
    ]
    # Equal masses (an INT8 reader's outputs tie often) are ordered by their labels, so the
    # order does not depend on how the search reached them.
    finals.sort(key=lambda item: (item[1][0] + item[1][1], item[0]), reverse=True)
    limit = beam_width if top_n is None else top_n
    return [Hypothesis(prefix, math.log(v[0] + v[1]) + log_scale, int(v[2])) for prefix, v in finals[:limit]]


def _extended(labels: tuple[int, ...] | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """CTC's extended sequence of `labels` (blank, l1, blank, l2, ..., blank; state s emits
    ext[s]) and, per state, whether it may be entered from two states back (a glyph after a
    different glyph)."""
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    skip = np.zeros(len(ext), dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    return ext, skip


def string_log_probability(logprobs: np.ndarray, labels: tuple[int, ...] | list[int]) -> float:
    """log P(labels | logprobs): every CTC path that spells exactly ``labels``, summed (the forward
    algorithm). -inf when T frames cannot spell them."""
    arr = _check(logprobs, 2)
    if not labels:
        return float(arr[:, BLANK_INDEX].sum())
    ext, skip = _extended(labels)
    alpha = np.full(len(ext), -np.inf)
    alpha[:2] = arr[0, ext[:2]]
    for t in range(1, arr.shape[0]):
        step = np.concatenate(([-np.inf], alpha[:-1]))
        jump = np.where(skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), jump) + arr[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def glyph_frames(logprobs: np.ndarray, labels: tuple[int, ...] | list[int]) -> list[float]:
    """Where each of ``labels`` sits in the (T, C) frames: the mean frame of its run on the most
    probable CTC path that spells exactly ``labels`` (Viterbi forced alignment). Frames map
    linearly onto the reader image's width, so this places glyphs, and the gaps between them, on
    the crop. Raises ValueError when T frames cannot spell the labels (repeats need a blank
    between them)."""
    arr = _check(logprobs, 2)
    if not labels:
        return []
    # When the best path itself spells the labels it is the most probable of those that do, and
    # the search below is not needed (the usual case on a confident reading).
    best = arr.argmax(axis=1)
    starts = np.flatnonzero(np.concatenate(([True], best[1:] != best[:-1])))
    ends = [*starts[1:], len(best)]
    glyph_runs = [(start, end) for start, end in zip(starts, ends, strict=True) if best[start] != BLANK_INDEX]
    if [int(best[start]) for start, _ in glyph_runs] == list(labels):
        return [(start + end - 1) / 2 for start, end in glyph_runs]
    ext, skip = _extended(labels)
    n_states = len(ext)
    steps = arr.shape[0]
    score = np.full(n_states, -np.inf)
    score[0] = arr[0, ext[0]]
    score[1] = arr[0, ext[1]]
    back = np.zeros((steps, n_states), dtype=np.int64)
    states = np.arange(n_states)
    for t in range(1, steps):
        stay = score
        step = np.concatenate(([-np.inf], score[:-1]))
        jump = np.where(skip, np.concatenate(([-np.inf, -np.inf], score[:-2])), -np.inf)
        best = np.maximum(stay, np.maximum(step, jump))
        back[t] = np.where(best == stay, states, np.where(best == step, states - 1, states - 2))
        score = best + arr[t, ext]
    end = n_states - 1 if score[-1] >= score[-2] else n_states - 2
    if not np.isfinite(score[end]):
        raise ValueError(f"{steps} frames cannot spell {len(labels)} labels")
    runs: list[list[int]] = [[] for _ in labels]
    state = end
    for t in range(steps - 1, -1, -1):
        if state % 2:
            runs[state // 2].append(t)
        state = int(back[t, state])
    return [float(np.mean(run)) for run in runs]
