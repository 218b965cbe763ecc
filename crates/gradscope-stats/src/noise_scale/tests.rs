//! Tests of the noise-scale estimators: NumPy/scipy's values on the same gradients, the
//! known truth of synthetic gradients, merging, and the errors.

use super::*;
use crate::rng;
use rand_distr::{Distribution, StandardNormal};

const D: usize = 40;
const SCOPES: [(usize, usize); 2] = [(0, 25), (25, 15)];
const K: usize = 4;

/// The LCG minibatches of scripts/reference/noise_scale_reference.py, bit for bit:
/// mu_j + sigma_j sqrt(12/B) (u - 1/2), rounded to f32.
fn lcg_minibatches(seed: u64, batch_size: u64, n: usize) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut u = move || {
        s = (1664525 * s + 1013904223) % (1u64 << 32);
        s as f64 / (1u64 << 32) as f64
    };
    (0..n)
        .map(|_| {
            (0..D)
                .map(|j| {
                    let mu = ((j % 7) as f64 - 3.0) * 0.05;
                    let sigma = 0.5 + (j % 5) as f64 * 0.1;
                    (mu + sigma * (12.0 / batch_size as f64).sqrt() * (u() - 0.5)) as f32
                })
                .collect()
        })
        .collect()
}

fn accumulate(parts: &[(u64, Vec<Vec<f32>>)], keep_means: bool) -> NoiseScaleAccumulator {
    let mut acc = NoiseScaleAccumulator::new(D, SCOPES.to_vec(), K, keep_means).unwrap();
    for (b, gs) in parts {
        for (i, g) in gs.iter().enumerate() {
            acc.push(*b, i as u64, g).unwrap();
        }
    }
    acc
}

fn row(r: &NoiseScale) -> [f64; 8] {
    [
        r.grad_sq_norm,
        r.trace_sigma,
        r.b_simple,
        r.grad_sq_norm_se,
        r.trace_sigma_se,
        r.b_simple_se,
        r.b_simple_lo,
        r.b_simple_hi,
    ]
}

fn assert_rows(got: &[NoiseScale], want: &[[f64; 8]; 3], rel: f64) {
    assert_eq!(got.len(), 3);
    for (s, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.replicates, K);
        for (i, (a, b)) in row(g).iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() <= rel * b.abs(),
                "scope {s}, value {i}: {a} vs NumPy {b}"
            );
        }
    }
}

