//! Likelihood-ratio tests of the fitted power law against alternatives (Clauset, Shalizi
//! and Newman 2009, section 5 and appendix C; Vuong 1989).
//!
//! With per-point log-likelihood differences `d_i = ln p_pl(x_i) - ln p_alt(x_i)` over the
//! tail, `R = sum d_i` (positive favours the power law), `sigma^2 = mean (d_i - mean d)^2`
//! (population variance, as the package computes it), the normalised ratio is
//! `R / (sqrt(n) sigma)`, and
//! - non-nested alternatives (exponential, log-normal, stretched exponential): Vuong's
//!   two-sided `p = erfc(|R| / sqrt(2 n sigma^2))` (Clauset et al. eq. C.6);
//! - the nested truncated power law: `p = 1 - F_chi2(1)(|2R|) = erfc(sqrt(|R|))`, what
//!   `powerlaw` 2.0.0 computes (written with `erfc`, which keeps digits the package's
//!   `1 - cdf` loses below about 1e-16).
//!
//! Continuous fits are compared with the continuous densities, discrete fits with the
//! discrete masses of [`alternatives`](super::alternatives) (`DiscreteExponential`, ...),
//! exactly as `powerlaw`'s `Fit(data, discrete=True).distribution_compare` pairs them; the
//! power law's own per-point log-mass is then `-alpha ln x - ln zeta(alpha, xmin)` (the
//! package forms `zeta` as `1 - (1 - zeta)`, which costs it a relative `1e-16/zeta` in
//! each term, e.g. 5e-15 at `xmin = 10`, `alpha = 2.5`). R, the normalised R and p are
//! the same formulas for both supports.

use super::special::erfc;

use super::alternatives::{
    AlternativeFit, DiscreteExponential, DiscreteLognormal, DiscreteStretchedExponential,
    DiscreteTruncatedPowerLaw, Exponential, Lognormal, StretchedExponential, TruncatedPowerLaw,
};
use super::continuous;
use super::error::PowerLawError;
use super::fit::PowerLawFit;
use super::hurwitz_zeta::hurwitz_zeta;
use super::sample::{prepare, tail_of, Support};

/// The alternatives of Clauset et al. (2009) Table 2.1 that the package compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// `lambda e^(-lambda x)`.
    Exponential,
    /// Log-normal.
    Lognormal,
    /// Stretched exponential (Weibull).
    StretchedExponential,
    /// Power law with exponential cut-off (nested: contains the power law).
    TruncatedPowerLaw,
}

impl Alternative {
    /// All four, in the order of the package's `supported_distributions`.
    pub const ALL: [Alternative; 4] = [
        Alternative::Lognormal,
        Alternative::Exponential,
        Alternative::TruncatedPowerLaw,
        Alternative::StretchedExponential,
    ];

    /// Whether the power law is a special case (boundary) of this family.
    pub fn nested(self) -> bool {
        matches!(self, Alternative::TruncatedPowerLaw)
    }
}

/// Outcome of one likelihood-ratio test.
#[derive(Debug, Clone, PartialEq)]
pub struct LikelihoodRatio {
    /// Which alternative.
    pub alternative: Alternative,
    /// `R = sum (ln p_pl - ln p_alt)` over the tail (nats); positive favours the power law.
    pub r: f64,
    /// `R / (sqrt(n) sigma)`, the quantity Clauset et al. tabulate for non-nested tests.
    pub normalized_r: f64,
    /// p-value of the sign of `R` (Vuong) or of the nested chi-square(1) test.
    pub p_value: f64,
    /// Tail size `n`.
    pub n: usize,
    /// The fitted alternative.
    pub fit: AlternativeFit,
}

