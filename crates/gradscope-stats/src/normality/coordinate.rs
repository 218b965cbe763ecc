//! Every normality statistic of one gradient coordinate in one call.
//!
//! The normtest tool holds, for each coordinate of a layer, its n samples (one per
//! minibatch) and wants the Shapiro-Wilk test (Wu et al.), the D'Agostino-Pearson test
//! (Xie et al.), the Berry-Esseen moments (Wu et al.) and the tail index (Simsekli et al.).
//! [`CoordinateTests`] fixes n and the selection once, precomputing what depends only on
//! n, and is shared by reference across threads; each thread owns a [`Workspace`], so a
//! coordinate costs one copy, one sort and a few passes, and no allocation:
//!
//! ```
//! use gradscope_stats::normality::{CoordinateTests, TestSelection};
//! use rayon::prelude::*;
//!
//! let n = 200;
//! let columns: Vec<Vec<f32>> = (0..64)
//!     .map(|c| (0..n).map(|i| ((i * 7 + c) % 13) as f32 - 6.0).collect())
//!     .collect();
//! let tests = CoordinateTests::new(n, TestSelection::ALL).unwrap();
//! let reports: Vec<_> = columns
//!     .par_iter()
//!     .map_init(|| tests.workspace(), |ws, col| tests.run_f32(col, ws))
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! let gaussian = reports.iter().filter(|r| r.is_gaussian(0.05) == Some(true)).count();
//! assert!(gaussian <= reports.len());
//! ```

use super::dagostino::{dagostino_pearson_from_moments, SKEW_TEST_MIN_N};
use super::error::NormalityError;
use super::moments::{Moments, MOMENTS_MIN_N};
use super::shapiro_wilk::ShapiroWilkCoefficients;
use super::tail_index::{default_block_length, tail_index_with_block};

/// Which statistics [`CoordinateTests`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestSelection {
    /// Shapiro-Wilk W and p (AS R94); needs 3 <= n <= 5000.
    pub shapiro_wilk: bool,
    /// D'Agostino skewness, Anscombe-Glynn kurtosis and K^2 tests; needs n >= 8.
    pub dagostino: bool,
    /// Skewness, excess kurtosis, beta / sigma^3 and its bound.
    pub moments: bool,
    /// The Mohammadi-Mohammadpour-Ogata tail index.
    pub tail_index: bool,
    /// Block length of the tail index; None for the largest divisor of n not above
    /// sqrt(n).
    pub tail_block: Option<usize>,
}

impl TestSelection {
    /// Everything, with the default tail-index block length.
    pub const ALL: Self = Self {
        shapiro_wilk: true,
        dagostino: true,
        moments: true,
        tail_index: true,
        tail_block: None,
    };
    /// Nothing but the always-present mean and variance; switch fields on from here.
    pub const NONE: Self = Self {
        shapiro_wilk: false,
        dagostino: false,
        moments: false,
        tail_index: false,
        tail_block: None,
    };
}

impl Default for TestSelection {
    fn default() -> Self {
        Self::ALL
    }
}

/// The statistics of one coordinate. A field is None when its test was not selected or
/// is undefined for this sample (a constant coordinate; spread below floating-point
/// resolution for the moment tests; a zero value or block sum for the tail index; the
/// kurtosis transform's division by zero).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoordinateReport {
    /// The sample size.
    pub n: usize,
    /// Every value equal: no test ran, and the coordinate is neither Gaussian nor not.
    pub constant: bool,
    /// The sample mean (units of the data).
    pub mean: f64,
    /// The unbiased sample variance (units squared); 0 for a constant coordinate.
    pub variance: f64,
    /// Biased skewness g1 = m3 / m2^(3/2).
    pub skewness: Option<f64>,
    /// Biased excess kurtosis g2 = m4 / m2^2 - 3.
    pub excess_kurtosis: Option<f64>,
    /// Shapiro-Wilk W.
    pub shapiro_w: Option<f64>,
    /// Shapiro-Wilk p-value.
    pub shapiro_p: Option<f64>,
    /// D'Agostino skewness z.
    pub skew_z: Option<f64>,
    /// Its two-sided p-value.
    pub skew_p: Option<f64>,
    /// Anscombe-Glynn kurtosis z.
    pub kurt_z: Option<f64>,
    /// Its two-sided p-value.
    pub kurt_p: Option<f64>,
    /// D'Agostino-Pearson K^2.
    pub k2: Option<f64>,
    /// Its chi-square(2) p-value.
    pub k2_p: Option<f64>,
    /// beta / sigma^3 = E|X - mu|^3 / sigma^3 (population moments).
    pub beta_sigma3: Option<f64>,
    /// Wu et al.'s bound sqrt(var(z^2) + 1) on beta / sigma^3.
    pub beta_sigma3_bound: Option<f64>,
    /// Tail index alpha (unclipped) of the samples centred at their mean.
    pub tail_index: Option<f64>,
}

