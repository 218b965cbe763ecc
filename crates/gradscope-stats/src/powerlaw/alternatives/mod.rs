//! The heavy-tailed alternatives of Clauset, Shalizi and Newman (2009, Table 2.1), each
//! fitted by maximum likelihood to the same tail `x >= xmin` as the power law, so the
//! likelihood-ratio tests of [`compare`](super::compare) compare like with like.
//!
//! The first four are continuous densities normalised on `[xmin, inf)`, as `powerlaw`
//! 2.0.0 defines them (its `Exponential`, `Lognormal`, `Stretched_Exponential` and
//! `Truncated_Power_Law` classes with `discrete=False`). The `Discrete*` four are the same
//! classes with `discrete=True`: probability masses on the integers `x >= xmin`, exact
//! where the package has a discrete normaliser (exponential: geometric; truncated power
//! law: Lerch transcendent, [`lerch`](super::lerch)) and otherwise the package's default
//! `discrete_normalization='round'`, the continuous law truncated at `xmin - 1/2` and
//! rounded to the nearest integer (log-normal, stretched exponential), itself a proper
//! distribution, evaluated here without the package's cancellation and underflow.
//!
//! The package fits each with Nelder-Mead at `tol = 1e-4` under default parameter bounds;
//! here each is fitted to the true maximum (closed form, profiled score equation, or
//! restarted Nelder-Mead to near machine precision, polished by Newton's method for the
//! discrete families), so where the package stopped short our log-likelihood is higher.

mod discrete_exponential;
mod discrete_lognormal;
mod discrete_stretched_exponential;
mod discrete_truncated_power_law;
mod exponential;
mod lognormal;
mod stretched_exponential;
mod truncated_power_law;

pub use discrete_exponential::DiscreteExponential;
pub use discrete_lognormal::DiscreteLognormal;
pub use discrete_stretched_exponential::DiscreteStretchedExponential;
pub use discrete_truncated_power_law::DiscreteTruncatedPowerLaw;
pub use exponential::Exponential;
pub use lognormal::Lognormal;
pub use stretched_exponential::StretchedExponential;
pub use truncated_power_law::TruncatedPowerLaw;

use super::error::PowerLawError;
use super::optimize::{nelder_mead, Minimum};

/// The alternatives' maximum-likelihood search: restarted Nelder-Mead on the negative
/// log-likelihood from `start` with simplex steps `step`, to 1e-11 in the parameters and
/// 1e-15 relative in the objective, 20,000 evaluations at most. Far tighter than the
/// `powerlaw` package's `tol = 1e-4`, so that likelihood ratios are those of the maxima.
fn minimise(objective: impl Fn(&[f64]) -> f64, start: &[f64], step: &[f64]) -> Minimum {
    nelder_mead(objective, start, step, 1e-11, 1e-15, 20_000)
}

/// A fitted alternative distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum AlternativeFit {
    /// Exponential tail.
    Exponential(Exponential),
    /// Log-normal tail.
    Lognormal(Lognormal),
    /// Stretched exponential (Weibull) tail.
    StretchedExponential(StretchedExponential),
    /// Power law with exponential cut-off.
    TruncatedPowerLaw(TruncatedPowerLaw),
    /// Discrete exponential (geometric) tail.
    DiscreteExponential(DiscreteExponential),
    /// Discrete (rounded) log-normal tail.
    DiscreteLognormal(DiscreteLognormal),
    /// Discrete (rounded) stretched exponential tail.
    DiscreteStretchedExponential(DiscreteStretchedExponential),
    /// Discrete power law with exponential cut-off.
    DiscreteTruncatedPowerLaw(DiscreteTruncatedPowerLaw),
}

impl AlternativeFit {
    /// Log-density at `x >= xmin` (per unit of x) for the continuous families; log
    /// probability mass at the integer `x >= xmin` for the discrete ones.
    pub fn ln_pdf(&self, x: f64) -> f64 {
        match self {
            AlternativeFit::Exponential(d) => d.ln_pdf(x),
            AlternativeFit::Lognormal(d) => d.ln_pdf(x),
            AlternativeFit::StretchedExponential(d) => d.ln_pdf(x),
            AlternativeFit::TruncatedPowerLaw(d) => d.ln_pdf(x),
            AlternativeFit::DiscreteExponential(d) => d.ln_pmf(x),
            AlternativeFit::DiscreteLognormal(d) => d.ln_pmf(x),
            AlternativeFit::DiscreteStretchedExponential(d) => d.ln_pmf(x),
            AlternativeFit::DiscreteTruncatedPowerLaw(d) => d.ln_pmf(x),
        }
    }

