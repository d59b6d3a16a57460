"""A deterministic automaton over reader classes that accepts exactly the allowed plates.

The constrained CTC beam search steps it once per emitted glyph: a beam whose state is dead, or
that needs more glyphs than frames remain, cannot become a valid plate and is dropped.
Built from the formats' slots by subset construction; state 0 is the start, the last state is
the dead state (every transition of it loops back to itself).
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
        stack, seen = list(states), set(states)
        while stack:
            for nxt in self.eps[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(seen)


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
        """``transitions`` as nested lists: the beam search indexes single cells, which lists do fastest."""
        return self.transitions.tolist()

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
        accepting = np.array([bool(lab) for lab in labels], dtype=bool)
        return cls(transitions, accepting, _min_remaining(edges, accepting, dead), tuple(labels), formats)


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
