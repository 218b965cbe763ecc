//! The Kolmogorov-Smirnov scan for the lower cut-off `xmin` (Clauset, Shalizi and Newman
//! 2009, section 3.3), matching the candidate set and validity rule of `powerlaw` 2.0.0.
//!
//! The package refits a distribution object per candidate (`O(n)` numpy work plus
//! Python overhead each). Here the data are sorted once; each candidate's exponent comes
//! in `O(1)` from compensated suffix sums of `ln x`, and its KS distance in `O(tail)` from
//! precomputed `ln u` of the distinct values, with candidates spread over rayon threads.
//! A candidate whose running maximum already exceeds the best complete distance found so
//! far cannot win and is abandoned; the best is seeded by a strided pass. The winner is
//! unaffected by the pruning or the thread count: a candidate is only abandoned when its
//! distance is provably larger than the final minimum, and ties go to the smallest xmin.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::discrete;
use super::error::PowerLawError;
use super::hurwitz_zeta::hurwitz_zeta;
use super::sample::{prepare, Support};
use crate::summation::Neumaier;

/// Options of the KS scan over candidate `xmin` values.
///
/// Candidates are the distinct data values except the two largest, as in `powerlaw`
/// 2.0.0 (`Fit.find_xmin`: values `< max`, then the last one dropped), so every
/// candidate's tail keeps at least three points. There is no early stopping rule: every
/// candidate is considered, and among those whose fit is *valid* the smallest KS distance
/// wins (ties: the smallest `xmin`, numpy's `argmin`). The package's validity rule is its
/// default parameter range for the exponent, `0 < alpha < 3` (strict), plus an optional
/// bound on the standard error; a candidate with `alpha >= 3` is never chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanOptions {
    /// Candidates with `alpha >= alpha_max` are invalid. Default 3.0, the package's
    /// `Power_Law.DEFAULT_PARAMETER_RANGES`; raise it (e.g. `f64::INFINITY`) for spectra
    /// whose tails are steeper than `x^-3`, which the package cannot fit by default.
    pub alpha_max: f64,
    /// Candidates whose `(alpha - 1)/sqrt(n_tail)` is not below this are invalid (the
    /// package's `sigma_threshold`, off by default).
    pub sigma_threshold: Option<f64>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            alpha_max: 3.0,
            sigma_threshold: None,
        }
    }
}

/// Summary of a KS scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanReport {
    /// Candidate xmin values considered (distinct values minus the two largest).
    pub candidates: usize,
    /// Candidates whose fit was valid (see [`ScanOptions`]).
    pub valid: usize,
    /// True when no candidate was valid; `xmin` then minimises the KS distance over all
    /// candidates, with their unbounded alphas. The `powerlaw` package (2.0) sets
    /// `noise_flag` there and reports fits held at its range's bound instead: on 3,000
    /// Pareto values of alpha 5 it gives alpha 3.0 at xmin 4.09, where this gives 5.16.
    pub none_valid: bool,
}

/// One candidate of the scan, as [`scan_curve`] reports it (the package's
/// `xmin_fitting_results`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanPoint {
    /// Candidate cut-off (data units).
    pub xmin: f64,
    /// Exponent fitted to `x >= xmin`.
    pub alpha: f64,
    /// Tail size.
    pub n_tail: usize,
    /// KS distance (package convention).
    pub ks_distance: f64,
    /// Whether the fit is valid under the [`ScanOptions`].
    pub valid: bool,
}

/// Distinct values with their first positions and compensated suffix sums of `ln x`.
struct Distinct {
    values: Vec<f64>,
    ln_values: Vec<f64>,
    first: Vec<usize>,
    /// `sum_{i >= first[j]} ln x_i`, compensated (one rounding at the end).
    suffix_ln: Vec<f64>,
    n_total: usize,
}

