"""The reproduction of dump-grads' sampler. Its agreement with the Rust sampler is tested
through the gradients in test_dump_grads.py (every branch of rand's index sampling and
the epoch permutation); here, the generator against published reference outputs."""

import numpy as np
import pytest

from gradscope import sampler


def test_xoshiro256pp_reference_outputs():
    # Vigna's reference implementation (xoshiro256plusplus.c) from state {1, 2, 3, 4}, as
    # quoted in rand_xoshiro's own test.
    r = sampler.Xoshiro256pp(0)
    r.s = [1, 2, 3, 4]
    want = [41943041, 58720359, 3588806011781223, 3591011842654386, 9228616714210784205,
            9973669472204895162, 14011001112246962877, 12406186145184390807,
            15849039046786891736, 10450023813501588000]
    assert [r.next_u64() for _ in want] == want


def test_splitmix64_reference():
    # SplitMix64 from state 0: first output 0xE220A8397B1DCDAF (Vigna's splitmix64.c).
    assert sampler.splitmix64(0) == 0xE220A8397B1DCDAF
    # seed_from_u64 takes four consecutive SplitMix64 outputs from the seed (x += phi each).
    r = sampler.Xoshiro256pp(0)
    assert r.s[0] == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("n,b", [(60000, 64), (60000, 200), (60000, 300), (1000, 999), (50, 20), (10, 10)])
def test_independent_minibatches(n, b):
    a = sampler.independent(n, b, 7, 3)
    assert a.dtype == np.int64 and len(a) == b
    assert np.all(np.diff(a) > 0) and a[0] >= 0 and a[-1] < n
    assert np.array_equal(a, sampler.independent(n, b, 7, 3))
    if b < n:
        assert not np.array_equal(a, sampler.independent(n, b, 7, 4))


def test_uniform_draws_are_unbiased_enough():
    # Each index of 0..10 in minibatches of 3: frequency 0.3, 20,000 draws, sd 0.0032.
    counts = np.zeros(10)
    for i in range(20000):
        counts[sampler.independent(10, 3, 1, i)] += 1
    assert np.all(np.abs(counts / 20000 - 0.3) < 0.02)


def test_epoch_sampler_covers_each_example_once():
    s = sampler.EpochSampler(10, 3, 7)
    assert s.batches_per_epoch() == 3
    seen = np.concatenate([s.batch(i) for i in range(3)])
    assert len(set(seen.tolist())) == 9
    p = sampler.permutation(1000, 7, 0)
    assert sorted(p.tolist()) == list(range(1000))
    assert not np.array_equal(p, sampler.permutation(1000, 7, 1))
