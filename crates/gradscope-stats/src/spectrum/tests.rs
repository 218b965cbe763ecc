//! Tests of the spectra: the two routes agree, and spectra known in closed form (an
//! orthogonal construction, a spiked covariance) are recovered.

use super::*;
use crate::rng;
use rand_distr::{Distribution, StandardNormal};

/// A deterministic dense `n x d` matrix (values of order 1, f32-exact).
fn lcg_matrix(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n * d)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5 + if s % 7 == 0 { 3.0 } else { 0.0 }
        })
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], rel: f64) {
    let scale = a[0].abs().max(b[0].abs());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rel * scale,
            "eigenvalue {i}: {x} vs {y} (scale {scale})"
        );
    }
}

#[test]
fn gram_route_equals_direct_route() {
    // n < d (the Gram route's case) and n > d; both matrices; odd block sizes.
    for &(n, d) in &[(23usize, 61usize), (40, 17)] {
        let x = lcg_matrix(n, d, (n * d) as u64);
        for kind in [MatrixKind::Covariance, MatrixKind::SecondMoment] {
            let g = spectrum_of_rows_by(&x, n, d, kind, 7, Route::Gram).unwrap();
            let dd = spectrum_of_rows_by(&x, n, d, kind, 5, Route::Direct).unwrap();
            assert_eq!(g.eigenvalues.len(), n);
            assert_eq!(dd.eigenvalues.len(), d);
            let m = n.min(d);
            // The first min(n, d) agree to 1e-10 of the largest; the rest are zero.
            assert_close(&g.eigenvalues[..m], &dd.eigenvalues[..m], 1e-10);
            let longer = if n > d { &g } else { &dd };
            let top = longer.eigenvalues[0];
            assert!(longer.eigenvalues[m..]
                .iter()
                .all(|v| v.abs() < 1e-12 * top));
            // Same trace, a route-independent check of the normalisation.
            assert!((g.trace() - dd.trace()).abs() < 1e-12 * g.trace().abs());
        }
        // The automatic route.
        let auto = spectrum_of_rows(&x, n, d, MatrixKind::Covariance, 8).unwrap();
        assert_eq!(auto.route, Route::choose(n, d));
    }
}

#[test]
fn covariance_rank_and_tolerance() {
    // n = 10 centred samples span at most 9 dimensions.
    let (n, d) = (10, 50);
    let x = lcg_matrix(n, d, 3);
    let c = spectrum_of_rows(&x, n, d, MatrixKind::Covariance, 16).unwrap();
    assert_eq!(c.rank(), 9);
    assert_eq!(c.significant().len(), 9);
    assert_eq!(c.eigengaps().len(), 8);
    let m = spectrum_of_rows(&x, n, d, MatrixKind::SecondMoment, 16).unwrap();
    assert_eq!(m.rank(), 10);
    assert_eq!(m.top_k(3), &m.eigenvalues[..3]);
}

#[test]
fn orthogonal_construction_exact() {
    // g_t = a_t H e_t with H = I - (2/d) 1 1^T (a Householder reflection, so its columns
    // are orthonormal; d = 16 makes every entry dyadic, hence exact in f32). Then
    // X^T X = sum a_t^2 h_t h_t^T has eigenvalues a_t^2 (and d - n zeros): the second
    // moment's are a_t^2 / n exactly.
    let (n, d) = (6usize, 16usize);
    let a = [1.0f64, 2.0, 3.0, 5.0, 7.0, 11.0];
    let mut x = vec![0f32; n * d];
    for t in 0..n {
        for i in 0..d {
            let h = if i == t { 1.0 } else { 0.0 } - 2.0 / d as f64;
            x[t * d + i] = (a[t] * h) as f32;
        }
    }
    let mut want: Vec<f64> = a.iter().map(|v| v * v / n as f64).collect();
    want.sort_unstable_by(|p, q| q.total_cmp(p));
    for route in [Route::Gram, Route::Direct] {
        let s = spectrum_of_rows_by(&x, n, d, MatrixKind::SecondMoment, 4, route).unwrap();
        for (got, w) in s.eigenvalues.iter().zip(&want) {
            assert!((got - w).abs() < 1e-12 * w, "{route:?}: {got} vs {w}");
        }
    }
}

