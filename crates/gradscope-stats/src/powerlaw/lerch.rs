//! The Lerch transcendent on the real line, `Phi(e^(-lambda), s, q) = sum_{k >= 0}
//! e^(-lambda k) (k + q)^(-s)`, in log form.
//!
//! The discrete truncated power law `p(x) = x^(-alpha) e^(-lambda x) / C` on the integers
//! `x >= xmin` (Clauset, Shalizi and Newman 2009, Table 2.1) is normalised by
//! `C = sum_{x >= xmin} x^(-alpha) e^(-lambda x) = e^(-lambda xmin) Phi(e^(-lambda), alpha,
//! xmin)`; `powerlaw` 2.0.0 evaluates the same `Phi` with `mpmath.lerchphi`
//! (`Truncated_Power_Law._pdf_discrete_normalizer`). Unlike the pure power law, any real
//! `s = alpha` is allowed when `lambda > 0`.
//!
//! Method (our derivation, the Hurwitz-zeta scheme of [`hurwitz_zeta`](super::hurwitz_zeta)
//! with an exponential weight):
//! - `lambda >= 1/2`: direct summation, scaled by the largest term (at `k + q = -s/lambda`
//!   when `s < 0`), until the geometric bound on the remainder drops below `1e-17` of the
//!   sum;
//! - `lambda < 1/2`: the first `N` terms directly, so that `w = q + N >= 2|s| + 60` and
//!   `w >= min(1/lambda, 1000)`, and
//!   the rest `e^(-lambda N) T(w)`, `T(w) = sum_{k >= 0} f(k)` with `f(t) = e^(-lambda t)
//!   (t + w)^(-s)`, by Euler-Maclaurin:
//!   `T = I + f(0)/2 - sum_{j=1}^{15} B_{2j}/(2j)! f^(2j-1)(0)`, where the integral is
//!   `I = e^(lambda w) lambda^(s-1) Gamma(1 - s, lambda w) = w^(1-s) G(1 - s, lambda w)`
//!   with `G(a, x) = Gamma(a, x) e^x x^(-a)` (upper incomplete gamma at any real first
//!   argument, [`ln_upper_gamma_scaled`]; a continued fraction once `lambda w >= 1`) and,
//!   by Leibniz's rule,
//!   `-f^(m)(0) = w^(-s) sum_{i=0}^m C(m, i) lambda^(m-i) (s)_i w^(-i)` for odd `m`
//!   (`(s)_i` the rising factorial). Each derivative is at most about
//!   `(lambda + (|s| + m)/w)^m w^(-s) <= w^(-s)`, and `B_{2j}/(2j)! ~ 2 (2 pi)^(-2j)`, so
//!   the fifteenth correction is below `1e-23` of the sum.
//!
//! Accuracy, checked against `mpmath.lerchphi` (`scripts/reference/
//! powerlaw_discrete_compare.py`): `ln Phi` to an absolute 7e-15 (a few ulps of `ln Phi`,
//! i.e. `Phi` to about 1e-14 relative) on a grid over `1e-8 <= lambda <= 5`,
//! `-2 <= s <= 6`, `1 <= q <= 1000`.

use super::hurwitz_zeta::{hurwitz_zeta, BERNOULLI_OVER_FACTORIAL};
use super::special::ln_upper_gamma_scaled;

/// Below this rate the Euler-Maclaurin tail is used; at or above it, direct summation
/// (at most about 80 terms past the peak).
const DIRECT_LAMBDA: f64 = 0.5;