/// NumPy/scipy's rows for one case of scripts/reference/noise_scale_reference.py, which
/// computes them from the gradients themselves and writes testdata/reference.csv: for the
/// whole vector, tensor a and tensor b, in the order of [`row`]. Cases: `one-b8`,
/// `two-4-32`, `three-2-8-64` (minibatches numbered from 0 within each batch size, as
/// [`accumulate`] pushes them).
fn numpy(case: &str) -> [[f64; 8]; 3] {
    let mut rows = include_str!("testdata/reference.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|cells| cells[0] == case);
    std::array::from_fn(|scope| {
        let cells = rows
            .next()
            .unwrap_or_else(|| panic!("{case}: no scope {scope}"));
        assert_eq!(cells[1], scope.to_string(), "{case}");
        std::array::from_fn(|i| cells[i + 2].parse().unwrap())
    })
}

#[test]
fn one_batch_size_equals_numpy() {
    let acc = accumulate(&[(8, lcg_minibatches(11, 8, 13))], true);
    let rows = acc.estimate(Choice::Auto).unwrap();
    assert!(rows.iter().all(|r| r.estimator == Estimator::OneBatchSize));
    assert_rows(&rows, &numpy("one-b8"), 1e-11);
}

#[test]
fn two_batch_sizes_equal_numpy_and_appendix_a() {
    let parts = [
        (4, lcg_minibatches(21, 4, 9)),
        (32, lcg_minibatches(22, 32, 6)),
    ];
    let acc = accumulate(&parts, false);
    let rows = acc.estimate(Choice::Auto).unwrap();
    assert!(rows.iter().all(|r| r.estimator == Estimator::BatchSizes));
    assert_rows(&rows, &numpy("two-4-32"), 1e-11);
    // Appendix A's closed forms for two batch sizes, from the means of |g|^2.
    let m = |gs: &[Vec<f32>]| gs.iter().map(|g| sq_norm(g)).sum::<f64>() / gs.len() as f64;
    let (ms, mb) = (m(&parts[0].1), m(&parts[1].1));
    let (bs, bb) = (4.0, 32.0);
    let g2 = (bb * mb - bs * ms) / (bb - bs);
    let tr = (ms - mb) / (1.0 / bs - 1.0 / bb);
    assert!((rows[0].grad_sq_norm - g2).abs() <= 1e-12 * g2);
    assert!((rows[0].trace_sigma - tr).abs() <= 1e-12 * tr);
}

#[test]
fn three_batch_sizes_equal_numpy_least_squares() {
    let parts = [
        (2, lcg_minibatches(31, 2, 7)),
        (8, lcg_minibatches(32, 8, 8)),
        (64, lcg_minibatches(33, 64, 5)),
    ];
    let rows = accumulate(&parts, false).estimate_batch_sizes().unwrap();
    assert_rows(&rows, &numpy("three-2-8-64"), 1e-11);
}

/// Gaussian minibatch gradients g = G + N(0, Sigma/B) with known G and diagonal Sigma:
/// B_simple = tr(Sigma)/|G|^2 exactly.
fn gaussian(seed: u64, dim: usize, batch: u64, n: usize) -> (Vec<Vec<f32>>, f64) {
    let mut r = rng::seeded(seed);
    let mu: Vec<f64> = (0..dim).map(|j| 0.02 * ((j % 11) as f64 - 5.0)).collect();
    let sd: Vec<f64> = (0..dim).map(|j| 0.3 + 0.05 * (j % 3) as f64).collect();
    let truth = sd.iter().map(|s| s * s).sum::<f64>() / mu.iter().map(|m| m * m).sum::<f64>();
    let scale = 1.0 / (batch as f64).sqrt();
    let gs = (0..n)
        .map(|_| {
            (0..dim)
                .map(|j| {
                    let z: f64 = StandardNormal.sample(&mut r);
                    (mu[j] + sd[j] * scale * z) as f32
                })
                .collect()
        })
        .collect();
    (gs, truth)
}

#[test]
fn recovers_known_noise_scale_from_one_batch_size() {
    let dim = 3000;
    let (gs, truth) = gaussian(7, dim, 16, 400);
    let mut acc = NoiseScaleAccumulator::new(dim, vec![], 10, true).unwrap();
    for (i, g) in gs.iter().enumerate() {
        acc.push(16, i as u64, g).unwrap();
    }
    let r = &acc.estimate(Choice::Auto).unwrap()[0];
    // truth = 3000 * mean(sd^2) / sum(mu^2) = 102.27...; within the 95% interval and 5%.
    assert!(
        r.b_simple_lo <= truth && truth <= r.b_simple_hi,
        "{r:?} vs {truth}"
    );
    assert!(
        (r.b_simple - truth).abs() < 0.05 * truth,
        "{} vs {truth}",
        r.b_simple
    );
}

#[test]
fn recovers_known_noise_scale_from_two_batch_sizes() {
    let dim = 3000;
    let (small, truth) = gaussian(8, dim, 8, 300);
    let (big, _) = gaussian(9, dim, 512, 300);
    let mut acc = NoiseScaleAccumulator::new(dim, vec![], 10, false).unwrap();
    for (i, g) in small.iter().enumerate() {
        acc.push(8, i as u64, g).unwrap();
    }
    for (i, g) in big.iter().enumerate() {
        acc.push(512, i as u64, g).unwrap();
    }
    let r = &acc.estimate(Choice::Auto).unwrap()[0];
    assert!(
        r.b_simple_lo <= truth && truth <= r.b_simple_hi,
        "{r:?} vs {truth}"
    );
    assert!(
        (r.b_simple - truth).abs() < 0.05 * truth,
        "{} vs {truth}",
        r.b_simple
    );
}

#[test]
fn merged_parts_equal_one_pass() {
    let parts = [
        (4, lcg_minibatches(21, 4, 9)),
        (32, lcg_minibatches(22, 32, 6)),
    ];
    for keep in [false, true] {
        let whole = accumulate(&parts, keep);
        // Minibatches split between two accumulators by sample index (odd / even), as two
        // shards would take them.
        let mut a = NoiseScaleAccumulator::new(D, SCOPES.to_vec(), K, keep).unwrap();
        let mut b = a.clone();
        for (bs, gs) in &parts {
            for (i, g) in gs.iter().enumerate() {
                let target = if i % 2 == 0 { &mut a } else { &mut b };
                target.push(*bs, i as u64, g).unwrap();
            }
        }
        a.merge(b).unwrap();
        let choices: Vec<Vec<NoiseScale>> = if keep {
            vec![
                whole.estimate_one_batch_size(4).unwrap(),
                a.estimate_one_batch_size(4).unwrap(),
            ]
        } else {
            vec![
                whole.estimate_batch_sizes().unwrap(),
                a.estimate_batch_sizes().unwrap(),
            ]
        };
        for (x, y) in choices[0].iter().zip(&choices[1]) {
            for (p, q) in row(x).iter().zip(row(y)) {
                assert!((p - q).abs() <= 1e-12 * p.abs(), "{p} vs {q}");
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_threads() {
    let (gs, _) = gaussian(3, 40_000, 4, 12);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut acc = NoiseScaleAccumulator::new(40_000, vec![(100, 30_000)], 5, true).unwrap();
            for (i, g) in gs.iter().enumerate() {
                acc.push(4, i as u64, g).unwrap();
            }
            acc.estimate(Choice::Auto).unwrap()
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn errors_say_what_is_missing() {
    let gs = lcg_minibatches(1, 8, 3);
    let mut one = NoiseScaleAccumulator::new(D, vec![], K, true).unwrap();
    assert_eq!(one.estimate(Choice::Auto), Err(NoiseScaleError::Empty));
    one.push(8, 0, &gs[0]).unwrap();
    assert_eq!(
        one.estimate(Choice::Auto),
        Err(NoiseScaleError::TooFewMinibatches {
            batch_size: 8,
            n: 1
        })
    );
    assert_eq!(
        one.estimate(Choice::BatchSizes),
        Err(NoiseScaleError::OneBatchSize(8))
    );
    let mut no_means = NoiseScaleAccumulator::new(D, vec![], K, false).unwrap();
    no_means.push(8, 0, &gs[0]).unwrap();
    no_means.push(8, 1, &gs[1]).unwrap();
    assert_eq!(
        no_means.estimate(Choice::Auto),
        Err(NoiseScaleError::MeansNotKept(8))
    );
    no_means.push(16, 0, &gs[2]).unwrap();
    assert_eq!(
        no_means.estimate(Choice::OneBatchSize),
        Err(NoiseScaleError::SeveralBatchSizes(2))
    );
    assert!(no_means.estimate(Choice::Auto).is_ok());
    assert_eq!(
        NoiseScaleAccumulator::new(D, vec![], 1, true).unwrap_err(),
        NoiseScaleError::TooFewGroups(1)
    );
    assert_eq!(
        one.push(8, 2, &gs[0][..5]),
        Err(NoiseScaleError::Length {
            got: 5,
            expected: D
        })
    );
    assert_eq!(one.push(0, 2, &gs[0]), Err(NoiseScaleError::ZeroBatchSize));
    let other = NoiseScaleAccumulator::new(D, vec![], K + 1, true).unwrap();
    assert!(one.merge(other).is_err());
}

#[test]
fn groups_without_minibatches_are_no_replicates() {
    // 6 minibatches: with K = 6 each group holds one (the delete-one jackknife); with
    // K = 10 groups 6..9 stay empty and leaving one out changes nothing, so the two must
    // give the same standard errors from 6 replicates. Before, K = 10 counted the empty
    // groups as 4 more replicates equal to the full estimate, which shrank the spread and
    // scaled it by (K-1)/K = 9/10 instead of 5/6.
    for (keep_means, sizes) in [(true, vec![8u64]), (false, vec![8, 32])] {
        let estimate = |groups: usize| {
            let mut acc =
                NoiseScaleAccumulator::new(D, SCOPES.to_vec(), groups, keep_means).unwrap();
            for &b in &sizes {
                for (i, g) in lcg_minibatches(b + 3, b, 6).iter().enumerate() {
                    acc.push(b, i as u64, g).unwrap();
                }
            }
            acc.estimate(Choice::Auto).unwrap()
        };
        let (six, ten) = (estimate(6), estimate(10));
        assert_eq!(six.len(), ten.len());
        for (a, b) in six.iter().zip(&ten) {
            assert_eq!((a.replicates, b.replicates), (6, 6));
            for (x, y) in row(a).iter().zip(row(b)) {
                assert!(
                    (x - y).abs() <= 1e-13 * x.abs(),
                    "{x} vs {y} (keep_means {keep_means})"
                );
            }
        }
    }
}
