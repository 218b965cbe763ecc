//! Stretched exponential (Weibull) tail, left-truncated at `xmin`:
//! `p(x) = beta lambda^beta x^(beta-1) exp((lambda xmin)^beta - (lambda x)^beta)`
//! (Clauset et al. 2009, Table 2.1; `powerlaw`'s `Stretched_Exponential`, continuous).

use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::optimize::brent_root;
use crate::summation;

/// A fitted stretched exponential. `lambda` has units of 1/x, `beta` is dimensionless.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StretchedExponential {
    /// Rate (1/x units); may be astronomically large when `beta` is small.
    pub lambda: f64,
    /// Stretching exponent (> 0).
    pub beta: f64,
    /// Lower cut-off (x units).
    pub xmin: f64,
    /// True when the likelihood's supremum is the limit `beta -> 0`, where this family
    /// becomes the power law itself: the likelihood ratio is then zero.
    pub at_boundary: bool,
    /// `ln c = beta ln(lambda xmin)`, the scale actually used (finite where `lambda`
    /// overflows).
    ln_scale: f64,
}

/// Per-tail data for the profile likelihood: `L_i = ln(x_i / xmin)`.
struct Profile {
    l: Vec<f64>,
    l_max: f64,
    n: f64,
    sum_l: f64,
}

impl Profile {
    /// `ln T(beta)` and `T'(beta)/T(beta)` with `T = sum expm1(beta L_i)`, scaled by
    /// `e^(-beta L_max)` when that would overflow.
    fn log_t_and_ratio(&self, beta: f64) -> (f64, f64) {
        let m = beta * self.l_max;
        if m < 600.0 {
            let t = summation::sum(self.l.iter().map(|&l| (beta * l).exp_m1()));
            let dt = summation::sum(self.l.iter().map(|&l| l * (beta * l).exp()));
            (t.ln(), dt / t)
        } else {
            let em = (-m).exp();
            let t = summation::sum(self.l.iter().map(|&l| (beta * l - m).exp() - em));
            let dt = summation::sum(self.l.iter().map(|&l| l * (beta * l - m).exp()));
            (t.ln() + m, dt / t)
        }
    }

    /// Score of the profile log-likelihood: `n/beta - n T'/T + sum L`.
    fn score(&self, beta: f64) -> f64 {
        let (_, ratio) = self.log_t_and_ratio(beta);
        self.n / beta - self.n * ratio + self.sum_l
    }
}

impl StretchedExponential {
    /// A distribution with given parameters (for evaluating likelihoods).
    pub fn new(lambda: f64, beta: f64, xmin: f64) -> StretchedExponential {
        StretchedExponential {
            lambda,
            beta,
            xmin,
            at_boundary: false,
            ln_scale: beta * (lambda * xmin).ln(),
        }
    }