#[test]
fn shift_invariance_of_the_covariance() {
    // Adding the same vector to every gradient changes the second moment but not the
    // covariance; 1024 + dyadic values stay exact in f32, and n = 8 makes the means exact.
    let (n, d) = (8, 40);
    let base: Vec<f32> = lcg_matrix(n, d, 9)
        .iter()
        .map(|v| (v * 64.0).round() / 64.0)
        .collect();
    let shifted: Vec<f32> = base.iter().map(|v| v + 1024.0).collect();
    for route in [Route::Gram, Route::Direct] {
        let a = spectrum_of_rows_by(&base, n, d, MatrixKind::Covariance, 3, route).unwrap();
        let b = spectrum_of_rows_by(&shifted, n, d, MatrixKind::Covariance, 3, route).unwrap();
        assert_close(&a.eigenvalues[..n - 1], &b.eigenvalues[..n - 1], 1e-12);
        let m = spectrum_of_rows_by(&shifted, n, d, MatrixKind::SecondMoment, 3, route).unwrap();
        // The shift dominates: lambda_max ~ 1024^2 d.
        assert!(m.eigenvalues[0] > 1024.0 * 1024.0 * d as f64 * 0.99);
    }
}

#[test]
fn spiked_covariance_recovered() {
    // g = mu + s u + sigma z, s ~ N(0, a^2), z ~ N(0, I): population covariance
    // a^2 u u^T + sigma^2 I, eigenvalues a^2 + sigma^2 and sigma^2 (d - 1 times); the
    // second moment adds mu mu^T. n = 20 000, d = 10: sample eigenvalues within a few
    // percent (Marchenko-Pastur spread 1 +- 2 sqrt(d/n) ~ 1 +- 0.045 for the bulk).
    let (n, d) = (20_000usize, 10usize);
    let (a, sigma) = (3.0f64, 0.5f64);
    let u: Vec<f64> = (0..d).map(|i| if i < 4 { 0.5 } else { 0.0 }).collect();
    let mu: Vec<f64> = (0..d).map(|i| if i == 9 { 4.0 } else { 0.0 }).collect();
    let mut g = rng::seeded(2024);
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let s: f64 = StandardNormal.sample(&mut g);
        for i in 0..d {
            let z: f64 = StandardNormal.sample(&mut g);
            x.push((mu[i] + a * s * u[i] + sigma * z) as f32);
        }
    }
    let c = spectrum_of_rows(&x, n, d, MatrixKind::Covariance, 256).unwrap();
    assert_eq!(c.route, Route::Direct);
    let top = a * a + sigma * sigma;
    assert!(
        (c.eigenvalues[0] / top - 1.0).abs() < 0.03,
        "{}",
        c.eigenvalues[0]
    );
    for &v in &c.eigenvalues[1..] {
        assert!((v / (sigma * sigma) - 1.0).abs() < 0.06, "bulk {v}");
    }
    // Second moment: the mean direction (orthogonal to u) adds |mu|^2 = 16 to e_9's
    // eigenvalue sigma^2, which becomes the largest.
    let m = spectrum_of_rows(&x, n, d, MatrixKind::SecondMoment, 256).unwrap();
    assert!((m.eigenvalues[0] / (16.0 + sigma * sigma) - 1.0).abs() < 0.03);
    assert!((m.eigenvalues[1] / top - 1.0).abs() < 0.03);
}