/// `ln Phi(e^(-lambda), s, q) = ln sum_{k >= 0} e^(-lambda k) (k + q)^(-s)` for
/// `lambda >= 0`, real `s` and `q > 0` (all finite).
///
/// At `lambda = 0` this is `ln zeta(s, q)` for `s > 1` and `+inf` (the sum diverges) for
/// `s <= 1`. NaN outside the domain.
pub fn ln_lerch_phi(lambda: f64, s: f64, q: f64) -> f64 {
    if !(lambda >= 0.0 && q > 0.0 && lambda.is_finite() && s.is_finite() && q.is_finite()) {
        return f64::NAN;
    }
    if lambda == 0.0 {
        return if s > 1.0 {
            hurwitz_zeta(s, q).ln()
        } else {
            f64::INFINITY
        };
    }
    if lambda >= DIRECT_LAMBDA {
        return ln_direct(lambda, s, q);
    }
    // w >= 1/lambda (up to 1000 terms) puts lambda w >= 1, where the incomplete gamma
    // function is a continued fraction accurate to a few ulps.
    let target = (2.0 * s.abs() + 60.0).max(lambda.recip().min(1000.0));
    let n = if q >= target {
        0
    } else {
        (target - q).ceil() as usize
    };
    let w = q + n as f64;
    let tail = -lambda * n as f64 + ln_euler_maclaurin(lambda, s, w);
    if n == 0 {
        return tail;
    }
    // The head: n terms, scaled by the largest (the log-terms are concave in k).
    let lt = |k: usize| -lambda * k as f64 - s * (q + k as f64).ln();
    let m = (0..n).map(lt).fold(f64::NEG_INFINITY, f64::max).max(tail);
    let mut acc = crate::summation::Neumaier::default();
    for k in (0..n).rev() {
        acc.add((lt(k) - m).exp());
    }
    acc.add((tail - m).exp());
    m + acc.value().ln()
}

/// Direct summation for `lambda >= DIRECT_LAMBDA`.
fn ln_direct(lambda: f64, s: f64, q: f64) -> f64 {
    let lt = |k: f64| -lambda * k - s * (q + k).ln();
    // The log-terms are concave in k; their continuous maximum bounds every term.
    let k_peak = if s < 0.0 {
        (-s / lambda - q).max(0.0)
    } else {
        0.0
    };
    let m = lt(k_peak);
    let mut acc = crate::summation::Neumaier::default();
    let mut k = 0.0;
    loop {
        let term = (lt(k) - m).exp();
        acc.add(term);
        if !acc.value().is_finite() {
            break;
        }
        if k > k_peak {
            // Ratio of the next term to this one bounds all later ratios (past the peak).
            let r = (-lambda - s * (1.0 / (q + k)).ln_1p()).exp();
            if r < 1.0 && term * r / (1.0 - r) <= 1e-17 * acc.value() {
                break;
            }
        }
        k += 1.0;
    }
    m + acc.value().ln()
}

