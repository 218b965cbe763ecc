"""The minibatch sampler of ``dump-grads``, reproduced exactly.

``dump-grads`` draws minibatch ``i`` from the generator of stream ``(seed, i)``: Xoshiro256++
(Blackman and Vigna 2021) seeded by SplitMix64, with the stream derivation of the Rust
side's ``gradscope_stats::rng::stream``, and B distinct indices chosen by the ``rand`` 0.9
crate's ``seq::index::sample`` (Floyd's algorithm, a partial Fisher-Yates shuffle or
rejection sampling, picked by the same thresholds), sorted. The epoch sampler shuffles
``0..n`` with ``rand``'s ``SliceRandom::shuffle`` on stream ``(seed, 2**63 + epoch)``.

Reproducing these in Python lets :func:`gradscope.minibatch_gradients` take exactly the
minibatches ``dump-grads --seed S`` takes, so gradients computed in PyTorch can be
compared with the tool's bit for bit (``tests/test_dump_grads.py``).

All arithmetic is on Python integers masked to 64 or 32 bits.
"""

from __future__ import annotations

from typing import List

import numpy as np

_M64 = (1 << 64) - 1
_M32 = (1 << 32) - 1
_PHI = 0x9E3779B97F4A7C15


def splitmix64(x: int) -> int:
    """SplitMix64's output function (Steele, Lea and Flood 2014) applied to ``x``."""
    z = (x + _PHI) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _M64


class Xoshiro256pp:
    """Xoshiro256++ with ``rand_xoshiro``'s ``seed_from_u64``: the state is four
    consecutive outputs of SplitMix64 started at ``seed``."""

    __slots__ = ("s",)

    def __init__(self, seed: int):
        x = seed & _M64
        s = []
        for _ in range(4):
            x = (x + _PHI) & _M64
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
            s.append(z ^ (z >> 31))
        self.s = s

    def next_u64(self) -> int:
        s = self.s
        result = (_rotl((s[0] + s[3]) & _M64, 23) + s[0]) & _M64
        t = (s[1] << 17) & _M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def next_u32(self) -> int:
        """The upper 32 bits of the next output (as ``rand_xoshiro`` does)."""
        return self.next_u64() >> 32

    def range_inclusive_u32(self, low: int, high: int) -> int:
        """``rand`` 0.9's ``UniformInt::<u32>::sample_single_inclusive`` (biased Canon
        variant, the default without the ``unbiased`` feature)."""
        rng = (high - low + 1) & _M32
        if rng == 0:
            return self.next_u32()
        m = self.next_u32() * rng
        result, lo = m >> 32, m & _M32
        if lo > ((-rng) & _M32):
            new_hi = (self.next_u32() * rng) >> 32
            if lo + new_hi > _M32:
                result += 1
        return (low + result) & _M32


def stream(seed: int, index: int) -> Xoshiro256pp:
    """The generator of stream ``index`` under ``seed`` (``gradscope_stats::rng::stream``)."""
    return Xoshiro256pp(splitmix64((seed ^ splitmix64((index + _PHI) & _M64)) & _M64))


def _f32(x: float) -> float:
    return float(np.float32(x))


def _sample_floyd(r: Xoshiro256pp, length: int, amount: int) -> List[int]:
    indices: List[int] = []
    for j in range(length - amount, length):
        t = r.range_inclusive_u32(0, j)
        try:
            indices[indices.index(t)] = j
        except ValueError:
            pass
        indices.append(t)
    return indices


def _sample_inplace(r: Xoshiro256pp, length: int, amount: int) -> List[int]:
    indices = np.arange(length, dtype=np.int64)
    for i in range(amount):
        j = r.range_inclusive_u32(i, length - 1)
        indices[i], indices[j] = indices[j], indices[i]
    return indices[:amount].tolist()


