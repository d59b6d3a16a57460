"""A deterministic automaton over reader classes that accepts exactly the allowed plates.

The constrained CTC beam search steps it once per emitted glyph: a beam whose state is dead, or
that needs more glyphs than frames remain, cannot become a valid plate and is dropped.
Built per country from the formats' slots by subset construction, united by a product
construction, then minimised (states with the same future, the same accepted formats included,
are merged: the leaves of a district table's trie, say; all 49 countries take 6,127 states,
a third of what subset construction alone gave). State 0 is the start, the last state is the
dead state (every transition of it loops back to itself).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from common.plates.alphabet import BLANK_INDEX, NUM_CLASSES, READER_ALPHABET
from common.plates.formats import PlateFormat

_UNREACHABLE = 1 << 30


class _NFA:
    """Thompson-style NFA with one transition per class and epsilon moves."""

    def __init__(self) -> None:
        self.moves: list[dict[int, set[int]]] = []
        self.eps: list[set[int]] = []
        self.accept: dict[int, int] = {}  # NFA state -> label (format index)
        self._closures: dict[int, frozenset[int]] = {}

    def new(self) -> int:
        self.moves.append({})
        self.eps.append(set())
        return len(self.moves) - 1

    def move(self, a: int, cls: int, b: int) -> None:
        self.moves[a].setdefault(cls, set()).add(b)

    def add_run(self, start: int, classes: Sequence[int], min_len: int, max_len: int) -> int:
        """``min_len..max_len`` symbols from ``classes``; returns the end state."""
        cur = start
        for _ in range(min_len):
            nxt = self.new()
            for c in classes:
                self.move(cur, c, nxt)
            cur = nxt
        end = self.new()
        self.eps[cur].add(end)
        for _ in range(max_len - min_len):
            nxt = self.new()
            for c in classes:
                self.move(cur, c, nxt)
            self.eps[nxt].add(end)
            cur = nxt
        return end

    def add_choices(self, start: int, choices: Sequence[Sequence[int]]) -> int:
        """One of ``choices`` (each a class sequence) as a trie; returns the end state."""
        end = self.new()
        trie: dict[tuple[int, int], int] = {}
        for choice in choices:
            cur = start
            for c in choice:
                key = (cur, c)
                if key not in trie:
                    trie[key] = self.new()
                    self.move(cur, c, trie[key])
                cur = trie[key]
            self.eps[cur].add(end)
        return end

    def closure(self, states: set[int]) -> frozenset[int]:
        """States reachable by epsilon moves; per-state closures are computed once and reused
        (subset construction asks for the closure of overlapping sets hundreds of thousands of
        times with every country on)."""
        out: set[int] = set()
        for s in states:
            out |= self._state_closure(s)
        return frozenset(out)

    def _state_closure(self, state: int) -> frozenset[int]:
        cached = self._closures.get(state)
        if cached is not None:
            return cached
        stack, seen = [state], {state}
        while stack:
            for nxt in self.eps[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        closed = frozenset(seen)
        self._closures[state] = closed
        return closed


def _classes(glyphs: str) -> list[int]:
    return [READER_ALPHABET.index(ch) + 1 for ch in glyphs]


@dataclass(frozen=True, eq=False)
class PlateAutomaton:
    """DFA over reader classes. ``labels[s]`` are the indices (into ``formats``) accepted at s."""

    transitions: np.ndarray  # (S, num_classes) int32, blank column goes to the dead state
    accepting: np.ndarray  # (S,) bool
    min_remaining: np.ndarray  # (S,) int64, glyphs still needed to reach acceptance
    labels: tuple[tuple[int, ...], ...]
    formats: tuple[PlateFormat, ...]

    @cached_property
    def transition_lists(self) -> list[list[int]]:
        """``transitions`` as nested lists: the beam search indexes single cells, which lists do fastest.
        Cells share one int object per state (most point to the dead state), which keeps the lists
        of the all-country automaton at a few MB instead of one int object per cell."""
        shared: dict[int, int] = {}
        return [[shared.setdefault(v, v) for v in row] for row in self.transitions.tolist()]

    @cached_property
    def min_remaining_list(self) -> list[int]:
        return self.min_remaining.tolist()

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def dead(self) -> int:
        return self.num_states - 1

    @property
    def num_classes(self) -> int:
        return int(self.transitions.shape[1])

    def walk(self, classes: Sequence[int]) -> int:
        """State after reading ``classes`` from the start (the dead state if rejected)."""
        state = 0
        for c in classes:
            state = int(self.transitions[state, c])
        return state

    def accepts(self, classes: Sequence[int]) -> bool:
        return bool(self.accepting[self.walk(classes)])

    def accepted_formats(self, glyphs: str) -> list[PlateFormat]:
        """Formats that accept a glyph-form text."""
        state = self.walk(_classes(glyphs))
        return [self.formats[i] for i in self.labels[state]]

    @classmethod
    def from_formats(cls, formats: Sequence[PlateFormat]) -> PlateAutomaton:
        """Automaton of the formats: one minimal automaton per country, then their union.

        Determinising all formats at once makes subsets of thousands of NFA states (every
        open run and table trie of every country); the union of minimal per-country automata
        has subsets of at most one state per country, which builds the 49-country automaton
        several times faster."""
        groups: dict[str, list[int]] = {}
        for i, fmt in enumerate(formats):
            groups.setdefault(fmt.country, []).append(i)
        if len(groups) <= 1:
            return cls._from_nfa(formats)
        parts = [(cls._from_nfa([formats[i] for i in idx]), idx) for idx in groups.values()]
        return cls._union(parts, tuple(formats))

    @classmethod
    def _from_nfa(cls, formats: Sequence[PlateFormat]) -> PlateAutomaton:
        nfa = _NFA()
        start = nfa.new()
        for label, fmt in enumerate(formats):
            cur = nfa.new()
            nfa.eps[start].add(cur)
            for slot in fmt.slots:
                if slot.kind == "chars":
                    cur = nfa.add_run(cur, _classes(slot.charset), slot.min_len, slot.max_len)
                else:
                    cur = nfa.add_choices(cur, [_classes(c) for c in slot.choices])
            nfa.accept[cur] = label
        return cls._determinize(nfa, start, NUM_CLASSES, tuple(formats))

    @classmethod
    def _union(
        cls, parts: Sequence[tuple[PlateAutomaton, Sequence[int]]], formats: tuple[PlateFormat, ...]
    ) -> PlateAutomaton:
        """Product construction over deterministic parts: a state is the tuple of the live
        (part, state) pairs; ``parts`` pairs each automaton with the indices (into ``formats``)
        of its formats."""
        rows = [part.transitions.tolist() for part, _ in parts]
        deads = [part.dead for part, _ in parts]
        num_classes = parts[0][0].num_classes
        first = tuple((k, 0) for k in range(len(parts)))
        index: dict[tuple[tuple[int, int], ...], int] = {first: 0}
        order = [first]
        edges: list[dict[int, int]] = []
        queue = deque([first])
        while queue:
            subset = queue.popleft()
            targets: dict[int, list[tuple[int, int]]] = {}
            for k, state in subset:
                dead, row = deads[k], rows[k][state]
                for c in range(1, num_classes):
                    t = row[c]
                    if t != dead:
                        targets.setdefault(c, []).append((k, t))
            out: dict[int, int] = {}
            for c, members in targets.items():
                key = tuple(members)
                if key not in index:
                    index[key] = len(order)
                    order.append(key)
                    queue.append(key)
                out[c] = index[key]
            edges.append(out)
        dead = len(order)
        transitions = np.full((dead + 1, num_classes), dead, dtype=np.int32)
        for s, out in enumerate(edges):
            for c, t in out.items():
                transitions[s, c] = t
        labels = [
            tuple(sorted(parts[k][1][i] for k, state in subset for i in parts[k][0].labels[state]))
            for subset in order
        ]
        labels.append(())
        return cls._finish(transitions, labels, formats)

    @classmethod
    def from_sequences(cls, sequences: Sequence[Sequence[int]], num_classes: int) -> PlateAutomaton:
        """Automaton of a finite set of label sequences (classes 1..num_classes-1); for tests and
        for callers with their own vocabulary (a watch list, say)."""
        if not sequences:
            raise ValueError("an automaton needs at least one sequence")
        for seq in sequences:
            if any(not 1 <= c < num_classes for c in seq):
                raise ValueError(f"sequence {list(seq)} has a class outside 1..{num_classes - 1}")
        nfa = _NFA()
        start = nfa.new()
        end = nfa.add_choices(start, sequences)
        nfa.accept[end] = 0
        return cls._determinize(nfa, start, num_classes, ())

    @classmethod
    def _determinize(
        cls, nfa: _NFA, start: int, num_classes: int, formats: tuple[PlateFormat, ...]
    ) -> PlateAutomaton:
        first = nfa.closure({start})
        index: dict[frozenset[int], int] = {first: 0}
        order: list[frozenset[int]] = [first]
        edges: list[dict[int, int]] = []
        queue = deque([first])
        while queue:
            subset = queue.popleft()
            targets: dict[int, set[int]] = {}
            for s in subset:
                for c, nxt in nfa.moves[s].items():
                    targets.setdefault(c, set()).update(nxt)
            out: dict[int, int] = {}
            for c, states in targets.items():
                closed = nfa.closure(states)
                if closed not in index:
                    index[closed] = len(order)
                    order.append(closed)
                    queue.append(closed)
                out[c] = index[closed]
            edges.append(out)
        dead = len(order)
        transitions = np.full((dead + 1, num_classes), dead, dtype=np.int32)
        for s, out in enumerate(edges):
            for c, t in out.items():
                transitions[s, c] = t
        transitions[:, BLANK_INDEX] = dead
        labels = [tuple(sorted({nfa.accept[s] for s in subset if s in nfa.accept})) for subset in order]
        labels.append(())
        return cls._finish(transitions, labels, formats)

    @classmethod
    def _finish(
        cls, transitions: np.ndarray, labels: list[tuple[int, ...]], formats: tuple[PlateFormat, ...]
    ) -> PlateAutomaton:
        """Minimise a DFA whose last state is dead and add what the beam search needs."""
        transitions[:, BLANK_INDEX] = len(labels) - 1
        transitions, labels = _minimize(transitions, labels)
        accepting = np.array([bool(lab) for lab in labels], dtype=bool)
        dead = len(labels) - 1
        edges = [{c: int(t) for c, t in enumerate(row) if t != dead} for row in transitions[:-1]]
        return cls(transitions, accepting, _min_remaining(edges, accepting, dead), tuple(labels), formats)


def _minimize(
    transitions: np.ndarray, labels: list[tuple[int, ...]]
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Moore's partition refinement: states are split by accepted formats, then by the blocks
    their transitions reach, until no block splits. Blocks are renumbered so that the start
    stays 0 and the dead state (the block of the last state) comes last."""
    label_ids: dict[tuple[int, ...], int] = {}
    block = np.array([label_ids.setdefault(lab, len(label_ids)) for lab in labels], dtype=np.int64)
    count = len(label_ids)
    while True:
        refined = _row_classes(np.concatenate([block[:, None], block[transitions]], axis=1))
        new_count = int(refined.max()) + 1
        block = refined
        if new_count == count:
            break
        count = new_count
    # Renumber by first appearance (the start state 0 keeps block 0), the dead block last.
    dead_block = block[-1]
    order: dict[int, int] = {}
    for b in block.tolist():
        if b != dead_block and b not in order:
            order[b] = len(order)
    order[int(dead_block)] = len(order)
    remap = np.array([order[b] for b in range(count)], dtype=np.int32)
    new_ids = remap[block]
    representative = np.zeros(count, dtype=np.int64)
    representative[new_ids[::-1]] = np.arange(len(block) - 1, -1, -1)  # first state of each block
    minimal = new_ids[transitions[representative]].astype(np.int32)
    return minimal, [labels[int(s)] for s in representative]