    /// Whether the optimiser reached an interior maximum (false: it stopped on its budget,
    /// or the supremum lies on the boundary of the parameter space, where the family
    /// degenerates into a power law and the likelihood ratio tends to zero).
    pub fn converged(&self) -> bool {
        match self {
            AlternativeFit::Exponential(_) => true,
            AlternativeFit::Lognormal(d) => d.converged,
            AlternativeFit::StretchedExponential(d) => !d.at_boundary,
            AlternativeFit::TruncatedPowerLaw(d) => d.converged,
            AlternativeFit::DiscreteExponential(_) => true,
            AlternativeFit::DiscreteLognormal(d) => d.converged,
            AlternativeFit::DiscreteStretchedExponential(d) => !d.at_boundary,
            AlternativeFit::DiscreteTruncatedPowerLaw(d) => d.converged,
        }
    }
}

/// The distinct values of a discrete tail and their multiplicities: discrete
/// likelihoods are count-weighted sums over distinct values, which for counts is far
/// shorter than the tail (e.g. 87 distinct values among 1052 points).
pub(crate) struct Tally {
    /// Distinct values, ascending.
    pub values: Vec<f64>,
    /// How often each occurs.
    pub counts: Vec<f64>,
    /// Tail size.
    pub n: f64,
    /// Lower cut-off.
    pub xmin: f64,
}

impl Tally {
    /// Tally a discrete tail (any order). Errors: `xmin` not an integer `>= 1` (the
    /// discrete families put their first mass at `xmin`, and the rounded ones need
    /// `xmin - 1/2 > 0`), fewer than two points, a value that is not an integer or lies
    /// below `xmin`.
    pub(crate) fn new(tail: &[f64], xmin: f64) -> Result<Tally, PowerLawError> {
        if !(xmin >= 1.0 && xmin.is_finite() && xmin.fract() == 0.0) {
            return Err(PowerLawError::InvalidArgument(format!(
                "discrete alternatives need an integer xmin >= 1 (the first point of their support), got {xmin}"
            )));
        }
        if tail.len() < 2 {
            return Err(PowerLawError::TooFewTail {
                xmin,
                n_tail: tail.len(),
            });
        }
        for (index, &value) in tail.iter().enumerate() {
            if !(value.is_finite() && value.fract() == 0.0) {
                return Err(PowerLawError::NotInteger { index, value });
            }
            if value < xmin {
                return Err(PowerLawError::InvalidArgument(format!(
                    "value {value} at index {index} lies below xmin = {xmin}"
                )));
            }
        }
        let mut sorted = tail.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let mut values: Vec<f64> = Vec::new();
        let mut counts: Vec<f64> = Vec::new();
        for x in sorted {
            if values.last() == Some(&x) {
                *counts.last_mut().expect("a count per value") += 1.0;
            } else {
                values.push(x);
                counts.push(1.0);
            }
        }
        Ok(Tally {
            values,
            counts,
            n: tail.len() as f64,
            xmin,
        })
    }

    /// `sum_i count_i f(per_value_i)` (compensated), with one entry of `per_value` for
    /// each distinct value.
    pub(crate) fn weighted_sum<T: Copy>(&self, per_value: &[T], f: impl Fn(T) -> f64) -> f64 {
        crate::summation::sum(per_value.iter().zip(&self.counts).map(|(&v, &c)| c * f(v)))
    }

    /// `mean(x) - xmin`.
    pub(crate) fn mean_excess(&self) -> f64 {
        self.weighted_sum(&self.values, |x| x - self.xmin) / self.n
    }
}

/// `n`, `sum ln x` and the centred `sum (ln x - mean)^2` of a tail: the sufficient
/// statistics of the log-normal and (with `sum x`) the truncated power law.
pub(crate) struct LogMoments {
    pub n: f64,
    pub sum_ln: f64,
    pub mean_ln: f64,
    pub centred_ss: f64,
}

impl LogMoments {
    pub(crate) fn new(tail: &[f64]) -> LogMoments {
        let n = tail.len() as f64;
        let sum_ln = crate::summation::sum(tail.iter().map(|x| x.ln()));
        let mean_ln = sum_ln / n;
        let centred_ss = crate::summation::sum(tail.iter().map(|x| (x.ln() - mean_ln).powi(2)));
        LogMoments {
            n,
            sum_ln,
            mean_ln,
            centred_ss,
        }
    }
}
