//! The sample a power law is fitted to: its support (real or integer values), the checks
//! every fit makes on it, and the tail `x >= xmin` of the sorted data. The fit
//! ([`super::fit`]), the xmin scan ([`super::xmin`]), the comparisons and the bootstrap
//! all start here; this module depends on none of them.

use super::discrete::DiscreteEstimator;
use super::error::PowerLawError;

/// Whether the data are real numbers or positive integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Support {
    /// Real values `x > 0` (eigenvalues, gradient magnitudes).
    #[default]
    Continuous,
    /// Positive integers (counts), with the exponent estimator to use.
    Discrete(DiscreteEstimator),
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
