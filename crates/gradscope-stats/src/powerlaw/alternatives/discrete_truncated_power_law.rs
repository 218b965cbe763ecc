//! Discrete power law with exponential cut-off on the integers `x >= xmin`:
//! `p(x) = x^(-alpha) e^(-lambda (x - xmin)) / Phi(e^(-lambda), alpha, xmin)` with the
//! Lerch transcendent `Phi(z, s, q) = sum_{k >= 0} z^k (k + q)^(-s)` (Clauset et al. 2009,
//! Table 2.1; `powerlaw`'s `Truncated_Power_Law` with `discrete=True`, whose
//! `_pdf_discrete_normalizer = e^(lambda xmin) / lerchphi(e^(-lambda), alpha, xmin)` is
//! this normaliser exactly). It contains the discrete power law as `lambda -> 0` (for
//! `alpha > 1`), so the test against it is the nested one.

use super::Tally;
use super::{minimise, truncated_power_law};
use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::lerch::ln_lerch_phi;
use crate::powerlaw::optimize::newton_polish;

/// A fitted discrete truncated power law. `alpha` is dimensionless, `lambda` in 1/x units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteTruncatedPowerLaw {
    /// Power-law exponent (any real value: the cut-off makes every one normalisable).
    pub alpha: f64,
    /// Cut-off rate (1/x units, > 0).
    pub lambda: f64,
    /// Lower cut-off, the first point of the support (an integer).
    pub xmin: f64,
    /// Whether the optimiser converged to an interior maximum (false also when `lambda`
    /// ran towards 0, the power-law boundary).
    pub converged: bool,
    /// `ln Phi(e^(-lambda), alpha, xmin)`.
    ln_norm: f64,
}

impl DiscreteTruncatedPowerLaw {
    /// A distribution with given parameters (for evaluating likelihoods).
    pub fn new(alpha: f64, lambda: f64, xmin: f64) -> DiscreteTruncatedPowerLaw {
        DiscreteTruncatedPowerLaw {
            alpha,
            lambda,
            xmin,
            converged: true,
            ln_norm: ln_lerch_phi(lambda, alpha, xmin),
        }
    }

