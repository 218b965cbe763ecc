//! D'Agostino's skewness test, Anscombe and Glynn's kurtosis test and the D'Agostino-
//! Pearson K^2 omnibus test, as scipy.stats `skewtest`, `kurtosistest` and `normaltest`.
//!
//! The structure study (Xie et al., "On the overlooked structure of stochastic
//! gradients", appendix B) tests gradient coordinates with scipy's `normaltest`, the
//! "chi-square" test: K^2 = Z_skew^2 + Z_kurt^2 is chi-square with 2 degrees of freedom
//! under normality. Both Z are normalising transformations of the biased moment ratios
//! sqrt(b1) = m3 / m2^(3/2) and b2 = m4 / m2^2 ([`Moments`]).
//!
//! One deliberate difference from scipy (1.17 and earlier): scipy replaces a skewness of
//! exactly 0 by 1 before the transformation (`y = where(y == 0, 1, y)`), so a perfectly
//! symmetric sample such as 1..200 gets Z_skew = 1.0126 instead of 0 and an inflated K^2.
//! We apply D'Agostino's transformation as published, which maps 0 to 0. Every sample
//! with a nonzero skewness agrees with scipy to rounding.

use super::error::NormalityError;
use super::moments::Moments;
use super::normal::two_sided_p;

/// The smallest sample D'Agostino's skewness transformation is defined for (scipy's
/// hard limit).
pub const SKEW_TEST_MIN_N: usize = 8;
/// The smallest sample Anscombe and Glynn's transformation is defined for.
pub const KURTOSIS_TEST_MIN_N: usize = 5;
/// Below this size scipy warns that the kurtosis test's normal approximation is poor;
/// we compute it, and callers who care should check n themselves.
pub const KURTOSIS_TEST_RELIABLE_N: usize = 20;

/// A statistic that is standard normal under the null hypothesis, with its two-sided
/// p-value 2 Q(|z|).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// The standard normal deviate; its sign is the direction of the departure.
    pub z: f64,
    /// The two-sided p-value.
    pub p: f64,
}

/// The D'Agostino-Pearson omnibus test and its two components.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DagostinoPearson {
    /// D'Agostino's skewness test.
    pub skew: ZTest,
    /// Anscombe and Glynn's kurtosis test.
    pub kurtosis: ZTest,
    /// K^2 = z_skew^2 + z_kurt^2, chi-square with 2 degrees of freedom under normality.
    pub k2: f64,
    /// P(chi2_2 > K^2) = exp(-K^2 / 2).
    pub p: f64,
}

/// D'Agostino's test that the population skewness is 0 (scipy.stats.skewtest).
///
/// With sqrt(b1) the biased sample skewness: Y = sqrt(b1) sqrt((n+1)(n+3) / (6(n-2))),
/// beta2 = 3(n^2 + 27n - 70)(n+1)(n+3) / ((n-2)(n+5)(n+7)(n+9)),
/// W^2 = sqrt(2(beta2 - 1)) - 1, delta = 1 / sqrt(ln W), alpha = sqrt(2 / (W^2 - 1)),
/// Z = delta asinh(Y / alpha) (R. B. D'Agostino, "Transformation to normality of the null
/// distribution of g1", Biometrika 57, 1970, 679-681; D'Agostino, Belanger and D'Agostino,
/// The American Statistician 44, 1990, 316-321, eq. 3). Requires n >= 8. Unitless.
pub fn skew_test(x: &[f64]) -> Result<ZTest, NormalityError> {
    require_n(x.len(), SKEW_TEST_MIN_N, "skewness test")?;
    skew_test_from_moments(&Moments::new(x)?)
}

