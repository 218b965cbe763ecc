//! The continuous power law above a cut-off and its maximum-likelihood exponent.
//!
//! Density `p(x) = ((alpha - 1) / xmin) (x / xmin)^(-alpha)` for `x >= xmin`
//! (Clauset, Shalizi and Newman 2009, eq. 2.2). `x` and `xmin` share the data's units;
//! `alpha` is dimensionless.

use rand::Rng;

use super::error::PowerLawError;
use crate::summation;

/// Maximum-likelihood exponent `alpha = 1 + n / sum_i ln(x_i / xmin)` over the tail
/// values (all `>= xmin`), Clauset et al. (2009) eq. 3.1; exact for continuous data.
///
/// The sum is compensated, so it agrees with the `powerlaw` package (numpy's pairwise
/// sum) to about 1e-15 relative. Errors: fewer than two tail values, or all equal to
/// `xmin` (the likelihood then grows without bound).
pub fn alpha_mle(tail: &[f64], xmin: f64) -> Result<f64, PowerLawError> {
    let n = tail.len();
    if n < 2 {
        return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
    }
    let s = summation::sum(tail.iter().map(|&x| (x / xmin).ln()));
    if s.is_nan() || s <= 0.0 {
        return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
    }
    Ok(1.0 + n as f64 / s)
}

/// Standard error `(alpha - 1) / sqrt(n)` of the exponent: the leading term of Clauset et
/// al. (2009) eq. 3.2, and exactly what `powerlaw` 2.0.0 reports as `standard_err` (and
/// the deprecated `sigma`) for continuous and discrete fits alike. `n` is the tail size.
pub fn standard_error(alpha: f64, n: usize) -> f64 {
    (alpha - 1.0) / (n as f64).sqrt()
}

/// Bias-corrected exponent `1 + (n - 1)/n * (alpha - 1)`.
///
/// With `y_i = ln(x_i/xmin)` exponential with rate `beta = alpha - 1`, `S = sum y_i` is
/// Gamma(n, beta), so `E[n/S] = n beta / (n - 1)`: the MLE is biased upward by a factor
/// `n/(n-1)`, and this removes it (our derivation; Clauset et al. 2009 eq. 3.2 keeps only
/// the leading order). The package applies no such correction; it matters only when the
/// tail has tens of points.
pub fn alpha_unbiased(alpha: f64, n: usize) -> f64 {
    let n = n as f64;
    1.0 + (n - 1.0) / n * (alpha - 1.0)
}

/// Finite-sample standard error `(alpha - 1) / sqrt(n - 2)` for `n > 2` (NaN otherwise).
///
/// From the same Gamma argument: `sd(n/S) = n beta / ((n - 1) sqrt(n - 2))`, evaluated at
/// the unbiased `beta = (n - 1)(alpha - 1)/n`. Exceeds [`standard_error`] by the factor
/// `sqrt(n / (n - 2))`; offered because the package's `(alpha-1)/sqrt(n)` is only the
/// large-`n` limit.
pub fn standard_error_finite_n(alpha: f64, n: usize) -> f64 {
    if n <= 2 {
        return f64::NAN;
    }
    (alpha - 1.0) / ((n - 2) as f64).sqrt()
}

/// Model CDF `P(X <= x) = 1 - (x / xmin)^(1 - alpha)` for `x >= xmin` (0 below), the
/// form the package's KS distance uses (written with `powf`, as it does, so the distances
/// agree to the last bits).
pub fn cdf(x: f64, xmin: f64, alpha: f64) -> f64 {
    if x < xmin {
        return 0.0;
    }
    1.0 - (x / xmin).powf(1.0 - alpha)
}

/// `ln p(x) = ln(alpha - 1) - ln xmin - alpha ln(x / xmin)` (per unit of x).
pub fn ln_pdf(x: f64, xmin: f64, alpha: f64) -> f64 {
    (alpha - 1.0).ln() - xmin.ln() - alpha * (x / xmin).ln()
}

/// Log-likelihood `sum ln p(x_i)` of the tail under the power law (natural log, nats).
pub fn log_likelihood(tail: &[f64], xmin: f64, alpha: f64) -> f64 {
    summation::sum(tail.iter().map(|&x| ln_pdf(x, xmin, alpha)))
}

/// One draw by inversion, `x = xmin (1 - u)^(-1/(alpha - 1))` with `u ~ U[0, 1)`
/// (Clauset et al. 2009, eq. D.4).
pub fn sample<R: Rng + ?Sized>(rng: &mut R, xmin: f64, alpha: f64) -> f64 {
    let u: f64 = rng.random();
    xmin * (1.0 - u).powf(-1.0 / (alpha - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_on_a_tiny_sample() {
        // x = xmin e^1, xmin e^2 with xmin = 2: sum ln(x/xmin) = 3, alpha = 1 + 2/3.
        let tail = [2.0 * 1f64.exp(), 2.0 * 2f64.exp()];
        let a = alpha_mle(&tail, 2.0).unwrap();
        assert!((a - (1.0 + 2.0 / 3.0)).abs() < 1e-15);
        assert!((standard_error(a, 2) - (2.0 / 3.0) / 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            alpha_mle(&[3.0], 1.0),
            Err(PowerLawError::TooFewTail { n_tail: 1, .. })
        ));
        assert!(matches!(
            alpha_mle(&[1.0, 1.0], 1.0),
            Err(PowerLawError::DegenerateTail { .. })
        ));
    }

    #[test]
    fn mle_maximises_the_likelihood() {
        let tail: Vec<f64> = (1..50).map(|i| 1.0 + (i as f64).powf(1.3) / 7.0).collect();
        let a = alpha_mle(&tail, 1.0).unwrap();
        let l0 = log_likelihood(&tail, 1.0, a);
        assert!(l0 > log_likelihood(&tail, 1.0, a + 1e-4));
        assert!(l0 > log_likelihood(&tail, 1.0, a - 1e-4));
    }

    #[test]
    fn finite_n_corrections() {
        assert!((alpha_unbiased(3.0, 10) - 2.8).abs() < 1e-15);
        assert!((standard_error_finite_n(3.0, 6) - 1.0).abs() < 1e-15);
        assert!(standard_error_finite_n(3.0, 2).is_nan());
    }
}
