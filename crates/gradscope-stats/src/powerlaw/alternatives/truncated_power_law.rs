//! Power law with exponential cut-off, `p(x) = lambda^(1-alpha) x^(-alpha) e^(-lambda x)
//! / Gamma(1 - alpha, lambda xmin)` on `x >= xmin` (Clauset et al. 2009, Table 2.1;
//! `powerlaw`'s `Truncated_Power_Law`, continuous). It contains the pure power law as
//! `lambda -> 0` (for `alpha > 1`), so the test against it is the nested one.

use super::minimise;
use super::LogMoments;
use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::special::ln_upper_gamma;
use crate::summation;

/// Initial simplex steps in `(alpha, ln lambda)` (shared with the discrete family).
pub(super) const STEP: [f64; 2] = [0.1, 0.5];

/// A fitted truncated power law. `alpha` is dimensionless, `lambda` in 1/x units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruncatedPowerLaw {
    /// Power-law exponent.
    pub alpha: f64,
    /// Cut-off rate (1/x units, > 0).
    pub lambda: f64,
    /// Lower cut-off (x units).
    pub xmin: f64,
    /// Whether the simplex converged (false also when `lambda` ran towards 0, the
    /// power-law boundary, where the likelihood ratio tends to zero).
    pub converged: bool,
}

/// `ln` of the normaliser `Gamma(1 - alpha, lambda xmin) / lambda^(1 - alpha)`.
fn ln_norm(alpha: f64, lambda: f64, xmin: f64) -> f64 {
    ln_upper_gamma(1.0 - alpha, lambda * xmin) - (1.0 - alpha) * lambda.ln()
}

impl TruncatedPowerLaw {
    /// Maximum-likelihood fit from the package's starting point (`alpha` from eq. 3.1,
    /// `lambda = 1/mean(x)`), restarted Nelder-Mead in `(alpha, ln lambda)` to a relative
    /// tolerance of 1e-15 on the log-likelihood `-alpha sum ln x - lambda sum x -
    /// n ln(Gamma(1-alpha, lambda xmin) lambda^(alpha-1))`, which needs only sufficient
    /// statistics. Unlike the package, `alpha` is not confined to `[0, 3]`.
    /// Errors: fewer than two points, or all equal to `xmin`.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<TruncatedPowerLaw, PowerLawError> {
        let n = tail.len();
        if n < 2 {
            return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
        }
        let m = LogMoments::new(tail);
        let sum_x = summation::sum(tail.iter().copied());
        let sum_l = m.sum_ln - m.n * xmin.ln();
        if sum_l.is_nan() || sum_l <= 0.0 {
            return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
        }
        let alpha0 = 1.0 + m.n / sum_l;
        let lambda0 = m.n / sum_x;
        let objective = |p: &[f64]| {
            let (alpha, lambda) = (p[0], p[1].exp());
            alpha * m.sum_ln + lambda * sum_x + m.n * ln_norm(alpha, lambda, xmin)
        };
        let best = minimise(objective, &[alpha0, lambda0.ln()], &STEP);
        Ok(TruncatedPowerLaw {
            alpha: best.x[0],
            lambda: best.x[1].exp(),
            xmin,
            converged: best.converged,
        })
    }

    /// `ln p(x)` (per unit of x).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        -self.alpha * x.ln() - self.lambda * x - ln_norm(self.alpha, self.lambda, self.xmin)
    }
}