impl CoordinateReport {
    /// Whether Shapiro-Wilk accepts normality at level `alpha` (p > alpha), the count
    /// behind Wu et al.'s "percentage of Gaussian coordinates". None for a constant
    /// coordinate or without a Shapiro-Wilk result, so that dead coordinates (a point
    /// mass, which scipy reports as p = 1) are counted apart rather than as Gaussian.
    pub fn is_gaussian(&self, alpha: f64) -> Option<bool> {
        self.shapiro_p.map(|p| p > alpha)
    }
}

/// Per-thread scratch space for [`CoordinateTests::run`].
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    values: Vec<f64>,
    sorted: Vec<f64>,
}

/// The plan for testing many coordinates with n samples each.
#[derive(Debug, Clone)]
pub struct CoordinateTests {
    n: usize,
    selection: TestSelection,
    shapiro: Option<ShapiroWilkCoefficients>,
    tail_block: Option<usize>,
}

impl CoordinateTests {
    /// Checks that every selected statistic is defined for samples of n and precomputes
    /// what depends only on n (the Shapiro-Wilk coefficients, the tail block length), so
    /// that an impossible request fails once, up front, instead of once per coordinate.
    pub fn new(n: usize, selection: TestSelection) -> Result<Self, NormalityError> {
        if n < MOMENTS_MIN_N {
            return Err(NormalityError::TooFewValues {
                test: "coordinate moments",
                n,
                min: MOMENTS_MIN_N,
            });
        }
        let shapiro = if selection.shapiro_wilk {
            Some(ShapiroWilkCoefficients::new(n)?)
        } else {
            None
        };
        if selection.dagostino && n < SKEW_TEST_MIN_N {
            return Err(NormalityError::TooFewValues {
                test: "D'Agostino-Pearson test",
                n,
                min: SKEW_TEST_MIN_N,
            });
        }
        let tail_block = if selection.tail_index {
            let block = match selection.tail_block {
                Some(b) if b < 2 || b > n => {
                    return Err(NormalityError::InvalidBlockLength { block: b, n })
                }
                Some(b) => b,
                None => default_block_length(n).ok_or(NormalityError::NoBlockLength { n })?,
            };
            Some(block)
        } else {
            None
        };
        Ok(Self {
            n,
            selection,
            shapiro,
            tail_block,
        })
    }

    /// The sample size every coordinate must have.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The selection this plan runs.
    pub fn selection(&self) -> TestSelection {
        self.selection
    }

    /// A workspace sized for this plan.
    pub fn workspace(&self) -> Workspace {
        Workspace {
            values: Vec::with_capacity(self.n),
            sorted: Vec::with_capacity(self.n),
        }
    }

    /// All selected statistics of one coordinate's samples, in sampling order (the tail
    /// index sums consecutive samples). Errors only for a wrong length or a non-finite
    /// value; a constant coordinate is a report with `constant` set.
    pub fn run(&self, x: &[f64], ws: &mut Workspace) -> Result<CoordinateReport, NormalityError> {
        if x.len() != self.n {
            return Err(NormalityError::LengthMismatch {
                expected: self.n,
                got: x.len(),
            });
        }
        let moments = Moments::new(x)?;
        let mut report = CoordinateReport {
            n: self.n,
            constant: moments.is_constant(),
            mean: moments.mean,
            variance: moments.sample_variance(),
            ..CoordinateReport::default()
        };
        if report.constant {
            return Ok(report);
        }
        if self.selection.moments {
            report.skewness = moments.skewness().ok();
            report.excess_kurtosis = moments.excess_kurtosis().ok();
            report.beta_sigma3 = moments.beta_over_sigma3().ok();
            report.beta_sigma3_bound = moments.berry_esseen_bound().ok();
        }
        if self.selection.dagostino {
            if let Ok(t) = dagostino_pearson_from_moments(&moments) {
                report.skew_z = Some(t.skew.z);
                report.skew_p = Some(t.skew.p);
                report.kurt_z = Some(t.kurtosis.z);
                report.kurt_p = Some(t.kurtosis.p);
                report.k2 = Some(t.k2);
                report.k2_p = Some(t.p);
            }
        }
        if let Some(block) = self.tail_block {
            // Centred at the sample mean first. The estimator describes zero-centred
            // (symmetric alpha-stable) values, and gradient noise is a minibatch gradient
            // minus the full gradient, which the mean of the n minibatch gradients
            // estimates (Simsekli et al. estimate alpha of that noise). Uncentred, a mean
            // mu adds m mu to every block sum and drives alpha_hat towards 1 whatever the
            // noise: Gaussian coordinates with a mean of 10 standard deviations read as
            // alpha = 1.03.
            ws.sorted.clear();
            ws.sorted.extend(x.iter().map(|v| v - moments.mean));
            report.tail_index = tail_index_with_block(&ws.sorted, block)
                .ok()
                .map(|t| t.alpha);
        }
        if let Some(coefficients) = &self.shapiro {
            ws.sorted.clear();
            ws.sorted.extend_from_slice(x);
            let r = coefficients.test_in_place(&mut ws.sorted)?;
            report.shapiro_w = Some(r.w);
            report.shapiro_p = Some(r.p);
        }
        Ok(report)
    }

