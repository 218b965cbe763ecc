//! Discrete log-normal tail on the integers `x >= xmin`, as `powerlaw` 2.0.0 defines it:
//! the continuous log-normal left-truncated at `xmin - 1/2`, rounded to the nearest
//! integer (`discrete_normalization='round'`, the package's default, in
//! `Lognormal._round_discrete_approx`):
//! `p(x) = [erfc(z(x - 1/2)) - erfc(z(x + 1/2))] / erfc(z(xmin - 1/2))`,
//! `z(y) = (ln y - mu) / (sigma sqrt 2)`.
//!
//! Clauset et al. (2009, Table 2.1) give no closed-form discrete log-normal; the rounded
//! one is a proper distribution (the masses telescope to 1), so it is reproduced here
//! exactly rather than approximated. The package forms each mass as a plain difference of
//! `erfc` values, which loses about `log10(x sigma)` digits (the relative width of the
//! interval's mass) and underflows to 0 (then floored at 1e-308) once
//! `z(x - 1/2) > 26.5`; [`ln_erfc_interval`] integrates narrow intervals directly and
//! keeps those digits (on the reference counts, whose `x` stay below 2000, the package's
//! float64 log-likelihood is still within 2e-15 relative of the exact one, ours within
//! 2e-16).

use std::f64::consts::{PI, SQRT_2};

use super::Tally;
use super::{lognormal, minimise};
use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::optimize::newton_polish;
use crate::powerlaw::special::{ln_erfc, ln_erfc_interval};
use crate::summation::Neumaier;

/// A fitted discrete log-normal. `mu` and `sigma` are the mean and standard deviation of
/// `ln x` of the underlying continuous log-normal (`mu` in units of ln x).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteLognormal {
    /// Location of `ln x`.
    pub mu: f64,
    /// Scale of `ln x` (> 0).
    pub sigma: f64,
    /// Lower cut-off, the first point of the support (an integer).
    pub xmin: f64,
    /// Whether the optimiser converged to an interior maximum. On power-law-like tails
    /// the maximum lies far out on a flat ridge towards `mu -> -inf`, `sigma -> inf`
    /// (where the rounded log-normal tends to a rounded power law), e.g. `mu = -16.8`,
    /// `sigma = 3.6` for counts with `alpha = 2.5`; where there is none, the fit stops on
    /// its tolerance and this is false.
    pub converged: bool,
    /// `ln erfc(z(xmin - 1/2))`, the log of twice the tail mass.
    ln_norm: f64,
}

/// `(ln(x - 1/2), ln((x + 1/2)/(x - 1/2)))` for each distinct value: the lower edge and
/// the log-width of the value's rounding interval.
fn edges(x: f64) -> (f64, f64) {
    ((x - 0.5).ln(), (1.0 / (x - 0.5)).ln_1p())
}

/// `ln erfc(z(xmin - 1/2))`.
fn ln_norm(mu: f64, sigma: f64, xmin: f64) -> f64 {
    ln_erfc(((xmin - 0.5).ln() - mu) / (sigma * SQRT_2))
}

/// `ln p(x)` from the edges of `x`.
fn ln_mass(lower: f64, width: f64, mu: f64, sigma: f64, ln_norm: f64) -> f64 {
    let scale = sigma * SQRT_2;
    ln_erfc_interval((lower - mu) / scale, width / scale) - ln_norm
}

