//! Spectra as the structure study tests them: the top-k power-law fit of covariance
//! eigenvalues, and eigengaps (Xie et al., appendix B.1 and Table 1 / Figure 1).

use super::error::PowerLawError;
use super::fit::{fit, FitOptions, PowerLawFit, XminRule};
use super::sample::Support;

/// Eigengaps `g_r = lambda_r - lambda_{r+1}` of a spectrum, with the eigenvalues in
/// descending order (`r = 1..m-1`, so `m - 1` gaps, indexed by the rank of the larger
/// eigenvalue). The input may be in any order; it is sorted descending first. The study
/// finds these gaps, like the eigenvalues, approximately power-law distributed (Table 1).
/// Gaps between repeated eigenvalues are zero; [`fit_spectrum_top_k`] drops them.
///
/// Errors: a NaN or infinite value; fewer than two values.
pub fn eigengaps(spectrum: &[f64]) -> Result<Vec<f64>, PowerLawError> {
    for (index, &value) in spectrum.iter().enumerate() {
        if !value.is_finite() {
            return Err(PowerLawError::NotFinite { index, value });
        }
    }
    if spectrum.len() < 2 {
        return Err(PowerLawError::InvalidArgument(format!(
            "eigengaps need at least 2 eigenvalues, got {}",
            spectrum.len()
        )));
    }
    let mut desc = spectrum.to_vec();
    desc.sort_unstable_by(|a, b| b.total_cmp(a));
    Ok(desc.windows(2).map(|w| w[0] - w[1]).collect())
}

/// A spectrum's top-k power-law fit with the study's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumFit {
    /// The continuous fit of the positive values with `xmin` = the k-th largest.
    pub fit: PowerLawFit,
    /// Non-positive values dropped before fitting (numerically zero or negative
    /// eigenvalues of a rank-deficient covariance, or zero eigengaps).
    pub dropped_nonpositive: usize,
    /// `d_c = 1.36 / sqrt(n_tail)`.
    pub critical_value: f64,
    /// The study's verdict: power law accepted when `d_ks < d_c`.
    pub power_law: bool,
}

/// Fit the `k` largest values of a spectrum (eigenvalues or eigengaps) as the study does:
/// continuous MLE with `xmin` the k-th largest value (eq. 2 of its appendix; `k = 1000`
/// there), KS distance in the `powerlaw` package's convention, and the verdict against
/// `1.36/sqrt(k)`.
///
/// Non-positive values are dropped first (they cannot belong to a power-law tail and
/// appear in every rank-deficient covariance). Errors: NaN/infinite values, fewer than
/// `k` positive values, `k < 2`.
pub fn fit_spectrum_top_k(spectrum: &[f64], k: usize) -> Result<SpectrumFit, PowerLawError> {
    for (index, &value) in spectrum.iter().enumerate() {
        if !value.is_finite() {
            return Err(PowerLawError::NotFinite { index, value });
        }
    }
    let positive: Vec<f64> = spectrum.iter().copied().filter(|&v| v > 0.0).collect();
    let dropped_nonpositive = spectrum.len() - positive.len();
    if k < 2 || k > positive.len() {
        return Err(PowerLawError::InvalidArgument(format!(
            "top-k needs 2 <= k <= {} (the positive values), got k = {k}",
            positive.len()
        )));
    }
    let f = fit(
        &positive,
        &FitOptions {
            support: Support::Continuous,
            xmin: XminRule::TopK(k),
        },
    )?;
    let critical_value = f.critical_value_study();
    Ok(SpectrumFit {
        power_law: f.ks_distance < critical_value,
        critical_value,
        fit: f,
        dropped_nonpositive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_of_a_small_spectrum() {
        let g = eigengaps(&[1.0, 4.0, 2.5, 0.5]).unwrap();
        assert_eq!(g, vec![1.5, 1.5, 0.5]);
        assert!(eigengaps(&[1.0]).is_err());
        assert!(eigengaps(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn zipf_spectrum_top_k() {
        // lambda_r = r^(-s) with s = 1/(alpha-1): a power-law density with alpha = 1 + 1/s.
        // For s = 0.8 the top-1000 fit recovers alpha = 2.25 to a few percent.
        let s = 0.8;
        let spec: Vec<f64> = (1..=5000)
            .map(|r| (r as f64).powf(-s))
            .chain([0.0, -1e-9])
            .collect();
        let f = fit_spectrum_top_k(&spec, 1000).unwrap();
        assert_eq!(f.dropped_nonpositive, 2);
        assert_eq!(f.fit.n_tail, 1000);
        assert!((f.fit.alpha - 2.25).abs() < 0.05, "alpha = {}", f.fit.alpha);
        assert!((f.fit.rank_exponent() - s).abs() < 0.05);
        assert!(f.power_law, "d_ks = {}", f.fit.ks_distance);
        assert!(fit_spectrum_top_k(&spec, 6000).is_err());
    }
}