/// `R`, normalised `R` and p from per-point log-likelihoods (same points, same order).
///
/// Returns `(R, R/(sqrt(n) sigma), p)`. When the differences have zero variance the test
/// carries no information: the normalised ratio is 0 and `p = 1` (the package would
/// divide by zero). Non-finite log-likelihoods are floored at `ln(1e-307)` as the package
/// does (`loglikelihood_ratio`).
pub fn loglikelihood_ratio(
    ll_power_law: &[f64],
    ll_alternative: &[f64],
    nested: bool,
) -> (f64, f64, f64) {
    let n = ll_power_law.len().min(ll_alternative.len());
    if n == 0 {
        return (0.0, 0.0, 1.0);
    }
    let floor = (1e-307f64).ln();
    let clean = |v: f64| if v == f64::NEG_INFINITY { floor } else { v };
    let d: Vec<f64> = ll_power_law
        .iter()
        .zip(ll_alternative)
        .map(|(&a, &b)| clean(a) - clean(b))
        .collect();
    let nf = n as f64;
    let r = crate::summation::sum(d.iter().copied());
    let mean = r / nf;
    let var = crate::summation::sum(d.iter().map(|x| (x - mean).powi(2))) / nf;
    let scale = (nf * var).sqrt();
    let normalized = if scale > 0.0 { r / scale } else { 0.0 };
    let p = if nested {
        erfc(r.abs().sqrt())
    } else if scale > 0.0 {
        erfc(r.abs() / (2.0 * nf * var).sqrt())
    } else {
        1.0
    };
    (r, normalized, p)
}

/// Fit `alternative` to the tail of `fit` (`x >= fit.xmin` of `data`, the same data the
/// fit was made from) and test it against the power law: with the continuous family for
/// a continuous fit, the discrete one (`AlternativeFit::Discrete*`) for a discrete fit.
///
/// Errors: the data are invalid or inconsistent with the fit, or (discrete) `fit.xmin`
/// is not an integer (the discrete families start their support at `xmin`).
pub fn likelihood_ratio_test(
    data: &[f64],
    fit: &PowerLawFit,
    alternative: Alternative,
) -> Result<LikelihoodRatio, PowerLawError> {
    let sorted = prepare(data, fit.options.support)?;
    let tail = tail_of(&sorted, fit.xmin);
    if tail.len() != fit.n_tail {
        return Err(PowerLawError::InvalidArgument(format!(
            "the data have {} points >= xmin = {}, but the fit has n_tail = {}; pass the data the fit was made from",
            tail.len(),
            fit.xmin,
            fit.n_tail
        )));
    }
    let xmin = fit.xmin;
    let (alt, ll_pl) = match fit.options.support {
        Support::Continuous => (
            fit_continuous(tail, xmin, alternative)?,
            tail.iter()
                .map(|&x| continuous::ln_pdf(x, xmin, fit.alpha))
                .collect::<Vec<f64>>(),
        ),
        Support::Discrete(_) => {
            let alt = fit_discrete(tail, xmin, alternative)?;
            let ln_z = hurwitz_zeta(fit.alpha, xmin).ln();
            (
                alt,
                tail.iter().map(|&x| -fit.alpha * x.ln() - ln_z).collect(),
            )
        }
    };
    let ll_alt: Vec<f64> = match &alt {
        // At the boundary the stretched exponential is the power law itself.
        AlternativeFit::StretchedExponential(s) if s.at_boundary => ll_pl.clone(),
        other => tail.iter().map(|&x| other.ln_pdf(x)).collect(),
    };
    let (r, normalized_r, p_value) = loglikelihood_ratio(&ll_pl, &ll_alt, alternative.nested());
    Ok(LikelihoodRatio {
        alternative,
        r,
        normalized_r,
        p_value,
        n: tail.len(),
        fit: alt,
    })
}

