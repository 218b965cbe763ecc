//! Kolmogorov-Smirnov distances between a tail and a fitted model, and the critical
//! values the structure study compares them with.
//!
//! Two conventions for the distance:
//! - [`ks_distance`]: the `powerlaw` package's (2.0.0, `compute_distance_metrics`), which
//!   the structure study quotes as `d_ks`: at each *distinct* tail value `u`, compare the
//!   model CDF `P(u)` with the empirical fraction of tail points *strictly below* `u`, and
//!   take `max |P(u) - S(u-)|`. Only left limits of the empirical step function are seen,
//!   so this is never larger than the classical statistic.
//! - [`ks_statistic`]: the classical `sup_x |S(x) - P(x)|` over both one-sided limits at
//!   every jump (Massey 1951), whose null law is the Kolmogorov distribution below.
//!
//! Critical values: the study's `d_c = 1.36 / sqrt(n)` (the asymptotic 5% point of
//! `sqrt(n) D_n`, 1.3581, rounded as Massey 1951 tabulates it), and the exact finite-`n`
//! 5% point from the exact distribution of `D_n` (Durbin 1973 matrix, in the form of
//! Marsaglia, Tsang and Wang 2003, J. Stat. Softw. 8(18)).

use super::optimize::brent_root;

/// The package's KS distance of a tail (sorted ascending, all `>= xmin`) from a model CDF:
/// `max over distinct u of |cdf(u) - #{x_i < u} / n|` (dimensionless, in `[0, 1]`).
pub fn ks_distance<F: Fn(f64) -> f64>(tail_sorted: &[f64], cdf: F) -> f64 {
    let n = tail_sorted.len();
    let inv_n = 1.0 / n as f64;
    let mut d = 0.0f64;
    let mut i = 0;
    while i < n {
        let u = tail_sorted[i];
        let diff = (cdf(u) - i as f64 * inv_n).abs();
        d = d.max(diff);
        while i < n && tail_sorted[i] == u {
            i += 1;
        }
    }
    d
}

/// The classical two-sided KS statistic `sup_x |S_n(x) - cdf(x)|` for a sorted sample and
/// a continuous model CDF: at each distinct value both `#{x_i < u}/n` and `#{x_i <= u}/n`
/// are compared (dimensionless). This is the statistic whose exact law
/// [`kolmogorov_cdf_exact`] gives.
pub fn ks_statistic<F: Fn(f64) -> f64>(sorted: &[f64], cdf: F) -> f64 {
    let n = sorted.len();
    let inv_n = 1.0 / n as f64;
    let mut d = 0.0f64;
    let mut i = 0;
    while i < n {
        let u = sorted[i];
        let below = i as f64 * inv_n;
        while i < n && sorted[i] == u {
            i += 1;
        }
        let at_or_below = i as f64 * inv_n;
        let p = cdf(u);
        d = d.max((p - below).abs()).max((at_or_below - p).abs());
    }
    d
}

/// The structure study's critical value `d_c = 1.36 / sqrt(n)` (appendix B.1; 0.0430 for
/// its `n = 1000`). `n` is the number of tail points tested.
pub fn critical_value_study(n: usize) -> f64 {
    1.36 / (n as f64).sqrt()
}

/// `ln(n! / n^n)`: the direct product for `n <= 20`, else Stirling's series
/// `ln sqrt(2 pi n) - n + 1/(12n) - 1/(360 n^3) + 1/(1260 n^5) - 1/(1680 n^7)`, whose
/// truncation error is below 1e-16 there and whose `-n` term is exact, so the absolute
/// error stays at a few ulps of `n`.
fn ln_factorial_over_power(n: usize) -> f64 {
    let nf = n as f64;
    if n <= 20 {
        return (1..=n).map(|i| i as f64 / nf).product::<f64>().ln();
    }
    let r = 1.0 / nf;
    let r2 = r * r;
    0.5 * (2.0 * std::f64::consts::PI * nf).ln() - nf
        + r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)))
}

/// Square matrix product `a * b` (row-major, `m x m`).
fn mat_mul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        let row = &mut c[i * m..(i + 1) * m];
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let brow = &b[k * m..(k + 1) * m];
            for (cj, bj) in row.iter_mut().zip(brow) {
                *cj += aik * bj;
            }
        }
    }
    c
}

/// Rescale `v` by a power of two so its largest entry is near 1; returns the exponent
/// removed (so the true matrix is `v * 2^e`).
fn renormalise(v: &mut [f64]) -> i64 {
    let max = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return 0;
    }
    let e = max.log2().floor() as i64;
    if e.abs() < 256 {
        return 0;
    }
    let scale = 2f64.powi(-e as i32);
    for x in v.iter_mut() {
        *x *= scale;
    }
    e
}