/// Gradient in `(mu, ln sigma)` of `ln(erfc(a) - erfc(a + h))` with `a = (lower -
/// mu)/(sigma sqrt 2)`, `h = width/(sigma sqrt 2)`: with `D` the difference and
/// `b = a + h`, `dD/dmu = 2/(sqrt(pi) sigma sqrt 2) (e^(-a^2) - e^(-b^2))` and
/// `dD/dln sigma = 2/sqrt(pi) (a e^(-a^2) - b e^(-b^2))`, written as
/// `e^(-a^2) (-expm1(-h (a + b)))` and `e^(-a^2) (-h - b expm1(-h (a + b)))` so that
/// narrow intervals lose nothing, and `e^(-a^2)/D` formed in logs.
fn ln_mass_gradient(lower: f64, width: f64, mu: f64, sigma: f64) -> (f64, f64) {
    let scale = sigma * SQRT_2;
    let a = (lower - mu) / scale;
    let h = width / scale;
    let b = a + h;
    let weight = 2.0 / PI.sqrt() * (-a * a - ln_erfc_interval(a, h)).exp();
    let e = (-h * (a + b)).exp_m1();
    (weight * -e / scale, weight * (-h - b * e))
}

/// Gradient in `(mu, ln sigma)` of `ln erfc(z0)`, `z0 = (ln(xmin - 1/2) - mu)/(sigma
/// sqrt 2)`: `2/sqrt(pi) e^(-z0^2)/erfc(z0) (1/(sigma sqrt 2), z0)`.
fn ln_norm_gradient(mu: f64, sigma: f64, xmin: f64) -> (f64, f64) {
    let scale = sigma * SQRT_2;
    let z0 = ((xmin - 0.5).ln() - mu) / scale;
    let weight = 2.0 / PI.sqrt() * (-z0 * z0 - ln_erfc(z0)).exp();
    (weight / scale, weight * z0)
}

impl DiscreteLognormal {
    /// A distribution with given parameters (for evaluating likelihoods).
    pub fn new(mu: f64, sigma: f64, xmin: f64) -> DiscreteLognormal {
        DiscreteLognormal {
            mu,
            sigma,
            xmin,
            converged: true,
            ln_norm: ln_norm(mu, sigma, xmin),
        }
    }

    /// Maximum-likelihood fit. Starts where the package starts (mean and population
    /// standard deviation of `ln x` over the tail), runs restarted Nelder-Mead in
    /// `(mu, ln sigma)` to a relative tolerance of 1e-15 on the log-likelihood, then
    /// polishes with Newton steps on the analytic gradient (finite-difference Hessian,
    /// [`newton_polish`]), which brings the parameters to about 1e-11 relative of the
    /// stationary point where one exists (1e-15 away from ridges), and `converged` is
    /// false where none was found. The package stops Nelder-Mead at `tol = 1e-4`.
    /// Errors: fewer than two points, a value that is not an integer `>= xmin`, a
    /// non-integer `xmin`, or all points equal.
    pub fn fit(tail: &[f64], xmin: f64) -> Result<DiscreteLognormal, PowerLawError> {
        let t = Tally::new(tail, xmin)?;
        let ln_x: Vec<f64> = t.values.iter().map(|x| x.ln()).collect();
        let mean = t.weighted_sum(&ln_x, |l| l) / t.n;
        let sd = (t.weighted_sum(&ln_x, |l| (l - mean).powi(2)) / t.n).sqrt();
        if sd.is_nan() || sd <= 0.0 {
            return Err(PowerLawError::DegenerateTail {
                xmin,
                n_tail: tail.len(),
            });
        }
        let e: Vec<(f64, f64)> = t.values.iter().map(|&x| edges(x)).collect();
        let objective = |p: &[f64]| {
            let (mu, sigma) = (p[0], p[1].exp());
            let ln_n = ln_norm(mu, sigma, xmin);
            -t.weighted_sum(&e, |(lo, w)| ln_mass(lo, w, mu, sigma, ln_n))
        };
        let start = minimise(objective, &[mean, sd.ln()], &lognormal::step(sd));
        let gradient = |p: &[f64]| {
            let (mu, sigma) = (p[0], p[1].exp());
            let (n_mu, n_sigma) = ln_norm_gradient(mu, sigma, xmin);
            let (mut g_mu, mut g_sigma) = (Neumaier::default(), Neumaier::default());
            for (&(lo, w), &c) in e.iter().zip(&t.counts) {
                let (dm, ds) = ln_mass_gradient(lo, w, mu, sigma);
                g_mu.add(c * dm);
                g_sigma.add(c * ds);
            }
            vec![t.n * n_mu - g_mu.value(), t.n * n_sigma - g_sigma.value()]
        };
        let best = newton_polish(objective, Some(gradient), &start.x, &[1e-3, 1e-3]);
        let (mu, sigma) = (best.x[0], best.x[1].exp());
        Ok(DiscreteLognormal {
            mu,
            sigma,
            xmin,
            converged: start.converged && best.converged,
            ln_norm: ln_norm(mu, sigma, xmin),
        })
    }