/// `ln T(w)`, `T(w) = sum_{k >= 0} e^(-lambda k) (k + w)^(-s)`, by Euler-Maclaurin, for
/// `0 < lambda < 1/2` and `w >= 2|s| + 60` (see the module notes).
fn ln_euler_maclaurin(lambda: f64, s: f64, w: f64) -> f64 {
    // ln I = lambda w + (s - 1) ln lambda + ln Gamma(1 - s, lambda w), with the gamma
    // function's factor (lambda w)^(1-s) e^(-lambda w) cancelled analytically.
    let ln_integral = (1.0 - s) * w.ln() + ln_upper_gamma_scaled(1.0 - s, lambda * w);
    // Corrections in units of w^(-s): 1/2 + sum_j B_{2j}/(2j)! P_{2j-1}, with
    // P_m = sum_i C(m, i) lambda^(m-i) (s)_i / w^i.
    let mut corr = 0.5;
    for (j, c) in BERNOULLI_OVER_FACTORIAL.iter().enumerate() {
        let m = 2 * j + 1;
        let mut p = 0.0;
        let mut binom = 1.0;
        let mut rising_over_w = 1.0;
        for i in 0..=m {
            p += binom * lambda.powi((m - i) as i32) * rising_over_w;
            binom *= (m - i) as f64 / (i + 1) as f64;
            rising_over_w *= (s + i as f64) / w;
        }
        let term = c * p;
        corr += term;
        if term.abs() <= 1e-18 * corr.abs() {
            break;
        }
    }
    let ln_rest = -s * w.ln() + corr.ln();
    let hi = ln_integral.max(ln_rest);
    hi + ((ln_integral - hi).exp() + (ln_rest - hi).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct_sum(lambda: f64, s: f64, q: f64, terms: usize) -> f64 {
        // Smallest terms first.
        (0..terms)
            .rev()
            .map(|k| (-lambda * k as f64).exp() * (q + k as f64).powf(-s))
            .sum()
    }

    #[test]
    fn geometric_series_at_s_zero() {
        // Phi(z, 0, q) = 1 / (1 - z).
        for &lambda in &[1e-6f64, 0.01, 0.3, 0.5, 2.0] {
            let want = -(-(-lambda).exp_m1()).ln();
            let got = ln_lerch_phi(lambda, 0.0, 3.0);
            assert!(
                (got - want).abs() < 2e-14 * want.abs().max(1.0),
                "{lambda}: {got} {want}"
            );
        }
    }

    #[test]
    fn both_methods_agree_with_brute_force() {
        // Moderate rates, where summing 20 000 terms is exact to rounding.
        for &(lambda, s, q) in &[
            (0.05, 2.5, 1.0),
            (0.2, -1.5, 4.0),
            (0.49, 0.7, 10.0),
            (0.5, 0.7, 10.0),
            (1.3, -2.0, 2.0),
            (0.01, 1.2, 30.0),
        ] {
            let want = direct_sum(lambda, s, q, 20_000).ln();
            let got = ln_lerch_phi(lambda, s, q);
            assert!(
                ((got - want) / want).abs() < 1e-14,
                "lambda={lambda} s={s} q={q}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn mpmath_reference_values() {
        // ln mpmath.lerchphi(exp(-lambda), s, q) at 40 digits, printed by
        // scripts/reference/powerlaw_discrete_compare.py (mpmath 1.3.0) as
        // ln_lerch(lambda, s, q); one point in each regime (tiny, small and moderate
        // lambda, negative s, large q). Measured on a 10 x 7 x 5 grid of (lambda, s, q)
        // over [1e-8, 5] x [-2, 6] x [1, 1000]: absolute error below 7e-15.
        for &(lambda, s, q, want) in &[
            (1e-8, 2.5, 1.0, 0.293_778_882_485_298_93),
            (1e-3, 1.2, 30.0, 0.122_932_686_520_216_94),
            (0.01, -2.0, 3.0, 14.538_655_283_057_276),
            (0.3, 0.3, 1000.0, -0.722_955_109_105_731_6),
            (0.49, -0.5, 1000.0, 4.403_032_912_742_407),
            (2.0, 6.0, 1.0, 0.002_138_078_476_518_186_3),
            (0.0287, 1.43, 10.0, -1.033_264_512_989_564_8),
        ] {
            let got = ln_lerch_phi(lambda, s, q);
            assert!(
                (got - want).abs() <= 1e-14 * want.abs().max(1.0),
                "lambda={lambda} s={s} q={q}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn limits_and_domain() {
        // lambda -> 0 tends to the Hurwitz zeta function for s > 1.
        let z = hurwitz_zeta(2.5, 3.0).ln();
        assert_eq!(ln_lerch_phi(0.0, 2.5, 3.0), z);
        assert!((ln_lerch_phi(1e-12, 2.5, 3.0) - z).abs() < 1e-11);
        assert_eq!(ln_lerch_phi(0.0, 0.5, 3.0), f64::INFINITY);
        assert!(ln_lerch_phi(-1.0, 2.0, 1.0).is_nan());
        assert!(ln_lerch_phi(0.1, 2.0, 0.0).is_nan());
    }
}