    /// Maximum-likelihood fit. With `c = (lambda xmin)^beta` the density is
    /// `beta c x^(beta-1) xmin^(-beta) exp(-c t)`, `t = (x/xmin)^beta - 1`, so for fixed
    /// `beta` the MLE is `c = n / sum t_i` in closed form; the profile score
    /// `n/beta + sum L - n sum L e^(beta L) / sum expm1(beta L)` (`L = ln(x/xmin)`) is then
    /// solved by Brent's method. Its limit at `beta -> 0+` is `sum L - n sum L^2 / (2 sum
    /// L)`; when no sign change from + to - exists on `[1e-6, 1e3]`, or the stationary
    /// point found is worse than the limit, the supremum is the power-law limit and
    /// `at_boundary` is set (with `beta` = 0, `lambda` = inf).
    /// Errors: fewer than two points, or all equal to `xmin`.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<StretchedExponential, PowerLawError> {
        let n = tail.len();
        if n < 2 {
            return Err(PowerLawError::TooFewTail { xmin, n_tail: n });
        }
        let l: Vec<f64> = tail.iter().map(|&x| (x / xmin).ln()).collect();
        let sum_l = summation::sum(l.iter().copied());
        if sum_l.is_nan() || sum_l <= 0.0 {
            return Err(PowerLawError::DegenerateTail { xmin, n_tail: n });
        }
        let l_max = l.iter().fold(0.0f64, |a, &b| a.max(b));
        let prof = Profile {
            l,
            l_max,
            n: n as f64,
            sum_l,
        };
        // Bracket: scan log-spaced beta from large to small for the first + -> - crossing
        // seen from the small side; the score is negative for large beta.
        let grid: Vec<f64> = (0..=90)
            .map(|i| 1e3 * 10f64.powf(-(i as f64) / 10.0))
            .collect();
        let mut root = None;
        let mut prev: Option<(f64, f64)> = None;
        for &b in grid.iter().rev() {
            let s = prof.score(b);
            if let Some((pb, ps)) = prev {
                if ps > 0.0 && s <= 0.0 {
                    root = brent_root(|x| prof.score(x), pb, b, 1e-15 * b);
                    break;
                }
            }
            prev = Some((b, s));
        }
        let boundary = StretchedExponential {
            lambda: f64::INFINITY,
            beta: 0.0,
            xmin,
            at_boundary: true,
            ln_scale: f64::NEG_INFINITY,
        };
        let Some(beta) = root else {
            return Ok(boundary);
        };
        let (ln_t, _) = prof.log_t_and_ratio(beta);
        // Profile log-likelihood at the root, less the terms common to the beta -> 0
        // limit (which is the power law's n ln(n / sum L)): keep the root only if it wins.
        let at_root = prof.n * (beta.ln() + prof.n.ln() - ln_t) + beta * prof.sum_l;
        let at_zero = prof.n * (prof.n / prof.sum_l).ln();
        if at_root < at_zero {
            return Ok(boundary);
        }
        let ln_scale = prof.n.ln() - ln_t;
        let lambda = (ln_scale / beta).exp() / xmin;
        Ok(StretchedExponential {
            lambda,
            beta,
            xmin,
            at_boundary: false,
            ln_scale,
        })
    }

    /// `ln p(x) = ln beta + ln c - ln xmin + (beta - 1) ln(x/xmin) - c ((x/xmin)^beta - 1)`
    /// (per unit of x). At the boundary (`beta = 0`) the limit is not a density of this
    /// family; there the fitted power law's own log-density must be used instead, which
    /// [`compare`](crate::powerlaw::compare) does.
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let l = (x / self.xmin).ln();
        let c = self.ln_scale.exp();
        self.beta.ln() + self.ln_scale - self.xmin.ln() + (self.beta - 1.0) * l
            - c * (self.beta * l).exp_m1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic quantiles `x = xmin exp(g(F^-1(p)))` at `p = (i - 1/2)/n`.
    fn tail(n: usize, g: impl Fn(f64) -> f64) -> Vec<f64> {
        (1..=n)
            .map(|i| {
                let e = -(1.0 - (i as f64 - 0.5) / n as f64).ln();
                2.0 * g(e).exp()
            })
            .collect()
    }

    #[test]
    fn weibull_quantiles_recover_beta() {
        // x = xmin * (1 + E/c)^(1/beta) has t = (x/xmin)^beta - 1 = E/c: exactly the
        // truncated Weibull with beta = 0.6; the MLE on its quantiles is close to 0.6.
        let beta = 0.6;
        let x = tail(4000, |e| (1.0 + e / 1.5).ln() / beta);
        let f = StretchedExponential::fit(&x, 2.0).unwrap();
        assert!(!f.at_boundary);
        assert!((f.beta - beta).abs() < 0.01, "beta = {}", f.beta);
        // The score vanishes at the optimum: nearby betas have lower likelihood.
        let ll = |s: &StretchedExponential| x.iter().map(|&v| s.ln_pdf(v)).sum::<f64>();
        let l0 = ll(&f);
        for db in [-1e-4, 1e-4] {
            let g = StretchedExponential::new(f.lambda, f.beta + db, 2.0);
            assert!(ll(&g) < l0);
        }
    }

    #[test]
    fn heavier_than_power_law_log_tail_hits_the_boundary() {
        // ln(x/xmin) = E^2 has far more spread than the exponential of a power law, so the
        // likelihood increases all the way to beta -> 0, the power-law limit.
        let x = tail(3000, |e| e * e);
        let f = StretchedExponential::fit(&x, 2.0).unwrap();
        assert!(f.at_boundary && f.beta == 0.0);
    }
}