/// [`skew_test`] from precomputed moments, so one pass over the data serves every test.
pub fn skew_test_from_moments(m: &Moments) -> Result<ZTest, NormalityError> {
    require_n(m.n, SKEW_TEST_MIN_N, "skewness test")?;
    let b1 = m.skewness()?;
    let n = m.n as f64;
    let y = b1 * ((n + 1.0) * (n + 3.0) / (6.0 * (n - 2.0))).sqrt();
    let beta2 = 3.0 * (n * n + 27.0 * n - 70.0) * (n + 1.0) * (n + 3.0)
        / ((n - 2.0) * (n + 5.0) * (n + 7.0) * (n + 9.0));
    let w2 = (2.0 * (beta2 - 1.0)).sqrt() - 1.0;
    let delta = 1.0 / (0.5 * w2.ln()).sqrt();
    let alpha = (2.0 / (w2 - 1.0)).sqrt();
    // asinh(t) = ln(t + sqrt(t^2 + 1)), the published form, without its cancellation
    // for t << 0.
    let z = delta * (y / alpha).asinh();
    Ok(ZTest {
        z,
        p: two_sided_p(z),
    })
}

/// Anscombe and Glynn's test that the population kurtosis is 3 (scipy.stats.kurtosistest).
///
/// With b2 the biased Pearson kurtosis: E = 3(n-1)/(n+1),
/// var = 24n(n-2)(n-3) / ((n+1)^2 (n+3)(n+5)), x = (b2 - E) / sqrt(var),
/// sqrt(beta1) = 6(n^2 - 5n + 2) / ((n+7)(n+9)) sqrt(6(n+3)(n+5) / (n(n-2)(n-3))),
/// A = 6 + (8 / sqrt(beta1)) (2 / sqrt(beta1) + sqrt(1 + 4 / beta1)),
/// Z = ((1 - 2/(9A)) - cbrt((1 - 2/A) / (1 + x sqrt(2/(A-4))))) / sqrt(2/(9A))
/// (F. J. Anscombe and W. J. Glynn, "Distribution of the kurtosis statistic b2 for normal
/// samples", Biometrika 70, 1983, 227-234, eqs. 1-5). Requires n >= 5; scipy warns below
/// n = 20 ([`KURTOSIS_TEST_RELIABLE_N`]), where the approximation is rough. Unitless.
pub fn kurtosis_test(x: &[f64]) -> Result<ZTest, NormalityError> {
    require_n(x.len(), KURTOSIS_TEST_MIN_N, "kurtosis test")?;
    kurtosis_test_from_moments(&Moments::new(x)?)
}

/// [`kurtosis_test`] from precomputed moments.
pub fn kurtosis_test_from_moments(m: &Moments) -> Result<ZTest, NormalityError> {
    require_n(m.n, KURTOSIS_TEST_MIN_N, "kurtosis test")?;
    let b2 = m.kurtosis()?;
    let n = m.n as f64;
    let expected = 3.0 * (n - 1.0) / (n + 1.0);
    let var_b2 = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) * (n + 1.0) * (n + 3.0) * (n + 5.0));
    let x = (b2 - expected) / var_b2.sqrt();
    let sqrt_beta1 = 6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0))
        * (6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))).sqrt();
    let a = 6.0
        + 8.0 / sqrt_beta1 * (2.0 / sqrt_beta1 + (1.0 + 4.0 / (sqrt_beta1 * sqrt_beta1)).sqrt());
    let term1 = 1.0 - 2.0 / (9.0 * a);
    let denom = 1.0 + x * (2.0 / (a - 4.0)).sqrt();
    if denom == 0.0 {
        return Err(NormalityError::KurtosisTestUndefined);
    }
    // cbrt keeps the sign of a negative denominator, as scipy's sign(d) |.|^(1/3) does.
    let term2 = ((1.0 - 2.0 / a) / denom).cbrt();
    let z = (term1 - term2) / (2.0 / (9.0 * a)).sqrt();
    Ok(ZTest {
        z,
        p: two_sided_p(z),
    })
}

