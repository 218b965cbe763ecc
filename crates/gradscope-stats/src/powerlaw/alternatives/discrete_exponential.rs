//! Discrete exponential (geometric) tail on the integers `x >= xmin`:
//! `p(x) = (1 - e^(-lambda)) e^(-lambda (x - xmin))` (Clauset et al. 2009, Table 2.1;
//! `powerlaw`'s `Exponential` with `discrete=True`, whose exact normaliser
//! `_pdf_discrete_normalizer = (1 - e^(-lambda)) e^(lambda xmin)` this is).

use super::Tally;
use crate::powerlaw::error::PowerLawError;

/// A fitted discrete exponential tail. `lambda` has units of 1/x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteExponential {
    /// Rate (1/x units, > 0).
    pub lambda: f64,
    /// Lower cut-off, the first point of the support (an integer).
    pub xmin: f64,
}

impl DiscreteExponential {
    /// A distribution with given parameters (for evaluating likelihoods).
    pub fn new(lambda: f64, xmin: f64) -> DiscreteExponential {
        DiscreteExponential { lambda, xmin }
    }

    /// Maximum-likelihood rate in closed form: with `m = mean(x) - xmin` the score
    /// `n e^(-lambda)/(1 - e^(-lambda)) - n m` vanishes at `lambda = ln(1 + 1/m)`
    /// (the geometric distribution's MLE, our derivation). The package reaches the same
    /// maximum with Nelder-Mead from `lambda = 1/mean(x)` at `tol = 1e-4`, so its rate is
    /// within about 1e-4 relative of this one.
    /// Errors: fewer than two points, a value that is not an integer `>= xmin`, a
    /// non-integer `xmin`, or all points equal to `xmin`.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<DiscreteExponential, PowerLawError> {
        let t = Tally::new(tail, xmin)?;
        let excess = t.mean_excess();
        if excess.is_nan() || excess <= 0.0 {
            return Err(PowerLawError::DegenerateTail {
                xmin,
                n_tail: tail.len(),
            });
        }
        Ok(DiscreteExponential {
            lambda: (1.0 / excess).ln_1p(),
            xmin,
        })
    }

    /// `ln p(x) = ln(1 - e^(-lambda)) - lambda (x - xmin)`, written with `expm1` and the
    /// shift so that neither small nor large `lambda` loses digits. The package
    /// multiplies `e^(-lambda x)` by the normaliser in long double and floors underflowed
    /// masses (`lambda x > 745`) at 1e-308; this is exact there too.
    pub fn ln_pmf(&self, x: f64) -> f64 {
        (-(-self.lambda).exp_m1()).ln() - self.lambda * (x - self.xmin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_and_maximal() {
        let d = DiscreteExponential::new(0.3, 4.0);
        let total: f64 = (4..400).map(|x| d.ln_pmf(x as f64).exp()).sum();
        assert!((total - 1.0).abs() < 1e-14);
        let tail = [4.0, 4.0, 5.0, 7.0, 9.0, 4.0, 12.0];
        let f = DiscreteExponential::fit(&tail, 4.0).unwrap();
        let ll = |l: f64| {
            let d = DiscreteExponential::new(l, 4.0);
            tail.iter().map(|&x| d.ln_pmf(x)).sum::<f64>()
        };
        assert!(ll(f.lambda) > ll(f.lambda * (1.0 + 1e-6)));
        assert!(ll(f.lambda) > ll(f.lambda * (1.0 - 1e-6)));
        assert!(matches!(
            DiscreteExponential::fit(&[4.0, 4.0], 4.0),
            Err(PowerLawError::DegenerateTail { .. })
        ));
    }
}
