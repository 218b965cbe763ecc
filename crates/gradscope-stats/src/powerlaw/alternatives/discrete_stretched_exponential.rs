//! Discrete stretched exponential (Weibull) tail on the integers `x >= xmin`, as
//! `powerlaw` 2.0.0 defines it: the continuous Weibull with survival function
//! `S(y) = exp(-(lambda y)^beta)`, left-truncated at `xmin - 1/2` and rounded to the
//! nearest integer (the package has no discrete normaliser for this family and falls back
//! on `discrete_normalization='round'`, its default, in `Distribution.pdf`):
//! `p(x) = [S(x - 1/2) - S(x + 1/2)] / S(xmin - 1/2)`.
//!
//! Clauset et al. (2009, Table 2.1) give no closed-form discrete normaliser for this
//! family; the rounded one is a proper distribution (the masses telescope to 1) and is
//! reproduced here exactly. The package evaluates it as differences of the CDF
//! `1 - S`, normalised by `S(xmin - 1/2)`, which loses about `-log10 S(xmin - 1/2)`
//! digits and returns 1e-308 for every point once `S(xmin - 1/2)` rounds to 0 (its
//! `_cdf_xmin == 1` guard); here, with `c = (lambda (xmin - 1/2))^beta`,
//! `L = ln((x - 1/2)/(xmin - 1/2))` and `m = ln((x + 1/2)/(x - 1/2))`,
//! `ln p(x) = -gamma a + ln(1 - e^(-gamma b))`, `gamma = c beta`,
//! `a = expm1(beta L)/beta`, `b = e^(beta L) expm1(beta m)/beta`,
//! which has no cancellation and a finite limit at `beta -> 0`: the rounded continuous
//! power law `((x - 1/2)/(xmin - 1/2))^(-gamma) - ((x + 1/2)/(xmin - 1/2))^(-gamma)`.

use super::Tally;
use crate::powerlaw::error::PowerLawError;
use crate::powerlaw::hurwitz_zeta::BERNOULLI_OVER_FACTORIAL;
use crate::powerlaw::optimize::brent_root;
use crate::summation;

/// A fitted discrete stretched exponential. `lambda` has units of 1/x, `beta` is
/// dimensionless.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteStretchedExponential {
    /// Rate (1/x units); may overflow to infinity when `beta` is small, and is infinite at
    /// the boundary.
    pub lambda: f64,
    /// Stretching exponent (> 0; 0 at the boundary).
    pub beta: f64,
    /// Lower cut-off, the first point of the support (an integer).
    pub xmin: f64,
    /// True when the likelihood's supremum is the limit `beta -> 0` (with
    /// `gamma = beta (lambda (xmin - 1/2))^beta` fixed): the rounded continuous power law
    /// of exponent `1 + gamma`, which [`ln_pmf`](Self::ln_pmf) then evaluates. Unlike the
    /// continuous case this limit is not the discrete power law itself, so the likelihood
    /// ratio need not vanish there.
    pub at_boundary: bool,
    /// `gamma = beta (lambda (xmin - 1/2))^beta`, finite where `lambda` is not.
    gamma: f64,
}

/// `(u e^u - expm1(u)) / u^2 = sum_{k >= 2} (k - 1) u^(k-2) / k!` for `0 <= u < 1`, so
/// that `d/dbeta [expm1(beta L)/beta] = L^2` times this at `u = beta L`, free of the
/// cancellation of the closed form at small `u`.
fn a_slope_series(u: f64) -> f64 {
    let mut term = 0.5; // k = 2: 1/2!
    let mut sum = 0.0;
    let mut power = 1.0;
    for k in 2..40 {
        let add = (k - 1) as f64 * power * term;
        sum += add;
        if add <= 1e-17 * sum {
            break;
        }
        power *= u;
        term /= (k + 1) as f64;
    }
    sum
}

/// `h(v) = (v / (1 - e^(-v)) - 1) / v` for `v >= 0`, from the Bernoulli series
/// `v/(1 - e^(-v)) = 1 + v/2 + sum_j B_{2j}/(2j)! v^(2j)` for `v < 1` (terms shrink by
/// `(v / 2 pi)^2`), directly above.
fn bernoulli_ratio(v: f64) -> f64 {
    if v >= 1.0 {
        return (v / -(-v).exp_m1() - 1.0) / v;
    }
    let mut sum = 0.5;
    let mut power = v;
    let v2 = v * v;
    for c in BERNOULLI_OVER_FACTORIAL {
        let add = c * power;
        sum += add;
        if add.abs() <= 1e-18 * sum {
            break;
        }
        power *= v2;
    }
    sum
}

/// The per-value quantities of the parametrisation at one `beta`.
#[derive(Debug, Clone, Copy)]
struct Terms {
    /// `expm1(beta L)/beta` (`L` at `beta = 0`).
    a: f64,
    /// `e^(beta L) expm1(beta m)/beta` (`m` at `beta = 0`).
    b: f64,
    /// `da/dbeta`.
    da: f64,
    /// `(db/dbeta) / b`.
    dlnb: f64,
}

