//! The discrete power law (zeta distribution above a cut-off) and its exponent.
//!
//! Mass `p(x) = x^(-alpha) / zeta(alpha, xmin)` on the integers `x >= xmin >= 1`
//! (Clauset, Shalizi and Newman 2009, eq. 2.4 and Table 2.1). Counts such as word
//! frequencies or node degrees are discrete; eigenvalues are not.

use rand::Rng;

use super::error::PowerLawError;
use super::hurwitz_zeta::{hurwitz_zeta, hurwitz_zeta_derivatives};
use crate::summation;

/// How the discrete exponent is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscreteEstimator {
    /// The exact MLE: the root of `zeta'(alpha, xmin)/zeta(alpha, xmin) = -mean(ln x)`
    /// (Clauset et al. 2009, eq. 3.5), solved by safeguarded Newton iteration.
    #[default]
    Exact,
    /// The closed-form approximation `1 + n / sum ln(x / (xmin - 1/2))` (Clauset et al.
    /// 2009, eq. 3.7), accurate to about 1% once `xmin >= 6`.
    HalfShift,
    /// What `powerlaw` 2.0.0 does by default (`estimate_discrete=None`): the half-shift
    /// formula when `xmin >= 10` and its value lies in `(1.5, 3]`, otherwise the exact MLE
    /// (the package reaches it with Nelder-Mead at `tol = 1e-4`, so its numbers there agree
    /// with ours only to about 1e-4).
    PackageDefault,
}

/// Closed-form approximation `alpha = 1 + n / sum ln(x / (xmin - 1/2))` (Clauset et al.
/// 2009, eq. 3.7). Errors as [`alpha_exact`].
pub fn alpha_half_shift(tail: &[f64], xmin: f64) -> Result<f64, PowerLawError> {
    let n = tail.len();
    if n < 2 {
        return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
    }
    let shifted = xmin - 0.5;
    let s = summation::sum(tail.iter().map(|&x| (x / shifted).ln()));
    Ok(1.0 + n as f64 / s)
}

/// Exact discrete maximum-likelihood exponent for the tail values (integers `>= xmin`).
///
/// Maximises `L(alpha) = -alpha sum ln x_i - n ln zeta(alpha, xmin)` (Clauset et al.
/// 2009, eq. 3.5). Errors: fewer than two tail values; all tail values equal to `xmin`
/// (then `L` increases for ever).
pub fn alpha_exact(tail: &[f64], xmin: f64) -> Result<f64, PowerLawError> {
    let n = tail.len();
    if n < 2 {
        return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
    }
    let sum_ln = summation::sum(tail.iter().map(|&x| x.ln()));
    let sum_ln_shift = summation::sum(tail.iter().map(|&x| (x / (xmin - 0.5)).ln()));
    alpha_exact_from_sums(n, sum_ln, sum_ln_shift, xmin)
}

/// The exact MLE from the sufficient statistics `sum ln x` and `sum ln(x/(xmin - 1/2))`
/// (the latter only seeds Newton's method). Shared with the xmin scan, which has the sums
/// from suffix arrays.
pub(crate) fn alpha_exact_from_sums(
    n: usize,
    sum_ln: f64,
    sum_ln_shift: f64,
    xmin: f64,
) -> Result<f64, PowerLawError> {
    let mean_ln = sum_ln / n as f64;
    let threshold = xmin.ln() + 1e-15 * xmin.ln().abs().max(1.0);
    if mean_ln.is_nan() || mean_ln <= threshold {
        return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
    }
    // score(alpha) = mean_ln - E_alpha[ln X] = mean_ln + zeta'/zeta, increasing in alpha
    // with derivative Var_alpha(ln X) = zeta''/zeta - (zeta'/zeta)^2 > 0.
    let score = |a: f64| {
        let z = hurwitz_zeta_derivatives(a, xmin);
        let m = z.d1 / z.value;
        (mean_ln + m, z.d2 / z.value - m * m)
    };
    let mut lo = 1.0;
    let mut hi = f64::INFINITY;
    let mut a = 1.0 + n as f64 / sum_ln_shift;
    if a.is_nan() || a <= 1.0 || a.is_infinite() {
        a = 2.0;
    }
    for _ in 0..200 {
        let (g, h) = score(a);
        if g < 0.0 {
            lo = a;
        } else {
            hi = a;
        }
        let mut next = a - g / h;
        if !(next > lo && next < hi && next.is_finite()) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * a
            };
        }
        if (next - a).abs() <= 4.0 * f64::EPSILON * a {
            return Ok(next);
        }
        a = next;
    }
    Ok(a)
}

