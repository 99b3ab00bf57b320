"""Counter-based randomness: every draw is a pure function of (seed, stream name, integer key).

A person's birth date, a record's typo or a day's exchange never depend on how many
other persons, records or nights were simulated, nor on the order of processing. That
is what makes the generator incremental (N+1 nights repeat the first N byte for byte)
while staying vectorised: a draw for a million keys is one numpy expression.

The mixer is SplitMix64's finaliser over ``key * golden + salt(seed, stream)``.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))
_TO_UNIT = 1.0 / float(1 << 53)


def _salt(seed: int, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}\x00{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Rand:
    """Deterministic draws keyed by integers; ``stream`` names what the draw is for."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._salts: dict[str, np.uint64] = {}

    def bits(self, stream: str, keys) -> np.ndarray:
        salt = self._salts.get(stream)
        if salt is None:
            salt = self._salts[stream] = _salt(self.seed, stream)
        x = np.asarray(keys, dtype=np.int64).astype(np.uint64)
        with np.errstate(over="ignore"):
            z = x * _GOLDEN + salt
            z = (z ^ (z >> _S30)) * _M1
            z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)

    def u(self, stream: str, keys) -> np.ndarray:
        """Uniform in [0, 1)."""
        return (self.bits(stream, keys) >> _S11).astype(np.float64) * _TO_UNIT

    def bernoulli(self, stream: str, keys, p) -> np.ndarray:
        return self.u(stream, keys) < p

    def integers(self, stream: str, keys, low: int, high) -> np.ndarray:
        """Integers in [low, high) (``high`` may be an array)."""
        span = np.asarray(high) - low
        return (low + np.floor(self.u(stream, keys) * span)).astype(np.int64)

    def normal(self, stream: str, keys) -> np.ndarray:
        u1 = self.u(stream + "#1", keys)
        u2 = self.u(stream + "#2", keys)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def lognormal(self, stream: str, keys, median, sigma) -> np.ndarray:
        return np.asarray(median, dtype=float) * np.exp(sigma * self.normal(stream, keys))

    def days(self, stream: str, keys, median, sigma, low: int = 0, high: int = 3650) -> np.ndarray:
        """A whole number of days, log-normal around ``median``, clipped to [low, high]."""
        return np.clip(np.rint(self.lognormal(stream, keys, median, sigma)), low, high).astype(np.int64)

    def choice(self, stream: str, keys, weights) -> np.ndarray:
        """Index into ``weights`` (1-D, relative), one per key."""
        cum = np.cumsum(np.asarray(weights, dtype=float))
        idx = np.searchsorted(cum / cum[-1], self.u(stream, keys), side="right")
        return np.minimum(idx, len(cum) - 1)
