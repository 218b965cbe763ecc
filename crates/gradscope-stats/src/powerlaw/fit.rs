//! Fitting a power law to the tail of a data set: options, the result, and the entry
//! point [`fit`].
//!
//! The tail is `x >= xmin`; `xmin` is chosen by one of three rules ([`XminRule`]): the
//! Kolmogorov-Smirnov scan of Clauset, Shalizi and Newman (2009, section 3.3) as the
//! `powerlaw` package runs it by default, a fixed value, or the structure study's top-k
//! rule (xmin = the k-th largest value, k = 1000 there).

use super::continuous;
use super::discrete::{self, DiscreteEstimator};
use super::error::PowerLawError;
use super::ks;
use super::xmin;

/// Whether the data are real numbers or positive integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Support {
    /// Real values `x > 0` (eigenvalues, gradient magnitudes).
    #[default]
    Continuous,
    /// Positive integers (counts), with the exponent estimator to use.
    Discrete(DiscreteEstimator),
}

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

/// Summary of a KS scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanReport {
    /// Candidate xmin values considered (distinct values minus the two largest).
    pub candidates: usize,
    /// Candidates whose fit was valid (see [`ScanOptions`]).
    pub valid: usize,
    /// True when no candidate was valid; `xmin` then minimises the KS distance over all
    /// candidates (the package does the same and sets `noise_flag`).
    pub none_valid: bool,
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

/// Check the data and return them sorted ascending. Every value must be finite and
/// positive, and an integer for discrete support.
pub(crate) fn prepare(data: &[f64], support: Support) -> Result<Vec<f64>, PowerLawError> {
    if data.is_empty() {
        return Err(PowerLawError::Empty);
    }
    for (index, &value) in data.iter().enumerate() {
        if !value.is_finite() {
            return Err(PowerLawError::NotFinite { index, value });
        }
        if value <= 0.0 {
            return Err(PowerLawError::NotPositive { index, value });
        }
        if matches!(support, Support::Discrete(_)) && value.fract() != 0.0 {
            return Err(PowerLawError::NotInteger { index, value });
        }
    }
    let mut sorted = data.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    Ok(sorted)
}

/// The tail `x >= xmin` of ascending data.
pub(crate) fn tail_of(sorted: &[f64], xmin: f64) -> &[f64] {
    let start = sorted.partition_point(|&x| x < xmin);
    &sorted[start..]
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
