//! Exponential tail `p(x) = lambda e^(-lambda (x - xmin))`, `x >= xmin` (Clauset et al.
//! 2009, Table 2.1; `powerlaw`'s `Exponential`, continuous).

use crate::powerlaw::error::PowerLawError;
use crate::summation;

/// A fitted exponential tail. `lambda` has units of 1/x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponential {
    /// Rate (1/x units).
    pub lambda: f64,
    /// Lower cut-off (x units).
    pub xmin: f64,
}

impl Exponential {
    /// Maximum-likelihood rate `lambda = 1 / (mean(x) - xmin)` on the tail: exact, where
    /// the package's Nelder-Mead (`tol = 1e-4`) lands within about 1e-4 relative of it.
    /// Errors: fewer than two points, or all points equal to `xmin`.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<Exponential, PowerLawError> {
        let n = tail.len();
        if n < 2 {
            return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
        }
        let excess = summation::sum(tail.iter().map(|&x| x - xmin)) / n as f64;
        if excess.is_nan() || excess <= 0.0 {
            return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
        }
        Ok(Exponential {
            lambda: 1.0 / excess,
            xmin,
        })
    }

    /// `ln p(x) = ln lambda - lambda (x - xmin)`, written with the shift so that large
    /// `lambda xmin` cannot overflow (the package does the same in its `pdf`).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        self.lambda.ln() - self.lambda * (x - self.xmin)
    }
}