def _sample_rejection(r: Xoshiro256pp, length: int, amount: int) -> List[int]:
    # rand's `Uniform::new(0, length)` sampled: widening multiply, reject below thresh.
    rng = length & _M32
    thresh = ((-rng) & _M32) % rng
    seen = set()
    out = []
    for _ in range(amount):
        while True:
            while True:
                m = r.next_u32() * rng
                if (m & _M32) >= thresh:
                    break
            pos = m >> 32
            if pos not in seen:
                seen.add(pos)
                break
        out.append(pos)
    return out


def index_sample(r: Xoshiro256pp, length: int, amount: int) -> List[int]:
    """``rand::seq::index::sample(r, length, amount)`` (rand 0.9) for ``length`` below
    2**32: ``amount`` distinct indices of ``0..length``, unsorted."""
    if amount > length:
        raise ValueError(f"cannot draw {amount} distinct indices out of {length}")
    if length > _M32:
        raise ValueError("datasets of 2**32 examples or more are not supported")
    # The thresholds are f32 arithmetic in rand.
    j = 1 if length >= 500_000 else 0
    if amount < 163:
        c = ((_f32(1.6), _f32(8.0 / 45.0)), (_f32(10.0), _f32(70.0 / 9.0)))
        m4 = _f32(c[0][j] * _f32(amount))
        if amount > 11 and _f32(length) < _f32(_f32(c[1][j] + m4) * _f32(amount)):
            return _sample_inplace(r, length, amount)
        return _sample_floyd(r, length, amount)
    cj = (_f32(270.0), _f32(330.0 / 9.0))[j]
    if _f32(length) < _f32(cj * _f32(amount)):
        return _sample_inplace(r, length, amount)
    return _sample_rejection(r, length, amount)


def independent(n: int, b: int, seed: int, i: int) -> np.ndarray:
    """Minibatch ``i`` of ``dump-grads --sampling independent --seed seed``: ``min(b, n)``
    distinct example indices of ``0..n``, sorted ascending (int64, shape ``[min(b, n)]``)."""
    idx = index_sample(stream(seed, i), n, min(b, n))
    return np.sort(np.asarray(idx, dtype=np.int64))


def permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of ``0..n`` of epoch ``epoch`` (``rand``'s ``shuffle`` on stream
    ``(seed, 2**63 | epoch)``), int64, shape ``[n]``."""
    r = stream(seed, (1 << 63) | epoch)
    p = np.arange(n, dtype=np.int64)
    if n <= 1:
        return p
    # rand's IncreasingUniform: several indices from one draw of a u32.
    count = 0  # indices so far (IncreasingUniform's n)
    chunk = 0
    remaining = 1  # n == 0 starts with chunk_remaining = 1
    for i in range(n):
        next_n = count + 1
        if remaining == 0:
            product, current = next_n, next_n + 1
            while product * current <= _M32:
                product *= current
                current += 1
            bound, rem = product, current - next_n
            chunk = r.range_inclusive_u32(0, bound - 1)
            remaining = rem
        remaining -= 1
        if remaining == 0:
            index = chunk
        else:
            index = chunk % next_n
            chunk //= next_n
        count = next_n
        p[i], p[index] = p[index], p[i]
    return p


class EpochSampler:
    """``dump-grads --sampling epoch``: minibatch ``step`` is the ``step % per``-th block of
    ``b`` consecutive entries of epoch ``step // per``'s permutation, ``per = n // b``
    (the last partial block is dropped)."""

    def __init__(self, n: int, b: int, seed: int):
        self.n, self.b, self.seed = n, max(b, 1), seed
        self._cached = None

    def batches_per_epoch(self) -> int:
        return self.n // self.b

    def batch(self, step: int) -> np.ndarray:
        per = max(self.batches_per_epoch(), 1)
        e, j = divmod(step, per)
        if self._cached is None or self._cached[0] != e:
            self._cached = (e, permutation(self.n, self.seed, e))
        p = self._cached[1]
        return p[j * self.b : min((j + 1) * self.b, self.n)].copy()