/// The continuous family of `alternative`, fitted to `tail`.
fn fit_continuous(
    tail: &[f64],
    xmin: f64,
    alternative: Alternative,
) -> Result<AlternativeFit, PowerLawError> {
    Ok(match alternative {
        Alternative::Exponential => AlternativeFit::Exponential(Exponential::fit(tail, xmin)?),
        Alternative::Lognormal => AlternativeFit::Lognormal(Lognormal::fit(tail, xmin)?),
        Alternative::StretchedExponential => {
            AlternativeFit::StretchedExponential(StretchedExponential::fit(tail, xmin)?)
        }
        Alternative::TruncatedPowerLaw => {
            AlternativeFit::TruncatedPowerLaw(TruncatedPowerLaw::fit(tail, xmin)?)
        }
    })
}

/// The discrete family of `alternative`, fitted to `tail`.
fn fit_discrete(
    tail: &[f64],
    xmin: f64,
    alternative: Alternative,
) -> Result<AlternativeFit, PowerLawError> {
    Ok(match alternative {
        Alternative::Exponential => {
            AlternativeFit::DiscreteExponential(DiscreteExponential::fit(tail, xmin)?)
        }
        Alternative::Lognormal => {
            AlternativeFit::DiscreteLognormal(DiscreteLognormal::fit(tail, xmin)?)
        }
        Alternative::StretchedExponential => AlternativeFit::DiscreteStretchedExponential(
            DiscreteStretchedExponential::fit(tail, xmin)?,
        ),
        Alternative::TruncatedPowerLaw => {
            AlternativeFit::DiscreteTruncatedPowerLaw(DiscreteTruncatedPowerLaw::fit(tail, xmin)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vuong_by_hand() {
        // d = (1, 2, 3): R = 6, mean 2, population variance 2/3, n sigma^2 = 2.
        let (r, nr, p) = loglikelihood_ratio(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0], false);
        assert_eq!(r, 6.0);
        assert!((nr - 6.0 / 2f64.sqrt()).abs() < 1e-15);
        assert!((p - erfc(6.0 / 4f64.sqrt())).abs() < 1e-18);
        // Nested: p = 1 - F_chi2(1)(2R) = erfc(sqrt(R)); R = 0.5 -> erfc(0.7071...) =
        // 0.31731050786291415 (chi-square(1) upper tail at 1, scipy.stats.chi2.sf(1, 1)).
        let (_, _, p) = loglikelihood_ratio(&[0.5], &[0.0], true);
        assert!((p - 0.317_310_507_862_914_15).abs() < 1e-15);
        // No variance: uninformative.
        let (_, nr, p) = loglikelihood_ratio(&[1.0, 1.0], &[0.0, 0.0], false);
        assert_eq!((nr, p), (0.0, 1.0));
    }

    #[test]
    fn discrete_fits_use_the_discrete_families() {
        let x: Vec<f64> = (1..200).map(|i| (i % 17 + 1) as f64).collect();
        let options = |xmin| crate::powerlaw::FitOptions {
            support: Support::Discrete(Default::default()),
            xmin: crate::powerlaw::XminRule::Fixed(xmin),
        };
        let f = crate::powerlaw::fit(&x, &options(2.0)).unwrap();
        for alt in Alternative::ALL {
            let t = likelihood_ratio_test(&x, &f, alt).unwrap();
            assert_eq!(t.n, f.n_tail);
            assert!(t.r.is_finite() && (0.0..=1.0).contains(&t.p_value));
            let discrete = matches!(
                t.fit,
                AlternativeFit::DiscreteExponential(_)
                    | AlternativeFit::DiscreteLognormal(_)
                    | AlternativeFit::DiscreteStretchedExponential(_)
                    | AlternativeFit::DiscreteTruncatedPowerLaw(_)
            );
            assert!(discrete, "{alt:?}: {:?}", t.fit);
        }
        // A non-integer xmin is no first point of an integer support.
        let f = crate::powerlaw::fit(&x, &options(2.5)).unwrap();
        assert!(matches!(
            likelihood_ratio_test(&x, &f, Alternative::Exponential),
            Err(PowerLawError::InvalidArgument(_))
        ));
    }
}