#[test]
fn spiked_gram_regime_matches_direct() {
    // A spike in the n < d regime: the Gram route equals the direct d x d route.
    let (n, d) = (40usize, 300usize);
    let mut g = rng::seeded(7);
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let s: f64 = StandardNormal.sample(&mut g);
        for i in 0..d {
            let z: f64 = StandardNormal.sample(&mut g);
            let spike = if i % 3 == 0 { 5.0 * s } else { 0.0 };
            x.push((spike + 0.1 * z) as f32);
        }
    }
    for kind in [MatrixKind::Covariance, MatrixKind::SecondMoment] {
        let gram = spectrum_of_rows(&x, n, d, kind, 64).unwrap();
        assert_eq!(gram.route, Route::Gram);
        let direct = spectrum_of_rows_by(&x, n, d, kind, 13, Route::Direct).unwrap();
        assert_close(&gram.eigenvalues, &direct.eigenvalues[..n], 1e-10);
        // The spike carries almost all the variance: 25 * d/3 per unit of s^2.
        assert!(gram.eigenvalues[0] > 0.9 * gram.trace());
    }
}

#[test]
fn bad_input() {
    assert!(matches!(
        spectrum_of_rows(&[1.0], 1, 1, MatrixKind::Covariance, 4),
        Err(SpectrumError::TooFewSamples { .. })
    ));
    assert!(matches!(
        spectrum_of_rows(&[1.0, 2.0, 3.0], 2, 2, MatrixKind::SecondMoment, 4),
        Err(SpectrumError::Shape(_))
    ));
    let x = [1.0, f32::NAN, 0.0, 1.0, 2.0, 3.0];
    for route in [Route::Gram, Route::Direct] {
        let e = spectrum_of_rows_by(&x, 2, 3, MatrixKind::Covariance, 2, route);
        assert!(
            matches!(
                e,
                Err(SpectrumError::NotFinite {
                    sample: 0,
                    coordinate: 1,
                    ..
                })
            ),
            "{route:?}: {e:?}"
        );
    }
}

#[test]
fn element_views() {
    // x = [[1, -2, 3], [3, 2, -1]] (n = 2, d = 3); means (2, 0, 1).
    let x = [1.0f32, -2.0, 3.0, 3.0, 2.0, -1.0];
    let m = views::coordinate_means(&x, 2, 3);
    assert_eq!(m, vec![2.0, 0.0, 1.0]);
    assert_eq!(dimension_wise(&x, 3, 1, None), vec![3.0, 2.0, 1.0]);
    assert_eq!(dimension_wise(&x, 3, 0, Some(&m)), vec![1.0, 2.0, 2.0]);
    assert_eq!(iteration_wise(&x, 2, 3, 2, false), vec![3.0, 1.0]);
    assert_eq!(iteration_wise(&x, 2, 3, 2, true), vec![2.0, 2.0]);
}

#[test]
fn view_power_law_rates() {
    // Pareto sets (alpha = 2.5) pass the top-1000 test far more often than Gaussian
    // magnitudes, whose tail decays faster than any power.
    let mut g = rng::seeded(5);
    let pareto: Vec<Vec<f64>> = (0..20)
        .map(|_| {
            (0..3000)
                .map(|_| crate::powerlaw::continuous::sample(&mut g, 1.0, 2.5))
                .collect()
        })
        .collect();
    let gauss: Vec<Vec<f64>> = (0..20)
        .map(|_| {
            (0..3000)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut g);
                    z.abs()
                })
                .collect()
        })
        .collect();
    let p = view_fits(pareto, 1000);
    let q = view_fits(gauss, 1000);
    assert_eq!((p.tested, p.skipped), (20, 0));
    assert!(p.rate() >= 0.8, "pareto rate {}", p.rate());
    assert!(q.rate() <= 0.2, "gaussian rate {}", q.rate());
    assert!((p.mean_alpha - 2.5).abs() < 0.1);
    let short = view_fits(vec![vec![1.0; 10]], 1000);
    assert_eq!((short.tested, short.skipped), (0, 1));
    assert!(short.rate().is_nan());
}
