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

// Reference values: scripts/reference/noise_scale_reference.py (NumPy 2 / scipy, from the
// gradients themselves; order g2, tr Sigma, B_simple, their jackknife se, interval).
const ONE_B8: [[f64; 8]; 3] = [
    [
        2.74409125702413603e-01,
        2.01529947587027429e+01,
        7.34414160138315140e+01,
        1.47541513036284322e-01,
        9.58601461892456763e-01,
        4.21758934602907161e+01,
        -6.07811003009099693e+01,
        2.07663932328572997e+02,
    ],
    [
        1.51948791229359031e-01,
        1.34292491285044946e+01,
        8.83800984519430699e+01,
        8.84927701186293825e-02,
        7.51450083503141686e-01,
        6.73000486896190608e+01,
        -1.25798692845748747e+02,
        3.02558889749634886e+02,
    ],
    [
        1.22460334473054419e-01,
        6.72374563019824745e+00,
        5.49054978424683924e+01,
        7.74970321004636586e-02,
        5.52528259287523027e-01,
        4.95908111744089695e+01,
        -1.02914595955551434e+02,
        2.12725591640488233e+02,
    ],
];
const TWO_4_32: [[f64; 8]; 3] = [
    [
        4.55788846782976043e-01,
        1.96148963442862687e+01,
        4.30350511705827401e+01,
        3.85575309423759546e-02,
        5.13444094248991623e-01,
        4.31436164227085417e+00,
        2.93048269024801087e+01,
        5.67652754386853715e+01,
    ],
    [
        2.62078046752006522e-01,
        1.19607743251393348e+01,
        4.56382153078900004e+01,
        6.68794732430181282e-02,
        1.30062909509903712e+00,
        1.58812984551905281e+01,
        -4.90316428393894910e+00,
        9.61795948997189498e+01,
    ],
    [
        1.93710800030969299e-01,
        7.65412201914692414e+00,
        3.95131402994733918e+01,
        8.43487075793558500e-02,
        1.12718751878974377e+00,
        2.91765790755002250e+01,
        -5.33397559801702386e+01,
        1.32366036579117008e+02,
    ],
];
const THREE_2_8_64: [[f64; 8]; 3] = [
    [
        3.64800263863852114e-01,
        1.97888476747846873e+01,
        5.42457054860303671e+01,
        1.54092839464703535e-01,
        2.24992885997550962e+00,
        2.55975753682441045e+01,
        -2.72172036688593337e+01,
        1.35708614640920075e+02,
    ],
    [
        1.57921745731959218e-01,
        1.27410983809992597e+01,
        8.06798222875824962e+01,
        1.91719169248968896e-01,
        2.47931120070482836e+00,
        1.03821535578238155e+02,
        -2.49726640022262529e+02,
        4.11086284597427550e+02,
    ],
    [
        2.06878518131892092e-01,
        7.04774929378544179e+00,
        3.40670909547614897e+01,
        5.37697986235289097e-02,
        2.32820490325675422e-01,
        1.13327102165913089e+01,
        -1.99865080288044794e+00,
        7.01328327124034274e+01,
    ],
];

#[test]
fn one_batch_size_equals_numpy() {
    let acc = accumulate(&[(8, lcg_minibatches(11, 8, 13))], true);
    let rows = acc.estimate(Choice::Auto).unwrap();
    assert!(rows.iter().all(|r| r.estimator == Estimator::OneBatchSize));
    assert_rows(&rows, &ONE_B8, 1e-11);
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
    assert_rows(&rows, &TWO_4_32, 1e-11);
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
    assert_rows(&rows, &THREE_2_8_64, 1e-11);
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