    /// [`run`](Self::run) for f32 storage (the gradient matrix's), widened to f64 first.
    pub fn run_f32(
        &self,
        x: &[f32],
        ws: &mut Workspace,
    ) -> Result<CoordinateReport, NormalityError> {
        let mut values = std::mem::take(&mut ws.values);
        values.clear();
        values.extend(x.iter().map(|&v| f64::from(v)));
        let result = self.run(&values, ws);
        ws.values = values;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::super::dagostino::dagostino_pearson;
    use super::super::shapiro_wilk::shapiro_wilk;
    use super::super::tail_index::tail_index;
    use super::super::test_data::dataset;
    use super::*;
    use rand::Rng as _;
    use rand_distr::{StandardNormal, StudentT};

    #[test]
    fn report_equals_the_individual_functions() {
        let x = dataset("ih200");
        let tests = CoordinateTests::new(200, TestSelection::ALL).unwrap();
        let r = tests.run(&x, &mut tests.workspace()).unwrap();
        let sw = shapiro_wilk(&x).unwrap();
        let dp = dagostino_pearson(&x).unwrap();
        let m = Moments::new(&x).unwrap();
        assert!(!r.constant);
        assert_eq!((r.shapiro_w, r.shapiro_p), (Some(sw.w), Some(sw.p)));
        assert_eq!(
            (r.skew_z, r.kurt_z, r.k2, r.k2_p),
            (
                Some(dp.skew.z),
                Some(dp.kurtosis.z),
                Some(dp.k2),
                Some(dp.p)
            )
        );
        assert_eq!(r.beta_sigma3, m.beta_over_sigma3().ok());
        assert_eq!(r.beta_sigma3_bound, m.berry_esseen_bound().ok());
        assert_eq!(r.skewness, m.skewness().ok());
        let centred: Vec<f64> = x.iter().map(|v| v - m.mean).collect();
        assert_eq!(r.tail_index, Some(tail_index(&centred).unwrap().alpha));
        assert_eq!((r.mean, r.variance), (m.mean, m.sample_variance()));
        assert_eq!(r.is_gaussian(0.05), Some(true)); // W = 0.9966, p = 0.94
    }

    #[test]
    fn constant_coordinates_are_flagged_not_gaussian() {
        let tests = CoordinateTests::new(200, TestSelection::ALL).unwrap();
        let mut ws = tests.workspace();
        let r = tests.run_f32(&[0.0f32; 200], &mut ws).unwrap();
        assert!(r.constant);
        assert_eq!((r.mean, r.variance), (0.0, 0.0));
        assert_eq!(r.is_gaussian(0.05), None);
        assert_eq!(
            (r.shapiro_p, r.k2, r.tail_index, r.beta_sigma3),
            (None, None, None, None)
        );
    }

    #[test]
    fn f32_input_and_workspace_reuse() {
        let x = dataset("product100");
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let widened: Vec<f64> = x32.iter().map(|&v| f64::from(v)).collect();
        let tests = CoordinateTests::new(100, TestSelection::ALL).unwrap();
        let mut ws = tests.workspace();
        let a = tests.run_f32(&x32, &mut ws).unwrap();
        let _ = tests.run(&dataset("ih200")[..100], &mut ws).unwrap();
        let b = tests.run(&widened, &mut ws).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.is_gaussian(0.05), Some(false)); // p = 2.6e-10 in f64
    }

