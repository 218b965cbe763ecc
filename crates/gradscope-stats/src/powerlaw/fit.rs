//! Fitting a power law to the tail of a data set: options, the result, and the entry
//! point [`fit`].
//!
//! The tail is `x >= xmin`; `xmin` is chosen by one of three rules ([`XminRule`]): the
//! Kolmogorov-Smirnov scan of Clauset, Shalizi and Newman (2009, section 3.3) as the
//! `powerlaw` package runs it by default, a fixed value, or the structure study's top-k
//! rule (xmin = the k-th largest value, k = 1000 there).

use super::continuous;
use super::discrete;
use super::error::PowerLawError;
use super::ks;
use super::sample::{prepare, tail_of, Support};
use super::xmin::{self, ScanOptions, ScanReport};

/// How the lower cut-off `xmin` is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XminRule {
    /// Minimise the KS distance over candidate values (Clauset et al. 2009, sec. 3.3).
    Scan(ScanOptions),
    /// Use this value (data units); the tail is every point `>= xmin`.
    Fixed(f64),
    /// The structure study's rule: `xmin` is the k-th largest value, so the tail is the
    /// `k` largest points (more if values tie with the k-th).
    TopK(usize),
}

impl Default for XminRule {
    fn default() -> Self {
        XminRule::Scan(ScanOptions::default())
    }
}

/// Everything that determines a fit; kept in the result so that the bootstrap can refit
/// synthetic data the same way.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FitOptions {
    /// Continuous or discrete data.
    pub support: Support,
    /// How `xmin` is chosen.
    pub xmin: XminRule,
}

/// A fitted power-law tail.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLawFit {
    /// How the fit was made.
    pub options: FitOptions,
    /// Lower cut-off of the power-law tail (data units).
    pub xmin: f64,
    /// Exponent of `p(x) ~ x^(-alpha)` (dimensionless).
    pub alpha: f64,
    /// Points with `x >= xmin`.
    pub n_tail: usize,
    /// Points in the data set (all positive).
    pub n_total: usize,
    /// The KS distance in the package's convention ([`ks::ks_distance`]); the structure
    /// study's `d_ks`.
    pub ks_distance: f64,
    /// Log-likelihood of the tail under the fit (nats).
    pub log_likelihood: f64,
    /// Present when `xmin` came from a scan.
    pub scan: Option<ScanReport>,
}

impl PowerLawFit {
    /// Standard error `(alpha - 1)/sqrt(n_tail)`, what `powerlaw` 2.0.0 reports as
    /// `standard_err`/`sigma` (Clauset et al. 2009, eq. 3.2, leading order) for both
    /// supports. See [`continuous::standard_error_finite_n`] and
    /// [`discrete::fisher_standard_error`] for the finite-n and exact-discrete variants.
    pub fn sigma(&self) -> f64 {
        continuous::standard_error(self.alpha, self.n_tail)
    }

    /// The structure study's KS critical value `1.36/sqrt(n_tail)`.
    pub fn critical_value_study(&self) -> f64 {
        ks::critical_value_study(self.n_tail)
    }

    /// The study's decision: power-law hypothesis accepted when `d_ks < d_c`.
    pub fn passes_study_test(&self) -> bool {
        self.ks_distance < self.critical_value_study()
    }

    /// Exact finite-`n_tail` critical value of the KS statistic at `significance`
    /// ([`ks::critical_value_exact`]). It ignores that alpha was estimated from the same
    /// data (which makes the true critical value smaller; the bootstrap accounts for it).
    pub fn critical_value_exact(&self, significance: f64) -> f64 {
        ks::critical_value_exact(self.n_tail, significance)
    }

    /// Rank-plot exponent `s = 1/(alpha - 1)`: if the sorted values decay as
    /// `lambda_r ~ r^(-s)` (how spectra are usually described), their density decays as
    /// `lambda^-(1 + 1/s)`. This is our reading of the study's `s-hat` column (its values
    /// below 1 would otherwise be impossible for a normalisable density).
    pub fn rank_exponent(&self) -> f64 {
        1.0 / (self.alpha - 1.0)
    }
}

/// Fit a power law to the tail of `data` (any order; values must be finite and
/// positive, integers for discrete support).
///
/// Errors: empty input, a NaN/infinite/non-positive (or non-integer, when discrete)
/// value, fewer than two tail points, a degenerate tail, too few distinct values to scan,
/// `k` outside `2..=n` in top-k mode.
pub fn fit(data: &[f64], options: &FitOptions) -> Result<PowerLawFit, PowerLawError> {
    let sorted = prepare(data, options.support)?;
    fit_sorted(&sorted, options)
}