/// The D'Agostino-Pearson omnibus test of normality (scipy.stats.normaltest).
///
/// K^2 = Z_skew^2 + Z_kurt^2 ([`skew_test`], [`kurtosis_test`]), referred to chi-square
/// with 2 degrees of freedom, whose survival function is exactly exp(-K^2 / 2)
/// (R. B. D'Agostino and E. S. Pearson, Biometrika 60, 1973, 613-622; D'Agostino 1971).
/// Requires n >= 8. Unitless.
pub fn dagostino_pearson(x: &[f64]) -> Result<DagostinoPearson, NormalityError> {
    require_n(x.len(), SKEW_TEST_MIN_N, "D'Agostino-Pearson test")?;
    dagostino_pearson_from_moments(&Moments::new(x)?)
}

/// [`dagostino_pearson`] from precomputed moments.
pub fn dagostino_pearson_from_moments(m: &Moments) -> Result<DagostinoPearson, NormalityError> {
    require_n(m.n, SKEW_TEST_MIN_N, "D'Agostino-Pearson test")?;
    let skew = skew_test_from_moments(m)?;
    let kurtosis = kurtosis_test_from_moments(m)?;
    let k2 = skew.z * skew.z + kurtosis.z * kurtosis.z;
    Ok(DagostinoPearson {
        skew,
        kurtosis,
        k2,
        p: (-0.5 * k2).exp(),
    })
}