    #[test]
    fn selection_and_validation() {
        let only_sw = TestSelection {
            shapiro_wilk: true,
            ..TestSelection::NONE
        };
        let tests = CoordinateTests::new(6, only_sw).unwrap();
        let r = tests.run(&dataset("ih6"), &mut tests.workspace()).unwrap();
        assert!(r.shapiro_w.is_some() && r.k2.is_none() && r.skewness.is_none());
        assert!(r.tail_index.is_none());
        assert!(matches!(
            CoordinateTests::new(6, TestSelection::ALL),
            Err(NormalityError::TooFewValues { n: 6, min: 8, .. })
        ));
        assert!(matches!(
            CoordinateTests::new(6000, TestSelection::ALL),
            Err(NormalityError::TooManyValues { .. })
        ));
        let prime = TestSelection {
            tail_index: true,
            ..TestSelection::NONE
        };
        assert_eq!(
            CoordinateTests::new(13, prime).unwrap_err(),
            NormalityError::NoBlockLength { n: 13 }
        );
        let explicit = TestSelection {
            tail_block: Some(4),
            ..prime
        };
        assert!(CoordinateTests::new(13, explicit).is_ok());
        assert_eq!(
            tests.run(&[1.0; 5], &mut tests.workspace()),
            Err(NormalityError::LengthMismatch {
                expected: 6,
                got: 5
            })
        );
        let mut bad = dataset("ih6");
        bad[2] = f64::NAN;
        assert_eq!(
            tests.run(&bad, &mut tests.workspace()),
            Err(NormalityError::NonFinite)
        );
    }

    /// Rejection rates at alpha = 0.05 over `reps` seeded samples of n.
    fn rejection_rates(reps: usize, n: usize, mut draw: impl FnMut() -> f64) -> (f64, f64) {
        let tests = CoordinateTests::new(n, TestSelection::ALL).unwrap();
        let mut ws = tests.workspace();
        let (mut sw, mut k2) = (0usize, 0usize);
        let mut x = vec![0.0; n];
        for _ in 0..reps {
            x.iter_mut().for_each(|v| *v = draw());
            let r = tests.run(&x, &mut ws).unwrap();
            sw += usize::from(r.shapiro_p.unwrap() <= 0.05);
            k2 += usize::from(r.k2_p.unwrap() <= 0.05);
        }
        (sw as f64 / reps as f64, k2 as f64 / reps as f64)
    }

    #[test]
    fn a_mean_does_not_move_the_tail_index() {
        // Gradient noise around a mean of 10 standard deviations: the tail index must read
        // the noise (alpha = 2 for Gaussian noise), not the mean. Uncentred, the block sums
        // grew like m mu and the median estimate was 1.03.
        let n = 400; // blocks of m = 20
        let tests = CoordinateTests::new(n, TestSelection::ALL).unwrap();
        let mut ws = tests.workspace();
        let mut rng = crate::rng::seeded(2718);
        let mut alphas = Vec::new();
        for _ in 0..200 {
            let x: Vec<f64> = (0..n)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            let shifted: Vec<f64> = x.iter().map(|v| v + 10.0).collect();
            let a = tests.run(&x, &mut ws).unwrap().tail_index.unwrap();
            let b = tests.run(&shifted, &mut ws).unwrap().tail_index.unwrap();
            // The same noise, up to the rounding of x + 10 (about 1e-15 of 10).
            assert!((a - b).abs() < 1e-9 * a.abs(), "{a} vs {b}");
            alphas.push(b);
        }
        alphas.sort_by(f64::total_cmp);
        let median = (alphas[99] + alphas[100]) / 2.0;
        assert!((median - 2.0).abs() < 0.15, "median alpha {median}");
    }

    #[test]
    fn size_under_normality_and_power_against_t3() {
        // 2000 Gaussian samples of 200: each test rejects 5% +- 4 binomial sd
        // (sd = sqrt(0.05 * 0.95 / 2000) = 0.0049), i.e. within [0.0305, 0.0695].
        let reps = 2000;
        let sd = (0.05f64 * 0.95 / reps as f64).sqrt();
        let mut rng = crate::rng::seeded(314);
        let (sw, k2) = rejection_rates(reps, 200, || rng.sample(StandardNormal));
        assert!((sw - 0.05).abs() < 4.0 * sd, "Shapiro-Wilk size {sw}");
        assert!((k2 - 0.05).abs() < 4.0 * sd, "K^2 size {k2}");
        // Student t with 3 degrees of freedom (infinite kurtosis): both tests reject most
        // samples of 200; we ask for more than 10 times the nominal rate.
        let t3 = StudentT::new(3.0).unwrap();
        let (sw, k2) = rejection_rates(reps, 200, || rng.sample(t3));
        assert!(sw > 0.5, "Shapiro-Wilk power {sw}");
        assert!(k2 > 0.5, "K^2 power {k2}");
    }
}