/// Fisher-information standard error `1 / sqrt(n (zeta''/zeta - (zeta'/zeta)^2))` at
/// `(alpha, xmin)` (Clauset et al. 2009, eq. 3.6): the asymptotic standard deviation of
/// the exact discrete MLE. The package reports `(alpha - 1)/sqrt(n)` instead, which
/// [`PowerLawFit::sigma`](super::PowerLawFit::sigma) reproduces.
pub fn fisher_standard_error(alpha: f64, xmin: f64, n: usize) -> f64 {
    let z = hurwitz_zeta_derivatives(alpha, xmin);
    let m = z.d1 / z.value;
    1.0 / (n as f64 * (z.d2 / z.value - m * m)).sqrt()
}

/// Model CDF in the package's convention for discrete data, `P(X < x) = 1 - zeta(alpha,
/// x) / zeta(alpha, xmin)`: the mass strictly below `x`, matching the empirical CDF the
/// package compares it with (fraction of tail points strictly below `x`).
pub fn cdf_below(x: f64, xmin: f64, alpha: f64) -> f64 {
    if x <= xmin {
        return 0.0;
    }
    1.0 - hurwitz_zeta(alpha, x) / hurwitz_zeta(alpha, xmin)
}

/// `ln p(x) = -alpha ln x - ln zeta(alpha, xmin)`.
pub fn ln_pmf(x: f64, xmin: f64, alpha: f64) -> f64 {
    -alpha * x.ln() - hurwitz_zeta(alpha, xmin).ln()
}

/// Log-likelihood of the tail (nats).
pub fn log_likelihood(tail: &[f64], xmin: f64, alpha: f64) -> f64 {
    let ln_z = hurwitz_zeta(alpha, xmin).ln();
    -alpha * summation::sum(tail.iter().map(|&x| x.ln())) - tail.len() as f64 * ln_z
}

/// One exact draw by inversion: the smallest integer `x >= xmin` with
/// `P(X > x) = zeta(alpha, x + 1) / zeta(alpha, xmin) <= 1 - u` (Clauset et al. 2009,
/// appendix D, exact discrete generator). The continuous approximation of their eq. D.6
/// seeds the search, so one to three zeta evaluations usually suffice; a doubling search
/// followed by bisection guarantees the exact answer.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, xmin: f64, alpha: f64) -> f64 {
    let u: f64 = rng.random();
    let target = (1.0 - u) * hurwitz_zeta(alpha, xmin);
    // above(x) is true when x is at or past the answer.
    let above = |x: f64| hurwitz_zeta(alpha, x + 1.0) <= target;
    let guess = ((xmin - 0.5) * (1.0 - u).powf(-1.0 / (alpha - 1.0)) + 0.5).floor();
    let mut x = guess.max(xmin);
    if !x.is_finite() {
        return x;
    }
    if above(x) {
        // Walk down: find lo < answer <= x.
        let mut step = 1.0;
        let mut hi = x;
        loop {
            let lo = (hi - step).max(xmin - 1.0);
            if lo < xmin || !above(lo) {
                return bisect_integer(lo, hi, above);
            }
            hi = lo;
            step *= 2.0;
        }
    } else {
        let mut step = 1.0;
        loop {
            let hi = x + step;
            if above(hi) {
                return bisect_integer(x, hi, above);
            }
            x = hi;
            step *= 2.0;
        }
    }
}