fn terms(beta: f64, l: f64, m: f64) -> Terms {
    let u = beta * l;
    let v = beta * m;
    let (a, da) = if beta == 0.0 {
        (l, 0.5 * l * l)
    } else if u < 1.0 {
        (u.exp_m1() / beta, l * l * a_slope_series(u))
    } else {
        (
            u.exp_m1() / beta,
            (u * u.exp() - u.exp_m1()) / (beta * beta),
        )
    };
    let b = if beta == 0.0 {
        m
    } else {
        u.exp() * v.exp_m1() / beta
    };
    Terms {
        a,
        b,
        da,
        dlnb: l + m * bernoulli_ratio(v),
    }
}

/// Per distinct value: `(L, m, count)`.
struct Profile {
    lm: Vec<(f64, f64)>,
    counts: Vec<f64>,
    n: f64,
}

impl Profile {
    fn terms(&self, beta: f64) -> Option<Vec<Terms>> {
        let t: Vec<Terms> = self.lm.iter().map(|&(l, m)| terms(beta, l, m)).collect();
        t.iter()
            .all(|t| t.a.is_finite() && t.b.is_finite() && t.b > 0.0)
            .then_some(t)
    }

    fn weighted(&self, t: &[Terms], f: impl Fn(&Terms) -> f64) -> f64 {
        summation::sum(t.iter().zip(&self.counts).map(|(t, &c)| c * f(t)))
    }

    /// The maximising `gamma` at fixed `beta`: the root of the concave log-likelihood's
    /// score `sum w (b / expm1(gamma b) - a)`, which falls from `+inf` to `-sum w a < 0`.
    fn gamma_hat(&self, t: &[Terms]) -> Option<f64> {
        let score = |g: f64| self.weighted(t, |t| t.b / (g * t.b).exp_m1() - t.a);
        let g0 = self.n / self.weighted(t, |t| t.a + 0.5 * t.b);
        if !(g0 > 0.0 && g0.is_finite()) {
            return None;
        }
        let (mut lo, mut hi) = (g0, g0);
        if score(g0) > 0.0 {
            while score(hi) > 0.0 {
                lo = hi;
                hi *= 2.0;
                if !hi.is_finite() {
                    return None;
                }
            }
        } else {
            while score(lo) <= 0.0 {
                hi = lo;
                lo *= 0.5;
                if lo == 0.0 {
                    return None;
                }
            }
        }
        brent_root(score, lo, hi, 1e-16 * lo)
    }

    fn log_likelihood(&self, t: &[Terms], gamma: f64) -> f64 {
        self.weighted(t, |t| -gamma * t.a + (-(-gamma * t.b).exp_m1()).ln())
    }

    /// `(profile log-likelihood, its derivative in beta, gamma-hat)`; the derivative is
    /// the partial one at `gamma-hat` (envelope theorem).
    fn at(&self, beta: f64) -> Option<(f64, f64, f64)> {
        let t = self.terms(beta)?;
        let g = self.gamma_hat(&t)?;
        let ll = self.log_likelihood(&t, g);
        let score = self.weighted(&t, |t| {
            let gb = g * t.b;
            -g * t.da + gb / gb.exp_m1() * t.dlnb
        });
        (ll.is_finite() && score.is_finite()).then_some((ll, score, g))
    }

    fn score(&self, beta: f64) -> f64 {
        self.at(beta).map_or(-1.0, |(_, s, _)| s)
    }
}

impl DiscreteStretchedExponential {
    /// A distribution with given parameters `lambda > 0`, `beta > 0` (for evaluating
    /// likelihoods).
    pub fn new(lambda: f64, beta: f64, xmin: f64) -> DiscreteStretchedExponential {
        DiscreteStretchedExponential {
            lambda,
            beta,
            xmin,
            at_boundary: false,
            gamma: beta * (beta * (lambda * (xmin - 0.5)).ln()).exp(),
        }
    }