/// [`fit`] on data already validated and sorted ascending.
pub(crate) fn fit_sorted(
    sorted: &[f64],
    options: &FitOptions,
) -> Result<PowerLawFit, PowerLawError> {
    let n_total = sorted.len();
    let (xmin, scan) = match options.xmin {
        XminRule::Fixed(x) => {
            if !(x.is_finite() && x > 0.0) {
                return Err(PowerLawError::InvalidArgument(format!(
                    "xmin must be finite and positive, got {x}"
                )));
            }
            (x, None)
        }
        XminRule::TopK(k) => {
            if k < 2 || k > n_total {
                return Err(PowerLawError::InvalidArgument(format!(
                    "top-k needs 2 <= k <= n = {n_total}, got k = {k}"
                )));
            }
            (sorted[n_total - k], None)
        }
        XminRule::Scan(scan_options) => {
            let (x, report) = xmin::scan(sorted, options.support, &scan_options)?;
            (x, Some(report))
        }
    };
    let tail = tail_of(sorted, xmin);
    let (alpha, ks_distance, log_likelihood) = match options.support {
        Support::Continuous => {
            let alpha = continuous::alpha_mle(tail, xmin)?;
            let d = ks::ks_distance(tail, |u| continuous::cdf(u, xmin, alpha));
            (alpha, d, continuous::log_likelihood(tail, xmin, alpha))
        }
        Support::Discrete(estimator) => {
            let alpha = discrete::alpha(tail, xmin, estimator)?;
            let d = ks::ks_distance(tail, |u| discrete::cdf_below(u, xmin, alpha));
            (alpha, d, discrete::log_likelihood(tail, xmin, alpha))
        }
    };
    Ok(PowerLawFit {
        options: *options,
        xmin,
        alpha,
        n_tail: tail.len(),
        n_total,
        ks_distance,
        log_likelihood,
        scan,
    })
}

#[cfg(test)]
mod tests {
    //! The scan as the fit runs it: pruning, thread counts and validity rules.
    use super::*;
    use crate::powerlaw::xmin::scan_curve;
    use crate::rng;
    use rand::Rng as _;

    /// Log-normal body below 1 and a Pareto(alpha = 2.2) tail above: a realistic scan.
    fn body_and_tail(n: usize, seed: u64) -> Vec<f64> {
        let mut g = rng::seeded(seed);
        (0..n)
            .map(|_| {
                let u: f64 = g.random();
                if g.random::<f64>() < 0.4 {
                    (1.0 - u).powf(-1.0 / 1.2)
                } else {
                    (0.3 * (u - 0.5)).exp() * 0.6
                }
            })
            .collect()
    }

    #[test]
    fn pruned_scan_equals_exhaustive_scan_for_any_thread_count() {
        let x = body_and_tail(8000, 3);
        let curve = scan_curve(&x, Support::Continuous, &ScanOptions::default()).unwrap();
        let best = curve
            .iter()
            .filter(|p| p.valid)
            .min_by(|a, b| a.ks_distance.total_cmp(&b.ks_distance))
            .unwrap();
        let f = fit(&x, &FitOptions::default()).unwrap();
        assert_eq!(f.xmin, best.xmin);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let g = pool.install(|| fit(&x, &FitOptions::default()).unwrap());
            assert_eq!(g, f);
        }
        assert!((f.alpha - 2.2).abs() < 0.1, "alpha {}", f.alpha);
    }

    #[test]
    fn steep_tails_need_a_larger_alpha_max() {
        // A Pareto tail with alpha = 5: every candidate exceeds the package's default range
        // (alpha < 3), so no fit is valid and the flag says so; alpha_max = inf accepts it.
        let mut g = rng::seeded(11);
        let x: Vec<f64> = (0..3000)
            .map(|_| (1.0 - g.random::<f64>()).powf(-0.25))
            .collect();
        let f = fit(&x, &FitOptions::default()).unwrap();
        assert!(f.scan.unwrap().none_valid);
        let open = FitOptions {
            support: Support::Continuous,
            xmin: XminRule::Scan(ScanOptions {
                alpha_max: f64::INFINITY,
                sigma_threshold: None,
            }),
        };
        let f = fit(&x, &open).unwrap();
        let scan = f.scan.unwrap();
        assert!(!scan.none_valid && scan.valid == scan.candidates);
        assert!((f.alpha - 5.0).abs() < 0.3, "alpha {}", f.alpha);
    }

    #[test]
    fn sigma_threshold_removes_small_tails() {
        let x = body_and_tail(5000, 8);
        let opts = ScanOptions {
            alpha_max: 3.0,
            sigma_threshold: Some(0.05),
        };
        let curve = scan_curve(&x, Support::Continuous, &opts).unwrap();
        for p in &curve {
            if p.valid {
                assert!((p.alpha - 1.0) / (p.n_tail as f64).sqrt() < 0.05);
            }
        }
        let f = fit(
            &x,
            &FitOptions {
                support: Support::Continuous,
                xmin: XminRule::Scan(opts),
            },
        )
        .unwrap();
        assert!(f.sigma() < 0.05);
    }
}