def _min_remaining(edges: list[dict[int, int]], accepting: np.ndarray, dead: int) -> np.ndarray:
    """Fewest glyphs from each state to an accepting one (breadth-first on reversed edges)."""
    reverse: list[list[int]] = [[] for _ in range(dead + 1)]
    for s, out in enumerate(edges):
        for t in set(out.values()):
            reverse[t].append(s)
    dist = np.full(dead + 1, _UNREACHABLE, dtype=np.int64)
    queue = deque(int(s) for s in np.flatnonzero(accepting))
    dist[list(queue)] = 0
    while queue:
        t = queue.popleft()
        for s in reverse[t]:
            if dist[s] == _UNREACHABLE:
                dist[s] = dist[t] + 1
                queue.append(s)
    return dist


def _row_classes(rows: np.ndarray) -> np.ndarray:
    """Class of each row, equal rows alike (``np.unique(rows, axis=0, return_inverse=True)``):
    rows are hashed to one int64 each and sorted once, which is several times faster than the
    row-wise sort; a hash collision is detected and falls back to the row-wise sort."""
    mix = np.random.default_rng(0).integers(1, 2**62, size=rows.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        hashes = (rows.astype(np.int64) * mix).sum(axis=1)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(rows, rows[first[inverse]]):
        _, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    return inverse