impl Distinct {
    fn new(sorted: &[f64]) -> Distinct {
        let mut values = Vec::new();
        let mut first = Vec::new();
        for (i, &x) in sorted.iter().enumerate() {
            if values.last() != Some(&x) {
                values.push(x);
                first.push(i);
            }
        }
        let ln_values: Vec<f64> = values.iter().map(|x| x.ln()).collect();
        let u = values.len();
        let mut suffix_ln = vec![0.0; u];
        let mut acc = Neumaier::default();
        for j in (0..u).rev() {
            let end = if j + 1 < u {
                first[j + 1]
            } else {
                sorted.len()
            };
            acc.add((end - first[j]) as f64 * ln_values[j]);
            suffix_ln[j] = acc.value();
        }
        Distinct {
            values,
            ln_values,
            first,
            suffix_ln,
            n_total: sorted.len(),
        }
    }

    fn n_tail(&self, j: usize) -> usize {
        self.n_total - self.first[j]
    }

    /// `sum over the tail of candidate j of ln x`.
    fn sum_ln(&self, j: usize) -> f64 {
        self.suffix_ln[j]
    }
}

/// Exponent of candidate `j` from the suffix sums (NaN if the tail is degenerate).
fn candidate_alpha(d: &Distinct, j: usize, support: Support) -> f64 {
    let n = d.n_tail(j);
    let sum_ln = d.sum_ln(j);
    match support {
        Support::Continuous => {
            let s = sum_ln - n as f64 * d.ln_values[j];
            if s > 0.0 {
                1.0 + n as f64 / s
            } else {
                f64::NAN
            }
        }
        Support::Discrete(estimator) => {
            let xmin = d.values[j];
            let shift = sum_ln - n as f64 * (xmin - 0.5).ln();
            discrete::alpha_from_sums(n, sum_ln, shift, xmin, estimator).unwrap_or(f64::NAN)
        }
    }
}

/// Stride of the pruning pre-pass over a candidate's tail.
const COARSE_STRIDE: usize = 32;

/// KS distance of candidate `j` at exponent `alpha`, or `None` once it provably exceeds
/// the best complete distance in `best` (re-read as the scan proceeds).
fn candidate_ks(
    d: &Distinct,
    j: usize,
    alpha: f64,
    support: Support,
    best: Option<&AtomicU64>,
) -> Option<f64> {
    match support {
        Support::Continuous => {
            let c = 1.0 - alpha;
            let ln_xmin = d.ln_values[j];
            max_deviation(d, j, best, |k| 1.0 - (c * (d.ln_values[k] - ln_xmin)).exp())
        }
        Support::Discrete(_) => {
            let z_min = hurwitz_zeta(alpha, d.values[j]);
            max_deviation(d, j, best, |k| {
                if k == j {
                    0.0
                } else {
                    1.0 - hurwitz_zeta(alpha, d.values[k]) / z_min
                }
            })
        }
    }
}

/// `max_k |model(k) - S_k|` over the distinct tail values of candidate `j`, with
/// `S_k` the fraction of tail points strictly below value `k`.
///
/// Pruning: with a shared bound, a pre-pass over every 32nd value finds most losing
/// candidates at a 32nd of the cost (any single deviation above the bound proves the
/// candidate loses); survivors get the full pass, which also stops early once the
/// remaining values cannot raise the maximum (both CDFs lie in `[min(P, S), 1]` from
/// there on).
fn max_deviation<F: Fn(usize) -> f64>(
    d: &Distinct,
    j: usize,
    best: Option<&AtomicU64>,
    model: F,
) -> Option<f64> {
    let u = d.values.len();
    let fj = d.first[j];
    let inv_n = 1.0 / d.n_tail(j) as f64;
    let read = || best.map_or(f64::INFINITY, |a| f64::from_bits(a.load(Ordering::Relaxed)));
    let mut bound = read();
    if best.is_some() && u - j > 8 * COARSE_STRIDE {
        for k in (j..u).step_by(COARSE_STRIDE) {
            let s = (d.first[k] - fj) as f64 * inv_n;
            if (model(k) - s).abs() > bound {
                bound = read();
                if (model(k) - s).abs() > bound {
                    return None;
                }
            }
        }
    }
    let mut dist = 0.0f64;
    for k in j..u {
        let s = (d.first[k] - fj) as f64 * inv_n;
        let p = model(k);
        let diff = (p - s).abs();
        if diff > dist {
            dist = diff;
            if dist > bound {
                bound = read();
                if dist > bound {
                    return None;
                }
            }
        }
        if 1.0 - p.min(s) <= dist {
            break;
        }
    }
    Some(dist)
}

