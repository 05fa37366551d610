"""The simple baseline: a first-order Markov chain over chord states.

A state is what sounds at one step: the set of (track, pitch) cells, with a
flag for each track that starts a note there. The chain counts the training
segments' transitions (and their first states); sampling walks it for 64
steps, jumping to a first state drawn afresh when a state has no successor.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ganforge.music.data import Segments, as_rolls

State = bytes


class MarkovChain:
    """``MarkovChain().fit(segments)``, then ``sample(n, seed)``: ``(n, tracks, steps, P)`` bool."""

    def __init__(self) -> None:
        self.transitions: dict[State, tuple[list[State], np.ndarray]] = {}
        self.starts: list[State] = []
        self.shape: tuple[int, int, int] | None = None

    @staticmethod
    def _states(roll: np.ndarray) -> list[State]:
        x = np.asarray(roll) > 0  # (tracks, steps, P)
        onset = x & ~np.pad(x, ((0, 0), (1, 0), (0, 0)))[:, :-1]
        both = np.concatenate([x, onset], axis=-1).transpose(1, 0, 2)  # (steps, tracks, 2P)
        return [np.packbits(step).tobytes() for step in both]

    def fit(self, segments: Segments | np.ndarray) -> MarkovChain:
        rolls = as_rolls(segments)
        tracks, steps, pitches = rolls.shape[1:]
        self.shape = (tracks, steps, pitches)
        counts: dict[State, dict[State, int]] = defaultdict(lambda: defaultdict(int))
        for roll in rolls:
            states = self._states(roll)
            self.starts.append(states[0])
            for a, b in zip(states[:-1], states[1:], strict=True):
                counts[a][b] += 1
        self.transitions = {
            a: (list(nxt), np.array(list(nxt.values()), float) / sum(nxt.values()))
            for a, nxt in counts.items()
        }
        return self

    def _decode(self, state: State) -> np.ndarray:
        tracks, _, pitches = self.shape
        bits = np.unpackbits(np.frombuffer(state, np.uint8))[: tracks * 2 * pitches]
        return bits.reshape(tracks, 2 * pitches)[:, :pitches].astype(bool)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        if self.shape is None:
            raise ValueError("the chain is not fitted: call fit(segments) first")
        rng = np.random.default_rng(seed)
        tracks, steps, pitches = self.shape
        out = np.zeros((n, tracks, steps, pitches), bool)
        for i in range(n):
            state = self.starts[rng.integers(len(self.starts))]
            for t in range(steps):
                out[i, :, t] = self._decode(state)
                if state in self.transitions:
                    nxt, p = self.transitions[state]
                    state = nxt[rng.choice(len(nxt), p=p)]
                else:
                    state = self.starts[rng.integers(len(self.starts))]
        return out
