//! The semi-parametric bootstrap goodness-of-fit test of Clauset, Shalizi and Newman
//! (2009, section 4.1).
//!
//! The KS distance of a fit cannot be compared with the Kolmogorov distribution, because
//! `alpha` (and `xmin`) were fitted to the same data, which shrinks the distance. Instead
//! each replicate draws a synthetic data set of the same size `n`: with probability
//! `n_tail / n` a point comes from the fitted power law above `xmin`, otherwise it is drawn
//! uniformly (with replacement) from the observed values below `xmin`. The replicate is
//! then fitted exactly as the data were (the same [`FitOptions`]: a scan re-chooses
//! `xmin`, top-k takes the k largest again), and `p` is the fraction of replicates whose
//! KS distance is at least the observed one (`>=`, as in Clauset's `plpva`). Clauset et
//! al. reject the power law when `p <= 0.1`; `1/(4 eps^2)` replicates give `p` to within
//! `eps` (2500 for 0.01).
//!
//! Replicate `r` uses the generator `rng::stream(seed, r)`, so the result does not depend
//! on the number of threads.

use rayon::prelude::*;

use super::continuous;
use super::discrete;
use super::error::PowerLawError;
use super::fit::{fit_sorted, FitOptions, PowerLawFit};
use super::sample::{prepare, Support};
use crate::rng;

/// Bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapOptions {
    /// Synthetic data sets to draw (Clauset et al. suggest 2500 for `p` to +-0.01).
    pub replicates: usize,
    /// Seed of the per-replicate streams.
    pub seed: u64,
}

/// Replicates needed for `p` to be accurate to `eps`: `ceil(1/(4 eps^2))` (Clauset et al.
/// 2009, section 4.1, from the binomial variance at `p = 1/2`).
pub fn replicates_for_accuracy(eps: f64) -> usize {
    (0.25 / (eps * eps)).ceil() as usize
}

/// Result of the bootstrap test.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodnessOfFit {
    /// Fraction of successful replicates with KS distance `>=` the observed one.
    pub p_value: f64,
    /// The observed KS distance (package convention).
    pub observed_ks: f64,
    /// KS distance of each successful replicate, in replicate order.
    pub synthetic_ks: Vec<f64>,
    /// Replicates whose fit failed (for instance a synthetic set with too few distinct
    /// values to scan); excluded from `p`.
    pub failed: usize,
}

/// Draw one synthetic data set of `n` points (unsorted) for `fit`, with `body` the
/// observed values below `xmin`.
fn synthetic<R: rand::Rng + ?Sized>(
    rng: &mut R,
    fit: &PowerLawFit,
    body: &[f64],
    n: usize,
) -> Vec<f64> {
    let p_tail = fit.n_tail as f64 / fit.n_total as f64;
    (0..n)
        .map(|_| {
            let from_tail = body.is_empty() || rng.random::<f64>() < p_tail;
            if from_tail {
                match fit.options.support {
                    Support::Continuous => continuous::sample(rng, fit.xmin, fit.alpha),
                    Support::Discrete(_) => discrete::sample(rng, fit.xmin, fit.alpha),
                }
            } else {
                body[rng.random_range(0..body.len())]
            }
        })
        .collect()
}

/// The bootstrap p-value of `fit`, made from `data` (any order).
///
/// Errors: zero replicates, or data inconsistent with the fit.
pub fn goodness_of_fit(
    data: &[f64],
    fit: &PowerLawFit,
    options: &BootstrapOptions,
) -> Result<GoodnessOfFit, PowerLawError> {
    if options.replicates == 0 {
        return Err(PowerLawError::InvalidArgument(
            "the bootstrap needs at least one replicate".into(),
        ));
    }
    let sorted = prepare(data, fit.options.support)?;
    if sorted.len() != fit.n_total {
        return Err(PowerLawError::InvalidArgument(format!(
            "the data have {} points but the fit was made from {}",
            sorted.len(),
            fit.n_total
        )));
    }
    let body_end = sorted.partition_point(|&x| x < fit.xmin);
    let body = &sorted[..body_end];
    let fit_options: FitOptions = fit.options;
    let outcomes: Vec<Option<f64>> = (0..options.replicates)
        .into_par_iter()
        .map(|r| {
            let mut g = rng::stream(options.seed, r as u64);
            let mut x = synthetic(&mut g, fit, body, fit.n_total);
            x.sort_unstable_by(f64::total_cmp);
            fit_sorted(&x, &fit_options).ok().map(|f| f.ks_distance)
        })
        .collect();
    let synthetic_ks: Vec<f64> = outcomes.iter().flatten().copied().collect();
    let failed = outcomes.len() - synthetic_ks.len();
    let exceed = synthetic_ks
        .iter()
        .filter(|&&d| d >= fit.ks_distance)
        .count();
    let p_value = if synthetic_ks.is_empty() {
        f64::NAN
    } else {
        exceed as f64 / synthetic_ks.len() as f64
    };
    Ok(GoodnessOfFit {
        p_value,
        observed_ks: fit.ks_distance,
        synthetic_ks,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicate_count_rule() {
        // Clauset et al. 2009, sec. 4.1: 2500 replicates for accuracy 0.01.
        assert_eq!(replicates_for_accuracy(0.01), 2500);
    }

    #[test]
    fn synthetic_sets_mix_body_and_tail() {
        // Body 1..=50 (below xmin = 60), tail fraction 1/2: about half the draws are body
        // values, the rest lie at or above xmin.
        let fit = PowerLawFit {
            options: FitOptions::default(),
            xmin: 60.0,
            alpha: 2.5,
            n_tail: 50,
            n_total: 100,
            ks_distance: 0.0,
            log_likelihood: 0.0,
            scan: None,
        };
        let body: Vec<f64> = (1..=50).map(f64::from).collect();
        let mut g = rng::stream(1, 0);
        let x = synthetic(&mut g, &fit, &body, 10_000);
        let from_body = x.iter().filter(|&&v| v < 60.0).count();
        assert!((from_body as f64 / 1e4 - 0.5).abs() < 0.02);
        assert!(x
            .iter()
            .all(|&v| v >= 60.0 || (v.fract() == 0.0 && v <= 50.0)));
    }
}