/// Exact `P(D_n <= d)` for the two-sided one-sample KS statistic of `n` points from a
/// continuous distribution (Durbin's matrix formula as given by Marsaglia, Tsang and Wang
/// 2003): with `k = floor(n d) + 1`, `m = 2k - 1`, `h = k - n d`, the `m x m` matrix `H`
/// (ones on and below the superdiagonal, first column and last row reduced by powers of
/// `h`, corner corrected by `(2h - 1)^m`, entry `(i, j)` divided by `(i - j + 1)!`) gives
/// `P = n!/n^n (H^n)_{kk}`. Powers are taken by squaring with binary-exponent rescaling, so
/// nothing overflows. Cost `O(m^3 log n)`, which for the 5% point (`m ~ 2.7 sqrt(n)`) is
/// milliseconds at `n = 1000` and about a second at `n = 10^4`.
pub fn kolmogorov_cdf_exact(n: usize, d: f64) -> f64 {
    if n == 0 || d.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    if d >= 1.0 {
        return 1.0;
    }
    if nf * d <= 0.5 {
        return 0.0;
    }
    let k = (nf * d).floor() as usize + 1;
    let m = 2 * k - 1;
    let h = k as f64 - nf * d;
    let mut hm = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            if i + 1 >= j {
                hm[i * m + j] = 1.0;
            }
        }
    }
    for i in 0..m {
        hm[i * m] -= h.powi(i as i32 + 1);
        hm[(m - 1) * m + i] -= h.powi((m - i) as i32);
    }
    if 2.0 * h - 1.0 > 0.0 {
        hm[(m - 1) * m] += (2.0 * h - 1.0).powi(m as i32);
    }
    for i in 0..m {
        for j in 0..m {
            if i + 1 > j {
                let mut f = 1.0;
                for g in 1..=(i + 1 - j) {
                    f *= g as f64;
                }
                hm[i * m + j] /= f;
            }
        }
    }
    // Binary powering: result = H^n, tracking base-2 exponents.
    let mut base = hm;
    let mut base_exp: i64 = 0;
    let mut result: Option<(Vec<f64>, i64)> = None;
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            result = Some(match result {
                None => (base.clone(), base_exp),
                Some((r, re)) => {
                    let mut p = mat_mul(&r, &base, m);
                    let s = renormalise(&mut p);
                    (p, re + base_exp + s)
                }
            });
        }
        e >>= 1;
        if e > 0 {
            let mut sq = mat_mul(&base, &base, m);
            let s = renormalise(&mut sq);
            base = sq;
            base_exp = 2 * base_exp + s;
        }
    }
    let (q, q_exp) = result.expect("n >= 1");
    let entry = q[(k - 1) * m + (k - 1)];
    if entry <= 0.0 {
        return 0.0;
    }
    let ln_p = entry.ln() + q_exp as f64 * std::f64::consts::LN_2 + ln_factorial_over_power(n);
    ln_p.exp().min(1.0)
}

/// Pelz and Good's (1976) asymptotic expansion of `P(D_n <= d)` to order `n^(-3/2)`,
/// `K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^(3/2)` with `z = d sqrt(n)`, in the
/// small-`z` (Jacobi theta) form that Simard and L'Ecuyer (2011, J. Stat. Softw. 39(11))
/// and scipy's `kstwo` use for `n > 140` in the body of the distribution. Accurate to
/// about 1e-6 or better there; used as the fast path for large `n`.
pub fn kolmogorov_cdf_pelz_good(n: usize, d: f64) -> f64 {
    use std::f64::consts::PI;
    if d <= 0.0 {
        return 0.0;
    }
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = d * nf.sqrt();
    let z2 = z * z;
    let z4 = z2 * z2;
    let z6 = z4 * z2;
    let z8 = z4 * z4;
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let sqrt_2pi = (2.0 * PI).sqrt();
    let (mut s0, mut s1, mut s2, mut s3) = (0.0, 0.0, 0.0, 0.0);
    let (mut t2, mut t3) = (0.0, 0.0);
    let kmax = (16.0 * z / PI).ceil().max(1.0) as usize + 2;
    for k in (1..=kmax).rev() {
        let mo = (2 * k - 1) as f64;
        let m2 = mo * mo;
        let m4 = m2 * m2;
        let m6 = m4 * m2;
        let w = (-pi2 * m2 / (8.0 * z2)).exp();
        s0 += w;
        s1 += (pi2 * m2 / 4.0 - z2) * w;
        s2 += (6.0 * z6
            + 2.0 * z4
            + pi2 * (2.0 * z4 - 5.0 * z2) * m2 / 4.0
            + pi4 * (1.0 - 2.0 * z2) * m4 / 16.0)
            * w;
        s3 += (-30.0 * z6 - 90.0 * z8
            + pi2 * (135.0 * z4 - 96.0 * z6) * m2 / 4.0
            + pi4 * (212.0 * z4 - 60.0 * z2) * m4 / 16.0
            + pi6 * (5.0 - 30.0 * z2) * m6 / 64.0)
            * w;
        let kf = k as f64;
        let v = (-pi2 * kf * kf / (2.0 * z2)).exp();
        t2 += kf * kf * v;
        t3 += (3.0 * z2 - pi2 * kf * kf) * kf * kf * v;
    }
    let k0 = sqrt_2pi / z * s0;
    let k1 = sqrt_2pi / (6.0 * z4) * s1;
    let k2 = sqrt_2pi / (72.0 * z.powi(7)) * s2 - pi2 * sqrt_2pi / (36.0 * z2 * z) * t2;
    let k3 = sqrt_2pi / (6480.0 * z.powi(10)) * s3 + pi2 * sqrt_2pi / (216.0 * z6) * t3;
    let p = k0 + k1 / nf.sqrt() + k2 / nf + k3 / (nf * nf.sqrt());
    p.clamp(0.0, 1.0)
}

