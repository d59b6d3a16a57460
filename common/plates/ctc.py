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
    """
    arr = _check(logprobs, 2)
    if beam_width < 1:
        raise ValueError("beam_width must be at least 1")
    if not 0.0 <= min_char_prob < 1.0:
        raise ValueError("min_char_prob must be in [0, 1)")
    if not 0.0 <= prune_ratio < 1.0:
        raise ValueError("prune_ratio must be in [0, 1)")
    n_frames, n_classes = arr.shape
    if automaton is not None and automaton.num_classes != n_classes:
        raise ValueError(f"automaton has {automaton.num_classes} classes, log-probabilities have {n_classes}")
    probs = np.exp(arr)
    blank = BLANK_INDEX
    # The candidate glyphs of every frame, found for all frames at once.
    mask = probs >= min_char_prob
    mask[:, blank] = False
    frame_idx, class_idx = np.nonzero(mask)
    candidate_probs = probs[frame_idx, class_idx]
    # Most probable first within each frame (step 3 of the search stops at the first too weak).
    order = np.lexsort((-candidate_probs, frame_idx))
    active: list[list[tuple[int, float]]] = [[] for _ in range(n_frames)]
    for f, c, p in zip(
        frame_idx[order].tolist(), class_idx[order].tolist(), candidate_probs[order].tolist(), strict=True
    ):
        active[f].append((c, p))
    starts_at = mask.tolist()
    rows = probs.tolist()
    constrained = automaton is not None
    if automaton is not None:
        trans, min_rem = automaton.transition_lists, automaton.min_remaining_list

    # prefix -> [p_blank, p_nonblank, automaton state]; probabilities are rescaled as they shrink.
    beams: dict[tuple[int, ...], list] = {(): [1.0, 0.0, 0]}  # type: ignore[type-arg]
    log_scale = 0.0
    for t in range(n_frames):
        y = rows[t]
        y_blank = y[blank]
        remaining = n_frames - 1 - t
        if not active[t]:
            # No glyph can start here (so the blank has nearly all the mass): beams only age.
            for prefix, v in list(beams.items()):
                if constrained and min_rem[v[2]] > remaining:
                    del beams[prefix]
                    continue
                p_nb = v[1]
                v[0] = (v[0] + p_nb) * y_blank
                v[1] = p_nb * y[prefix[-1]] if prefix else 0.0
            if not beams:
                return []
            continue
        step: dict[tuple[int, ...], list[float]] = {}
        # 1. Every beam stays itself (a blank, or its last glyph repeated), unless it can no
        # longer finish a plate in the frames left.
        for prefix, (p_b, p_nb, state) in beams.items():
            if constrained and min_rem[state] > remaining:
                continue
            step[prefix] = [(p_b + p_nb) * y_blank, p_nb * y[prefix[-1]] if prefix else 0.0, state]
        # 2. A beam one glyph longer than another beam also grows from it (its parent's mass
        # times the glyph), when the glyph may start in this frame.
        starts = starts_at[t]
        for prefix, entry in step.items():
            if not prefix or not starts[prefix[-1]]:
                continue
            parent = beams.get(prefix[:-1])
            if parent is None:
                continue
            c = prefix[-1]
            p_b, p_nb = parent[0], parent[1]
            entry[1] += (p_b if len(prefix) > 1 and prefix[-2] == c else p_b + p_nb) * y[c]
        # 3. New prefixes. Each has one parent, so its mass is the one gain computed here: one
        # below the beam_width-th surest entry so far, or below the prune floor of the surest,
        # cannot survive this frame. Glyphs are tried most probable first, so a beam stops at
        # its first glyph under that bar: exactly the beams the full (beam x glyph) search keeps.
        if step:
            values = [v[0] + v[1] for v in step.values()]
            bar = max(values) * prune_ratio
            if len(values) >= beam_width:
                bar = max(bar, heapq.nlargest(beam_width, values)[-1])
        else:
            bar = 0.0
        glyphs = active[t]
        top_glyph = glyphs[0][1]
        for prefix, (p_b, p_nb, state) in beams.items():
            total = p_b + p_nb
            if total * top_glyph < bar:
                continue
            last = prefix[-1] if prefix else -1
            moves = trans[state] if constrained else None
            for c, y_c in glyphs:
                if total * y_c < bar:
                    break
                # A repeated glyph only starts a new symbol after a blank.
                gain = (p_b if c == last else total) * y_c
                if gain < bar:
                    continue
                if moves is not None:
                    nxt = moves[c]
                    if min_rem[nxt] > remaining:
                        continue
                else:
                    nxt = 0
                longer = (*prefix, c)
                if longer in beams:  # grown in step 2
                    continue
                step[longer] = [0.0, gain, nxt]
        ranked = [(v[0] + v[1], prefix) for prefix, v in step.items()]
        if len(ranked) > beam_width:
            ranked.sort(reverse=True)
            del ranked[beam_width:]
            best = ranked[0][0]
        else:
            best = max(ranked)[0] if ranked else 0.0
        if best <= 0.0:
            return []
        floor = best * prune_ratio
        beams = {prefix: step[prefix] for total, prefix in ranked if total >= floor}
        if best < _RESCALE_BELOW:
            log_scale += math.log(best)
            for v in beams.values():
                v[0] /= best
                v[1] /= best

    finals = [
        (prefix, v)
        for prefix, v in beams.items()
        if v[0] + v[1] > 0.0 and (automaton is None or automaton.accepting[int(v[2])])
    ]
    finals.sort(key=lambda item: item[1][0] + item[1][1], reverse=True)
    limit = beam_width if top_n is None else top_n
    return [Hypothesis(prefix, math.log(v[0] + v[1]) + log_scale, int(v[2])) for prefix, v in finals[:limit]]