fn require_n(n: usize, min: usize, test: &'static str) -> Result<(), NormalityError> {
    if n < min {
        Err(NormalityError::TooFewValues { test, n, min })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::dataset;
    use super::*;

    /// Relative difference, with an absolute floor for values at or near 0.
    fn off(a: f64, b: f64, floor: f64) -> f64 {
        (a - b).abs() / b.abs().max(floor)
    }

    /// scipy 1.17.1 skewtest / kurtosistest / normaltest (statistic, p), printed by
    /// scripts/reference/normality_reference.py, section "D'Agostino". primes10 is also
    /// the reference given in the gradscope brief.
    #[allow(clippy::type_complexity)]
    const SCIPY: [(&str, [f64; 6]); 10] = [
        (
            "primes10",
            [
                0.7169774652205027,
                0.47338800143151827,
                -0.5122942701282507,
                0.608445074800392,
                0.7765021048402542,
                0.6782420475809496,
            ],
        ),
        (
            "squares20",
            [
                1.3197325725817497,
                0.18692432083125787,
                -0.8792061017083268,
                0.37928953666460297,
                2.514697432414396,
                0.28440707165007806,
            ],
        ),
        (
            "ih8",
            [
                -0.13277139667580684,
                0.8943741761942671,
                0.12493986502115545,
                0.9005711579005359,
                0.03323821364674899,
                0.9835182286821372,
            ],
        ),
        (
            "ih11",
            [
                0.5153157721013526,
                0.606332379306697,
                -0.8958088644005645,
                0.3703548547226274,
                1.068023866515042,
                0.5862482564740619,
            ],
        ),
        (
            "ih12",
            [
                -0.4395020392620283,
                0.6602978047263139,
                -0.26183015108601027,
                0.7934523925324073,
                0.2617170705332044,
                0.8773418785476033,
            ],
        ),
        (
            "ih200",
            [
                0.2727985738412001,
                0.7850080559093621,
                -0.8745410061959981,
                0.38182369897103374,
                0.8392410334081014,
                0.6572962054236766,
            ],
        ),
        (
            "ratio200",
            [
                -17.625449296135297,
                1.5711554294184446e-69,
                10.96698513273131,
                5.507838273871507e-28,
                430.93122579218584,
                2.657500037506366e-94,
            ],
        ),
        (
            "product100",
            [
                5.256583149882349,
                1.4675643959334835e-07,
                2.8808422143047596,
                0.00396614135399014,
                35.930918275347395,
                1.5765227116572193e-08,
            ],
        ),
        (
            "ties50",
            [
                0.05149935541479441,
                0.9589276154760266,
                0.8498867414824978,
                0.39538805758850126,
                0.7249596569558774,
                0.6959483518745888,
            ],
        ),
        (
            "ih5000",
            [
                -0.37279714390543156,
                0.7092994287052875,
                -1.6086767868815353,
                0.10768703416726515,
                2.726818715155548,
                0.25578721857134323,
            ],
        ),
    ];

    #[test]
    fn matches_scipy() {
        for (name, r) in SCIPY {
            let t = dagostino_pearson(&dataset(name)).unwrap();
            let got = [t.skew.z, t.skew.p, t.kurtosis.z, t.kurtosis.p, t.k2, t.p];
            for (k, (g, e)) in got.iter().zip(r).enumerate() {
                // Statistics: 1e-12 relative; p-values: 1e-10 relative (measured: 3.8e-14
                // and 2.2e-12, the latter for p ~ 1e-69..1e-94 of ratio200). The floor
                // covers statistics near 0, where scipy's own rounding (ln(t + sqrt(t^2 +
                // 1)) for asinh, pow for cbrt) dominates.
                let (tol, floor) = if k % 2 == 0 {
                    (1e-12, 1e-2)
                } else {
                    (1e-10, 0.0)
                };
                let d = off(*g, e, floor);
                assert!(d <= tol, "{name} field {k}: {g} vs scipy {e} ({d:e})");
            }
        }
    }

    #[test]
    fn single_tests_agree_with_the_omnibus() {
        let x = dataset("primes10");
        let t = dagostino_pearson(&x).unwrap();
        assert_eq!(skew_test(&x).unwrap(), t.skew);
        assert_eq!(kurtosis_test(&x).unwrap(), t.kurtosis);
        // Brief's reference: skew z, kurtosis z, K^2 and p of scipy for the primes.
        assert!(off(t.skew.z, 0.7169774652205027, 0.0) < 1e-12);
        assert!(off(t.kurtosis.z, -0.5122942701282507, 0.0) < 1e-12);
        assert!(off(t.k2, 0.7765021048402542, 0.0) < 1e-12);
        assert!(off(t.p, 0.6782420475809496, 0.0) < 1e-10);
    }

    #[test]
    fn symmetric_sample_has_zero_skew_z_unlike_scipy() {
        // 1..200: skewness exactly 0. scipy 1.17.1 reports skew z = 1.0126225110030684 and
        // K^2 = 93.37783184830445 (its y == 0 -> 1 substitution); D'Agostino's transform
        // gives z = 0, p = 1, and K^2 = z_kurt^2 with scipy's z_kurt = -9.610017039449737.
        let t = dagostino_pearson(&dataset("seq200")).unwrap();
        assert_eq!((t.skew.z, t.skew.p), (0.0, 1.0));
        assert!(off(t.kurtosis.z, -9.610017039449737, 0.0) < 1e-12);
        assert!(off(t.kurtosis.p, 7.25369814286213e-22, 0.0) < 1e-10);
        let k2 = 93.37783184830445 - 1.0126225110030684f64.powi(2);
        assert!(off(t.k2, k2, 0.0) < 1e-12, "{} vs {k2}", t.k2);
    }

    #[test]
    fn sample_size_limits() {
        let x = dataset("ih8");
        assert!(skew_test(&x).is_ok());
        assert_eq!(
            skew_test(&x[..7]),
            Err(NormalityError::TooFewValues {
                test: "skewness test",
                n: 7,
                min: 8
            })
        );
        assert!(kurtosis_test(&x[..5]).is_ok());
        assert!(matches!(
            kurtosis_test(&x[..4]),
            Err(NormalityError::TooFewValues { n: 4, min: 5, .. })
        ));
        assert!(matches!(
            dagostino_pearson(&x[..7]),
            Err(NormalityError::TooFewValues { n: 7, min: 8, .. })
        ));
        assert_eq!(
            dagostino_pearson(&[3.0; 30]),
            Err(NormalityError::Constant { value: 3.0 })
        );
    }
}