    /// `ln p(x)` (log of a probability mass).
    pub fn ln_pmf(&self, x: f64) -> f64 {
        let (lower, width) = edges(x);
        ln_mass(lower, width, self.mu, self.sigma, self.ln_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masses_sum_to_one() {
        // The rounding intervals tile [xmin - 1/2, inf): the masses telescope to 1.
        for &(mu, sigma, xmin) in &[(1.0, 0.8, 1.0), (3.0, 0.5, 5.0), (-20.0, 4.0, 10.0)] {
            let d = DiscreteLognormal::new(mu, sigma, xmin);
            let top = xmin + 3000.0;
            let mut total = 0.0;
            let mut x = xmin;
            while x < top {
                total += d.ln_pmf(x).exp();
                x += 1.0;
            }
            // The mass of [top - 1/2, inf) (the last case's slowly decaying tail).
            let z = ((top - 0.5).ln() - mu) / (sigma * SQRT_2);
            total += (ln_erfc(z) - d.ln_norm).exp();
            assert!((total - 1.0).abs() < 1e-12, "{mu} {sigma}: {total}");
        }
    }

    #[test]
    fn gradient_matches_differences() {
        for &(lower, width, mu, sigma) in &[
            ((9.5f64).ln(), (1.0 / 9.5f64).ln_1p(), 2.0, 0.7),
            ((99.5f64).ln(), (1.0 / 99.5f64).ln_1p(), -16.8, 3.6),
            ((0.5f64).ln(), (2.0f64).ln(), 3.0, 0.2),
        ] {
            let f = |mu: f64, ls: f64| ln_mass(lower, width, mu, ls.exp(), 0.0);
            let (gm, gs) = ln_mass_gradient(lower, width, mu, sigma);
            let h = 1e-6;
            let ls = sigma.ln();
            let dm = (f(mu + h, ls) - f(mu - h, ls)) / (2.0 * h);
            let ds = (f(mu, ls + h) - f(mu, ls - h)) / (2.0 * h);
            assert!((gm - dm).abs() < 1e-7 * (1.0 + dm.abs()), "{gm} {dm}");
            assert!((gs - ds).abs() < 1e-7 * (1.0 + ds.abs()), "{gs} {ds}");
            let g = |mu: f64, ls: f64| ln_norm(mu, ls.exp(), 10.0);
            let (nm, ns) = ln_norm_gradient(mu, sigma, 10.0);
            let dm = (g(mu + h, ls) - g(mu - h, ls)) / (2.0 * h);
            let ds = (g(mu, ls + h) - g(mu, ls - h)) / (2.0 * h);
            assert!((nm - dm).abs() < 1e-7 * (1.0 + dm.abs()), "{nm} {dm}");
            assert!((ns - ds).abs() < 1e-7 * (1.0 + ds.abs()), "{ns} {ds}");
        }
    }

    #[test]
    fn far_tail_does_not_underflow() {
        // z(x - 1/2) = 40: the package's erfc difference is 0 - 0 there.
        let d = DiscreteLognormal::new(0.0, 0.05, 1.0);
        let v = d.ln_pmf(20.0);
        assert!(v.is_finite() && v < -1000.0, "{v}");
    }
}