    /// Maximum-likelihood fit from the package's starting point (`alpha = 1 + n / sum
    /// ln(x/xmin)`, the continuous eq. 3.1 as the package uses it here, and
    /// `lambda = 1/mean(x)`), by restarted Nelder-Mead in `(alpha, ln lambda)` to a
    /// relative tolerance of 1e-15 on the log-likelihood
    /// `-alpha sum ln x - lambda sum (x - xmin) - n ln Phi(e^(-lambda), alpha, xmin)`
    /// (sufficient statistics only), polished by Newton steps ([`newton_polish`]) on the
    /// gradient: in `ln lambda` exact, `lambda (sum (x - xmin) - n (E[X] - xmin))` with
    /// `E[X] = Phi(e^(-lambda), alpha - 1, xmin) / Phi(e^(-lambda), alpha, xmin)`, in
    /// `alpha` by the fourth-order stencil. The family is an exponential family in
    /// `(alpha, lambda)`, so the log-likelihood is concave and the stationary point
    /// unique; it is reached to about 1e-12 relative, 1e-9 when `lambda xmin` is near 0
    /// (the nested boundary, where the likelihood is flat in `lambda`). Unlike the
    /// package (`alpha` in `(0, 3)`, `tol = 1e-4`), `alpha` is not bounded.
    /// Errors: fewer than two points, a value that is not an integer `>= xmin`, a
    /// non-integer `xmin`, or all points equal to `xmin`.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<DiscreteTruncatedPowerLaw, PowerLawError> {
        let t = Tally::new(tail, xmin)?;
        let ln_x: Vec<f64> = t.values.iter().map(|x| x.ln()).collect();
        let sum_ln = t.weighted_sum(&ln_x, |l| l);
        let sum_l = t.weighted_sum(&t.values, |x| (x / xmin).ln());
        let sum_excess = t.weighted_sum(&t.values, |x| x - xmin);
        if sum_l.is_nan() || sum_l <= 0.0 {
            return Err(PowerLawError::DegenerateTail {
                xmin,
                n_tail: tail.len(),
            });
        }
        let alpha0 = 1.0 + t.n / sum_l;
        let lambda0 = t.n / (sum_excess + t.n * xmin);
        let objective = |p: &[f64]| {
            let (alpha, lambda) = (p[0], p[1].exp());
            alpha * sum_ln + lambda * sum_excess + t.n * ln_lerch_phi(lambda, alpha, xmin)
        };
        let start = minimise(
            objective,
            &[alpha0, lambda0.ln()],
            &truncated_power_law::STEP,
        );
        // d/d ln(lambda) of the objective is lambda (sum (x - xmin) - n E[X - xmin]) with
        // E[X] = Phi(e^(-lambda), alpha - 1, xmin) / Phi(e^(-lambda), alpha, xmin), exact;
        // d/d alpha by the fourth-order stencil on the objective.
        let gradient = |p: &[f64]| {
            let (alpha, lambda) = (p[0], p[1].exp());
            let h = 1e-3 * (1.0 + alpha.abs());
            let at = |a: f64| objective(&[a, p[1]]);
            let g_alpha = (at(alpha - 2.0 * h) - 8.0 * at(alpha - h) + 8.0 * at(alpha + h)
                - at(alpha + 2.0 * h))
                / (12.0 * h);
            let ln_phi = ln_lerch_phi(lambda, alpha, xmin);
            let mean_excess = (ln_lerch_phi(lambda, alpha - 1.0, xmin) - ln_phi).exp() - xmin;
            vec![g_alpha, lambda * (sum_excess - t.n * mean_excess)]
        };
        let best = newton_polish(objective, Some(gradient), &start.x, &[1e-3, 1e-3]);
        let (alpha, lambda) = (best.x[0], best.x[1].exp());
        Ok(DiscreteTruncatedPowerLaw {
            alpha,
            lambda,
            xmin,
            converged: start.converged && best.converged,
            ln_norm: ln_lerch_phi(lambda, alpha, xmin),
        })
    }

    /// `ln p(x) = -alpha ln x - lambda (x - xmin) - ln Phi(e^(-lambda), alpha, xmin)`.
    pub fn ln_pmf(&self, x: f64) -> f64 {
        -self.alpha * x.ln() - self.lambda * (x - self.xmin) - self.ln_norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masses_sum_to_one() {
        for &(alpha, lambda, xmin) in &[(2.5, 0.01, 1.0), (-0.5, 0.3, 4.0), (1.0, 1.5, 10.0)] {
            let d = DiscreteTruncatedPowerLaw::new(alpha, lambda, xmin);
            let total: f64 = (0..20_000)
                .rev()
                .map(|k| d.ln_pmf(xmin + k as f64).exp())
                .sum();
            assert!((total - 1.0).abs() < 1e-13, "{alpha} {lambda}: {total}");
        }
    }

    #[test]
    fn recovers_a_cut_off() {
        // Expected counts of alpha = 1.5, lambda = 0.05 above xmin = 2, rounded: the fit
        // lands near the generating parameters.
        let d = DiscreteTruncatedPowerLaw::new(1.5, 0.05, 2.0);
        let mut tail = Vec::new();
        for x in 2..400 {
            let k = (20_000.0 * d.ln_pmf(x as f64).exp()).round() as usize;
            tail.extend(std::iter::repeat_n(x as f64, k));
        }
        let f = DiscreteTruncatedPowerLaw::fit(&tail, 2.0).unwrap();
        assert!(f.converged);
        assert!((f.alpha - 1.5).abs() < 0.02, "alpha {}", f.alpha);
        assert!((f.lambda - 0.05).abs() < 0.002, "lambda {}", f.lambda);
    }
}