/// Largest `n` for which [`critical_value_exact`] uses the exact distribution (above it,
/// Pelz-Good, whose error there is far below the resolution of any test decision).
pub const EXACT_CRITICAL_MAX_N: usize = 5000;

/// The exact upper-`significance` critical value of the one-sample KS statistic: the `d`
/// with `P(D_n <= d) = 1 - significance` (0.05 gives the 5% point; dimensionless).
/// Uses [`kolmogorov_cdf_exact`] for `n <= EXACT_CRITICAL_MAX_N`, else
/// [`kolmogorov_cdf_pelz_good`]; the root is found by Brent's method to 1e-14.
/// Returns NaN for `n = 0` or a significance outside `(0, 1)`.
pub fn critical_value_exact(n: usize, significance: f64) -> f64 {
    if n == 0 || !(significance > 0.0 && significance < 1.0) {
        return f64::NAN;
    }
    let target = 1.0 - significance;
    let lo = 0.5 / n as f64;
    // The Pelz-Good root is cheap and close; the exact CDF costs O((n d)^3 log n), so it
    // is only evaluated on a narrow bracket around that root (widened until it brackets).
    let approx =
        brent_root(|d| kolmogorov_cdf_pelz_good(n, d) - target, lo, 1.0, 1e-14).unwrap_or(f64::NAN);
    if n > EXACT_CRITICAL_MAX_N || !approx.is_finite() {
        return approx;
    }
    let f = |d: f64| kolmogorov_cdf_exact(n, d) - target;
    let mut width = 0.01 * approx;
    for _ in 0..60 {
        let a = (approx - width).max(lo);
        let b = (approx + width).min(1.0);
        if f(a) <= 0.0 && f(b) >= 0.0 {
            return brent_root(f, a, b, 1e-15).unwrap_or(f64::NAN);
        }
        width *= 2.0;
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_convention_on_a_small_sample() {
        // Uniform model on [0, 1], sample 0.1, 0.5, 0.5, 0.9: distinct values 0.1, 0.5, 0.9
        // with fractions strictly below 0, 1/4, 3/4: diffs 0.1, 0.25, 0.15.
        let s = [0.1, 0.5, 0.5, 0.9];
        assert!((ks_distance(&s, |x| x) - 0.25).abs() < 1e-15);
        // Classical: also right limits 1/4, 3/4, 1 -> |0.1-0.25|, |0.5-0.75|, |0.9-1|.
        assert!((ks_statistic(&s, |x| x) - 0.25).abs() < 1e-15);
        let t = [0.3];
        assert!((ks_distance(&t, |x| x) - 0.3).abs() < 1e-15);
        assert!((ks_statistic(&t, |x| x) - 0.7).abs() < 1e-15);
    }

    #[test]
    fn exact_cdf_closed_forms() {
        // n = 1: D_1 = max(U, 1 - U), so P(D_1 <= d) = 2d - 1 for d in [1/2, 1].
        for &d in &[0.55, 0.7, 0.95] {
            assert!((kolmogorov_cdf_exact(1, d) - (2.0 * d - 1.0)).abs() < 1e-14);
        }
        // Ruben-Gambino: for 1/(2n) <= d <= 1/n, P = n! / n^n (2 n d - 1)^n.
        let n = 5;
        let d = 0.15;
        let want = 120.0 / 3125.0 * (2.0 * 5.0 * d - 1.0f64).powi(5);
        assert!((kolmogorov_cdf_exact(n, d) - want).abs() < 1e-15);
        assert_eq!(kolmogorov_cdf_exact(10, 0.04), 0.0);
        assert_eq!(kolmogorov_cdf_exact(10, 1.0), 1.0);
    }

    #[test]
    fn study_critical_value() {
        // Appendix tables: d_c = 0.0430 for n = 1000.
        assert!((critical_value_study(1000) - 0.043).abs() < 5e-5);
    }
}