/// Lower `best` to `value` if smaller (non-negative floats order like their bit patterns).
fn lower(best: &AtomicU64, value: f64) {
    best.fetch_min(value.to_bits(), Ordering::Relaxed);
}

/// Choose `xmin` for ascending, validated data. Returns the winner and a summary.
pub(crate) fn scan(
    sorted: &[f64],
    support: Support,
    options: &ScanOptions,
) -> Result<(f64, ScanReport), PowerLawError> {
    let d = Distinct::new(sorted);
    let u = d.values.len();
    if u < 4 {
        return Err(PowerLawError::TooFewCandidates { unique: u });
    }
    let candidates = u - 2;
    let alphas: Vec<f64> = (0..candidates)
        .into_par_iter()
        .map(|j| candidate_alpha(&d, j, support))
        .collect();
    let is_valid = |j: usize| {
        let a = alphas[j];
        let n = d.n_tail(j);
        a.is_finite()
            && a < options.alpha_max
            && options
                .sigma_threshold
                .is_none_or(|t| (a - 1.0) / (n as f64).sqrt() < t)
    };
    let valid: Vec<usize> = (0..candidates).filter(|&j| is_valid(j)).collect();
    let none_valid = valid.is_empty();
    let pool: Vec<usize> = if none_valid {
        (0..candidates).filter(|&j| alphas[j].is_finite()).collect()
    } else {
        valid.clone()
    };
    if pool.is_empty() {
        return Err(PowerLawError::DegenerateTail {
            xmin: d.values[0],
            n_tail: d.n_total,
        });
    }
    let best = AtomicU64::new(f64::INFINITY.to_bits());
    // Seed the bound with a strided subset, evaluated completely.
    let stride = (pool.len() / 64).max(1);
    let seeds: Vec<usize> = pool.iter().copied().step_by(stride).collect();
    let mut results: Vec<(usize, f64)> = seeds
        .par_iter()
        .filter_map(|&j| {
            let dist = candidate_ks(&d, j, alphas[j], support, None)?;
            lower(&best, dist);
            Some((j, dist))
        })
        .collect();
    let rest: Vec<(usize, f64)> = pool
        .par_iter()
        .enumerate()
        .filter(|(i, _)| i % stride != 0)
        .filter_map(|(_, &j)| {
            let dist = candidate_ks(&d, j, alphas[j], support, Some(&best))?;
            lower(&best, dist);
            Some((j, dist))
        })
        .collect();
    results.extend(rest);
    let (j_best, _) = results
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .expect("pool is not empty");
    Ok((
        d.values[j_best],
        ScanReport {
            candidates,
            valid: valid.len(),
            none_valid,
        },
    ))
}

/// The whole scan, every candidate evaluated (no pruning): exponent, tail size, KS
/// distance and validity per candidate xmin, in ascending xmin. For plots of the KS
/// distance against xmin (Clauset et al. 2009, Fig. 3.3-style diagnostics).
pub fn scan_curve(
    data: &[f64],
    support: Support,
    options: &ScanOptions,
) -> Result<Vec<ScanPoint>, PowerLawError> {
    let sorted = prepare(data, support)?;
    let d = Distinct::new(&sorted);
    let u = d.values.len();
    if u < 4 {
        return Err(PowerLawError::TooFewCandidates { unique: u });
    }
    Ok((0..u - 2)
        .into_par_iter()
        .map(|j| {
            let alpha = candidate_alpha(&d, j, support);
            let n_tail = d.n_tail(j);
            let ks_distance = if alpha.is_finite() {
                candidate_ks(&d, j, alpha, support, None).unwrap_or(f64::NAN)
            } else {
                f64::NAN
            };
            let valid = alpha.is_finite()
                && alpha < options.alpha_max
                && options
                    .sigma_threshold
                    .is_none_or(|t| (alpha - 1.0) / (n_tail as f64).sqrt() < t);
            ScanPoint {
                xmin: d.values[j],
                alpha,
                n_tail,
                ks_distance,
                valid,
            }
        })
        .collect())
}