/// Smallest integer in `(lo, hi]` where `above` is true, given `above(hi)` and not
/// `above(lo)` (or `lo` below the support).
fn bisect_integer<F: Fn(f64) -> bool>(mut lo: f64, mut hi: f64, above: F) -> f64 {
    while hi - lo > 1.0 {
        let mid = (0.5 * (lo + hi)).floor();
        if above(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The estimator's value on a tail, dispatching on `estimator`.
pub fn alpha(tail: &[f64], xmin: f64, estimator: DiscreteEstimator) -> Result<f64, PowerLawError> {
    match estimator {
        DiscreteEstimator::Exact => alpha_exact(tail, xmin),
        DiscreteEstimator::HalfShift => alpha_half_shift(tail, xmin),
        DiscreteEstimator::PackageDefault => {
            let approx = alpha_half_shift(tail, xmin)?;
            if xmin >= 10.0 && approx > 1.5 && approx <= 3.0 {
                Ok(approx)
            } else {
                alpha_exact(tail, xmin)
            }
        }
    }
}

/// As [`alpha`], from sufficient statistics (used by the xmin scan).
pub(crate) fn alpha_from_sums(
    n: usize,
    sum_ln: f64,
    sum_ln_shift: f64,
    xmin: f64,
    estimator: DiscreteEstimator,
) -> Result<f64, PowerLawError> {
    let approx = 1.0 + n as f64 / sum_ln_shift;
    match estimator {
        DiscreteEstimator::Exact => alpha_exact_from_sums(n, sum_ln, sum_ln_shift, xmin),
        DiscreteEstimator::HalfShift => Ok(approx),
        DiscreteEstimator::PackageDefault => {
            if xmin >= 10.0 && approx > 1.5 && approx <= 3.0 {
                Ok(approx)
            } else {
                alpha_exact_from_sums(n, sum_ln, sum_ln_shift, xmin)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    #[test]
    fn exact_mle_solves_the_score_equation() {
        let tail = [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 9.0, 20.0, 1.0, 4.0];
        let a = alpha_exact(&tail, 1.0).unwrap();
        let z = hurwitz_zeta_derivatives(a, 1.0);
        let mean_ln: f64 = tail.iter().map(|x: &f64| x.ln()).sum::<f64>() / tail.len() as f64;
        assert!((z.d1 / z.value + mean_ln).abs() < 1e-14);
        let l = log_likelihood(&tail, 1.0, a);
        assert!(l > log_likelihood(&tail, 1.0, a + 1e-5));
        assert!(l > log_likelihood(&tail, 1.0, a - 1e-5));
    }

    #[test]
    fn degenerate_tail() {
        assert!(matches!(
            alpha_exact(&[3.0, 3.0, 3.0], 3.0),
            Err(PowerLawError::DegenerateTail { .. })
        ));
    }

    #[test]
    fn exact_sampler_matches_the_mass_function() {
        // Frequencies of 1, 2, 3 under alpha = 2.5, xmin = 1 from 200 000 draws, against
        // p(x) = x^-2.5 / zeta(2.5): binomial standard errors are below 0.0012.
        let mut r = rng::seeded(5);
        let n = 200_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            let x = sample(&mut r, 1.0, 2.5) as usize;
            assert!(x >= 1);
            if x <= 3 {
                counts[x] += 1;
            }
        }
        let z = hurwitz_zeta(2.5, 1.0);
        for x in 1..=3 {
            let p = (x as f64).powf(-2.5) / z;
            let f = counts[x] as f64 / n as f64;
            assert!((f - p).abs() < 5e-3, "x={x}: {f} vs {p}");
        }
    }

    #[test]
    fn sampler_respects_xmin() {
        let mut r = rng::seeded(9);
        for _ in 0..2000 {
            let x = sample(&mut r, 7.0, 1.8);
            assert!(x >= 7.0 && x.fract() == 0.0);
        }
    }
}
