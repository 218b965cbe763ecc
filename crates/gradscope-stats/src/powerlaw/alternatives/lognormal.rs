//! Log-normal tail, left-truncated at `xmin`:
//! `p(x) = exp(-(ln x - mu)^2 / (2 sigma^2)) / (x sigma sqrt(2 pi) Q)` with tail mass
//! `Q = erfc((ln xmin - mu) / (sigma sqrt 2)) / 2` (Clauset et al. 2009, Table 2.1;
//! `powerlaw`'s `Lognormal`, continuous).

use std::f64::consts::{LN_2, PI, SQRT_2};

use super::minimise;
use super::LogMoments;
use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::special::ln_erfc;

/// Initial simplex steps in `(mu, ln sigma)` from the standard deviation `sd` of `ln x`
/// over the tail (shared with the discrete log-normal).
pub(super) fn step(sd: f64) -> [f64; 2] {
    [0.5 * sd.max(0.1), 0.3]
}

/// A fitted log-normal tail. `mu` and `sigma` are the mean and standard deviation of
/// `ln x` before truncation (`mu` in units of ln x).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lognormal {
    /// Location of `ln x`.
    pub mu: f64,
    /// Scale of `ln x` (> 0).
    pub sigma: f64,
    /// Lower cut-off (x units).
    pub xmin: f64,
    /// Whether the simplex converged. On power-law-like tails the likelihood keeps rising
    /// slowly as `mu -> -inf`, `sigma -> inf` (the log-normal tends to a power law), so
    /// there is no interior maximum and the fit stops on its budget or tolerance.
    pub converged: bool,
}

/// `ln Q = ln(erfc(z)/2)`, the log tail mass above `xmin`.
fn ln_tail_mass(mu: f64, sigma: f64, ln_xmin: f64) -> f64 {
    ln_erfc((ln_xmin - mu) / (sigma * SQRT_2)) - LN_2
}

/// Tail log-likelihood from sufficient statistics; `sum (ln x - mu)^2` is formed as
/// `centred + n (mean - mu)^2`, free of cancellation however far `mu` wanders.
fn log_likelihood(m: &LogMoments, mu: f64, sigma: f64, ln_xmin: f64) -> f64 {
    let ss = m.centred_ss + m.n * (m.mean_ln - mu).powi(2);
    -m.sum_ln
        - m.n * (sigma.ln() + 0.5 * (2.0 * PI).ln())
        - ss / (2.0 * sigma * sigma)
        - m.n * ln_tail_mass(mu, sigma, ln_xmin)
}

impl Lognormal {
    /// Maximum-likelihood fit to the tail. Starts where the package starts (mean and
    /// population standard deviation of `ln x`) and runs restarted Nelder-Mead in
    /// `(mu, ln sigma)` to a relative tolerance of 1e-15 on the log-likelihood.
    /// Errors: fewer than two points, or all equal.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<Lognormal, PowerLawError> {
        let n = tail.len();
        if n < 2 {
            return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
        }
        let m = LogMoments::new(tail);
        let sd = (m.centred_ss / m.n).sqrt();
        if sd.is_nan() || sd <= 0.0 {
            return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
        }
        let ln_xmin = xmin.ln();
        let objective = |p: &[f64]| -log_likelihood(&m, p[0], p[1].exp(), ln_xmin);
        let best = minimise(objective, &[m.mean_ln, sd.ln()], &step(sd));
        Ok(Lognormal {
            mu: best.x[0],
            sigma: best.x[1].exp(),
            xmin,
            converged: best.converged,
        })
    }

    /// `ln p(x)` (per unit of x).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let lx = x.ln();
        -lx - self.sigma.ln()
            - 0.5 * (2.0 * PI).ln()
            - (lx - self.mu).powi(2) / (2.0 * self.sigma * self.sigma)
            - ln_tail_mass(self.mu, self.sigma, self.xmin.ln())
    }
}