    /// Maximum-likelihood fit by profiling. At fixed `beta` the log-likelihood
    /// `sum_i -gamma a_i + ln(1 - e^(-gamma b_i))` is concave in `gamma`, whose maximiser
    /// is the root of its score (Brent); the profile's derivative in `beta` is the partial
    /// derivative there (envelope theorem), in closed form through
    /// `da/dbeta = (u e^u - expm1 u)/beta^2` (`u = beta L`, by series below 1) and
    /// `d ln b/dbeta = L + m h(beta m)`, `h(v) = (v/(1 - e^(-v)) - 1)/v`. Its sign is
    /// scanned on `beta = 0` and 61 log-spaced values from 1e-4 to 100; every + to -
    /// change is refined by Brent's method to `1e-15 beta`, and the best of these local
    /// maxima and the boundary `beta = 0` is returned (`at_boundary` when the boundary
    /// wins). The package instead runs Nelder-Mead on `(lambda, beta)` from
    /// `(1/mean(x), 1)` at `tol = 1e-4`, which on power-law-like tails stops far from
    /// the maximum.
    /// Errors: fewer than two points, a value that is not an integer `>= xmin`, a
    /// non-integer `xmin`, or fewer than two distinct values (the likelihood then grows
    /// without bound).
    pub fn fit(tail: &[f64], xmin: f64) -> Result<DiscreteStretchedExponential, PowerLawError> {
        let t = Tally::new(tail, xmin)?;
        let degenerate = PowerLawError::DegenerateTail {
            xmin,
            n_tail: tail.len(),
        };
        if t.values.len() < 2 {
            return Err(degenerate);
        }
        let base = xmin - 0.5;
        let prof = Profile {
            lm: t
                .values
                .iter()
                .map(|&x| (((x - 0.5) / base).ln(), (1.0 / (x - 0.5)).ln_1p()))
                .collect(),
            counts: t.counts.clone(),
            n: t.n,
        };
        let Some((ll0, score0, g0)) = prof.at(0.0) else {
            return Err(degenerate);
        };
        let mut best = (ll0, 0.0, g0);
        let grid: Vec<f64> = std::iter::once(0.0)
            .chain((0..=60).map(|i| 10f64.powf(-4.0 + i as f64 / 10.0)))
            .collect();
        let mut prev = (0.0, score0);
        for &b in &grid[1..] {
            let s = prof.score(b);
            if prev.1 > 0.0 && s <= 0.0 {
                if let Some(r) = brent_root(|x| prof.score(x), prev.0, b, 1e-15 * b) {
                    if let Some((ll, _, g)) = prof.at(r) {
                        if ll > best.0 {
                            best = (ll, r, g);
                        }
                    }
                }
            }
            prev = (b, s);
        }
        // Still rising at beta = 100 (a nearly degenerate tail): keep the last grid point
        // if it beats the rest.
        if prev.1 > 0.0 {
            if let Some((ll, _, g)) = prof.at(prev.0) {
                if ll > best.0 {
                    best = (ll, prev.0, g);
                }
            }
        }
        let (_, beta, gamma) = best;
        let at_boundary = beta == 0.0;
        let lambda = if at_boundary {
            f64::INFINITY
        } else {
            ((gamma / beta).ln() / beta).exp() / base
        };
        Ok(DiscreteStretchedExponential {
            lambda,
            beta,
            xmin,
            at_boundary,
            gamma,
        })
    }

    /// `ln p(x)` (log of a probability mass), see the module notes; at the boundary the
    /// rounded power-law limit.
    pub fn ln_pmf(&self, x: f64) -> f64 {
        let base = self.xmin - 0.5;
        let t = terms(
            self.beta,
            ((x - 0.5) / base).ln(),
            (1.0 / (x - 0.5)).ln_1p(),
        );
        -self.gamma * t.a + (-(-self.gamma * t.b).exp_m1()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_match_direct_forms() {
        for &u in &[0.05f64, 0.3, 0.9] {
            let direct = (u * u.exp() - u.exp_m1()) / (u * u);
            assert!(((a_slope_series(u) - direct) / direct).abs() < 1e-13);
            let h = (u / -(-u).exp_m1() - 1.0) / u;
            assert!(((bernoulli_ratio(u) - h) / h).abs() < 1e-13);
        }
        assert_eq!(a_slope_series(0.0), 0.5);
        assert_eq!(bernoulli_ratio(0.0), 0.5);
    }

    #[test]
    fn masses_sum_to_one_and_match_the_survival_form() {
        let d = DiscreteStretchedExponential::new(0.2, 0.7, 3.0);
        let s = |y: f64| (-(0.2f64 * y).powf(0.7)).exp();
        let mut total = 0.0;
        for x in 3..3000 {
            let x = x as f64;
            let p = d.ln_pmf(x).exp();
            let direct = (s(x - 0.5) - s(x + 0.5)) / s(2.5);
            if x < 30.0 {
                assert!(((p - direct) / direct).abs() < 1e-12, "{x}: {p} {direct}");
            }
            total += p;
        }
        assert!((total - 1.0).abs() < 1e-13, "{total}");
    }

    #[test]
    fn weibull_quantiles_recover_beta() {
        // Rounded quantiles of a Weibull with beta = 0.6, lambda = 1/3, above xmin = 2.
        let n = 4000;
        let tail: Vec<f64> = (1..=n)
            .map(|i| {
                let e = -(1.0 - (i as f64 - 0.5) / n as f64).ln();
                (3.0 * (e + (1.5f64 / 3.0).powf(0.6)).powf(1.0 / 0.6) + 0.5).floor()
            })
            .collect();
        let f = DiscreteStretchedExponential::fit(&tail, 2.0).unwrap();
        assert!(!f.at_boundary);
        assert!((f.beta - 0.6).abs() < 0.02, "beta = {}", f.beta);
        assert!((f.lambda - 1.0 / 3.0).abs() < 0.02, "lambda = {}", f.lambda);
        let ll = |d: &DiscreteStretchedExponential| tail.iter().map(|&x| d.ln_pmf(x)).sum::<f64>();
        let l0 = ll(&f);
        for (dl, db) in [(1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-4), (0.0, -1e-4)] {
            let g = DiscreteStretchedExponential::new(f.lambda * (1.0 + dl), f.beta + db, 2.0);
            assert!(ll(&g) < l0);
        }
    }
}
