//! Minibatch sampling, stateless: the indices of minibatch `i` are a function of (seed,
//! i) alone, so a run resumed at step t draws exactly what the uninterrupted run would
//! have drawn (the sampler's state is the step counter).
//!
//! - [`independent`]: each minibatch is B distinct examples drawn uniformly from the N,
//!   independently of every other minibatch (i.i.d. minibatches: what the vMF study's
//!   estimators assume);
//! - [`EpochSampler`]: one random permutation per epoch cut into consecutive minibatches
//!   (what SGD training does).

use gradscope_stats::rng;
use rand::seq::SliceRandom;

/// Minibatch `i` of `b` distinct indices out of `n`, drawn from stream (seed, i).
pub fn independent(n: usize, b: usize, seed: u64, i: u64) -> Vec<i64> {
    let mut r = rng::stream(seed, i);
    let mut idx: Vec<i64> = rand::seq::index::sample(&mut r, n, b.min(n))
        .into_iter()
        .map(|v| v as i64)
        .collect();
    idx.sort_unstable();
    idx
}

/// Epoch-wise shuffling.
#[derive(Debug, Clone)]
pub struct EpochSampler {
    n: usize,
    b: usize,
    seed: u64,
    drop_last: bool,
    cached: Option<(u64, Vec<i64>)>,
}

impl EpochSampler {
    /// `drop_last`: leave out the last partial minibatch (so every minibatch has `b`).
    pub fn new(n: usize, b: usize, seed: u64, drop_last: bool) -> Self {
        Self {
            n,
            b: b.max(1),
            seed,
            drop_last,
            cached: None,
        }
    }

    /// Minibatches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.n / self.b
        } else {
            self.n.div_ceil(self.b)
        }
    }

    /// The permutation of epoch `e` (stream (seed, 2^63 + e), so it never coincides with
    /// an independent minibatch's stream).
    pub fn permutation(&self, e: u64) -> Vec<i64> {
        let mut p: Vec<i64> = (0..self.n as i64).collect();
        p.shuffle(&mut rng::stream(self.seed, (1u64 << 63) | e));
        p
    }

    /// The indices of global minibatch `step` (epoch = step / batches_per_epoch).
    pub fn batch(&mut self, step: u64) -> Vec<i64> {
        let per = self.batches_per_epoch().max(1) as u64;
        let (e, j) = (step / per, (step % per) as usize);
        if self.cached.as_ref().map(|c| c.0) != Some(e) {
            self.cached = Some((e, self.permutation(e)));
        }
        let p = &self.cached.as_ref().expect("cached").1;
        let end = ((j + 1) * self.b).min(self.n);
        p[j * self.b..end].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_batches_are_distinct_and_reproducible() {
        let a = independent(100, 10, 1, 5);
        assert_eq!(a, independent(100, 10, 1, 5));
        assert_ne!(a, independent(100, 10, 1, 6));
        let mut d = a.clone();
        d.dedup();
        assert_eq!(d.len(), 10);
    }

    #[test]
    fn epoch_covers_every_example_once() {
        let mut s = EpochSampler::new(10, 3, 7, false);
        assert_eq!(s.batches_per_epoch(), 4);
        let mut all: Vec<i64> = (0..4).flat_map(|i| s.batch(i)).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_ne!(s.batch(0), s.batch(4));
        let mut t = EpochSampler::new(10, 3, 7, false);
        assert_eq!(s.batch(5), t.batch(5));
        assert_eq!(EpochSampler::new(10, 3, 7, true).batches_per_epoch(), 3);
    }
}
