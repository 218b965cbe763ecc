//! The Shapiro-Wilk W test of normality, algorithm AS R94.
//!
//! W is the squared correlation between the ordered sample and approximations a_i of
//! the normalised expected normal order statistics (Shapiro and Wilk 1965, extended to
//! n <= 5000 by Royston 1982, 1992); the p-value comes from Royston's normalising
//! transformations of 1 - W. The Gaussianity study (Wu et al.) ran this algorithm, AS R94
//! (P. Royston, "Remark AS R94: A remark on algorithm AS 181: the W-test for normality",
//! Applied Statistics 44(4), 1995, 547-551), on every gradient coordinate.
//!
//! We follow R's swilk.c, which evaluates AS R94 with full-precision normal quantiles and
//! tails, and agree with R 4.2.2 to about 1e-16 in W. scipy <= 1.17 evaluates the same
//! algorithm with the 7-digit normal quantile AS 111 and tail AS 66 of the 1995 Fortran and
//! therefore differs from R (and from us) by up to ~1e-9 in W and ~1e-6 relative in p;
//! `scripts/reference/normality_reference.py` reproduces both behaviours.
//!
//! For the normtest tool, which tests ~1e6 coordinates with the same n, the coefficients
//! are computed once per n ([`ShapiroWilkCoefficients::new`]) and each test then costs a
//! sort and three passes over the data, with no allocation.

use rand::RngCore;

use super::error::NormalityError;
use super::normal::{horner, normal_quantile, normal_sf};
use crate::summation::sum as compensated_sum;

/// The smallest sample AS R94 accepts.
pub const SHAPIRO_WILK_MIN_N: usize = 3;
/// The largest sample AS R94's approximations were validated for (Royston 1995).
pub const SHAPIRO_WILK_MAX_N: usize = 5000;

const TEST_NAME: &str = "Shapiro-Wilk";

// Royston's polynomial approximations (AS R94), coefficients in increasing powers.
/// a_n (largest coefficient) correction in powers of 1/sqrt(n).
const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
/// a_{n-1} correction in powers of 1/sqrt(n).
const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
/// Mean of -log(gamma - log(1 - W)) for 4 <= n <= 11, in powers of n.
const C3: [f64; 4] = [0.544, -0.39978, 0.025054, -6.714e-4];
/// Log standard deviation of the same, in powers of n.
const C4: [f64; 4] = [1.3822, -0.77857, 0.062767, -0.0020322];
/// Mean of log(1 - W) for n >= 12, in powers of log n.
const C5: [f64; 4] = [-1.5861, -0.31082, -0.083751, 0.0038915];
/// Log standard deviation of the same, in powers of log n.
const C6: [f64; 3] = [-0.4803, -0.082676, 0.0030302];
/// The bound gamma(n) of log(1 - W) for 4 <= n <= 11, in powers of n.
const G: [f64; 2] = [-2.273, 0.459];
/// R's p-value when log(1 - W) >= gamma(n) (scipy returns 1e-19). The branch cannot be
/// reached by real data: W has a positive minimum far above exp(gamma) for n <= 11.
const P_BEYOND_GAMMA: f64 = 1e-99;

/// The result of a Shapiro-Wilk test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapiroWilk {
    /// The statistic W in [0, 1]; 1 means the ordered sample is exactly proportional to
    /// the expected normal order statistics.
    pub w: f64,
    /// The p-value: the probability under normality of a W this small or smaller.
    pub p: f64,
}

/// How the p-value is obtained from W for a given n.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NullModel {
    /// n = 3: W has the exact null distribution p = (6/pi)(asin(sqrt W) - pi/3).
    Exact3,
    /// 4 <= n <= 11: -log(gamma - log(1 - W)) is approximately N(mu, sigma^2).
    Small { gamma: f64, mu: f64, sigma: f64 },
    /// n >= 12: log(1 - W) is approximately N(mu, sigma^2).
    Large { mu: f64, sigma: f64 },
}

/// The AS R94 coefficients for one sample size, reusable across samples of that size.
///
/// Building them costs n/2 normal quantiles; testing a sample with them costs a sort
/// (or nothing, for sorted input) plus O(n). `Sync`, so one instance serves every thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapiroWilkCoefficients {
    n: usize,
    /// a_i > 0 for i = 1..n/2, the weight of x_(n+1-i) - x_(i).
    half: Vec<f64>,
    /// The sum of squares of the full antisymmetric vector (1 up to rounding).
    sum_sq: f64,
    null: NullModel,
}

impl ShapiroWilkCoefficients {
    /// The coefficients a_i and null-distribution constants of AS R94 for samples of n.
    ///
    /// a_i starts from m_i = Phi^{-1}((i - 3/8) / (n + 1/4)) (Blom's scores, computed with
    /// AS 241), normalised to unit length; for n > 5 the two largest, and for 4 <= n <= 5
    /// the largest, are replaced by Royston's polynomial approximations in 1/sqrt(n) to
    /// the exact values and the others rescaled so that sum a_i^2 = 1. For n = 3 the exact
    /// a = (-sqrt(1/2), 0, sqrt(1/2)). Errors outside 3 <= n <= 5000.
    pub fn new(n: usize) -> Result<Self, NormalityError> {
        if n < SHAPIRO_WILK_MIN_N {
            return Err(NormalityError::TooFewValues {
                test: TEST_NAME,
                n,
                min: SHAPIRO_WILK_MIN_N,
            });
        }
        if n > SHAPIRO_WILK_MAX_N {
            return Err(NormalityError::TooManyValues {
                test: TEST_NAME,
                n,
                max: SHAPIRO_WILK_MAX_N,
            });
        }
        let half = if n == 3 {
            vec![std::f64::consts::FRAC_1_SQRT_2]
        } else {
            let nf = n as f64;
            let denom = nf + 0.25;
            // Blom scores m_i < 0 for the lower half.
            let m: Vec<f64> = (1..=n / 2)
                .map(|i| normal_quantile((i as f64 - 0.375) / denom))
                .collect();
            let summ2 = 2.0 * m.iter().map(|v| v * v).sum::<f64>();
            let norm = summ2.sqrt();
            let rsn = 1.0 / nf.sqrt();
            let a1 = horner(&C1, rsn) - m[0] / norm;
            // How many leading coefficients Royston's polynomials replace.
            let (fixed, fac) = if n > 5 {
                let a2 = -m[1] / norm + horner(&C2, rsn);
                let fac = ((summ2 - 2.0 * m[0] * m[0] - 2.0 * m[1] * m[1])
                    / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
                    .sqrt();
                (vec![a1, a2], fac)
            } else {
                let fac = ((summ2 - 2.0 * m[0] * m[0]) / (1.0 - 2.0 * a1 * a1)).sqrt();
                (vec![a1], fac)
            };
            let mut a = fixed;
            let k = a.len();
            a.extend(m[k..].iter().map(|v| -v / fac));
            a
        };
        let sum_sq = 2.0 * compensated_sum(half.iter().map(|v| v * v));
        let null = if n == 3 {
            NullModel::Exact3
        } else if n <= 11 {
            let nf = n as f64;
            NullModel::Small {
                gamma: horner(&G, nf),
                mu: horner(&C3, nf),
                sigma: horner(&C4, nf).exp(),
            }
        } else {
            let ln = (n as f64).ln();
            NullModel::Large {
                mu: horner(&C5, ln),
                sigma: horner(&C6, ln).exp(),
            }
        };
        Ok(Self {
            n,
            half,
            sum_sq,
            null,
        })
    }

    /// The sample size these coefficients serve.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The positive half a_1 >= a_2 >= ... of the antisymmetric coefficient vector: a_i
    /// weighs x_(n+1-i) - x_(i). Unitless, sum over the full vector of a_i^2 = 1.
    pub fn weights(&self) -> &[f64] {
        &self.half
    }

    /// Tests a sample already in ascending order, without copying it.
    ///
    /// W = (sum_i a_i (x_(n+1-i) - x_(i)))^2 / sum_i (x_i - mean)^2, computed as in
    /// swilk.c through 1 - W = (r - s)(r + s) / r^2 with s = sum a x and r = |a| |x - mean|,
    /// so that W near 1 (large n) keeps its digits; the data are first scaled by a power
    /// of two so that nothing overflows. Errors: wrong length, unsorted or non-finite
    /// values, constant sample.
    pub fn test_sorted(&self, sorted: &[f64]) -> Result<ShapiroWilk, NormalityError> {
        self.check_len(sorted)?;
        for pair in sorted.windows(2) {
            if !pair[0].is_finite() {
                return Err(NormalityError::NonFinite);
            }
            if pair[0] > pair[1] {
                return Err(NormalityError::NotSorted);
            }
        }
        self.evaluate(sorted)
    }

    /// Sorts `values` in place (ascending) and tests them: the per-coordinate entry point
    /// of a tool that copies each coordinate's samples into a reused buffer.
    pub fn test_in_place(&self, values: &mut [f64]) -> Result<ShapiroWilk, NormalityError> {
        self.check_len(values)?;
        // total_cmp puts NaNs and infinities at the ends, so the ends tell finiteness.
        values.sort_unstable_by(f64::total_cmp);
        self.evaluate(values)
    }

    fn check_len(&self, x: &[f64]) -> Result<(), NormalityError> {
        if x.len() == self.n {
            Ok(())
        } else {
            Err(NormalityError::LengthMismatch {
                expected: self.n,
                got: x.len(),
            })
        }
    }

    /// W and p of a sorted sample of length n.
    fn evaluate(&self, x: &[f64]) -> Result<ShapiroWilk, NormalityError> {
        let n = self.n;
        let (lo, hi) = (x[0], x[n - 1]);
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(NormalityError::NonFinite);
        }
        let range = hi - lo;
        if range == 0.0 {
            return Err(NormalityError::Constant { value: lo });
        }
        let scale = power_of_two_scale(range);
        // Compensated sums: plain ones lose ~sqrt(n) ulp in s and in sum (x - mean)^2,
        // which shows as 1e-15 in W (2e-15 for 1..200) and 1e-11 in p at n = 5000.
        let mean = compensated_sum(x.iter().map(|&v| v * scale)) / n as f64;
        let ssx = compensated_sum(x.iter().map(|&v| {
            let d = v * scale - mean;
            d * d
        }));
        let sax = compensated_sum(
            self.half
                .iter()
                .enumerate()
                .map(|(i, &a)| a * (x[n - 1 - i] * scale - x[i] * scale)),
        );
        let denom = self.sum_sq * ssx;
        let root = denom.sqrt();
        // Cauchy-Schwarz makes 1 - W >= 0; rounding may not, for perfectly normal scores.
        let w1 = ((root - sax) * (root + sax) / denom).max(0.0);
        let w = 1.0 - w1;
        Ok(ShapiroWilk {
            w,
            p: self.p_value(w, w1),
        })
    }

    /// Royston's p-value for W (with w1 = 1 - W computed directly).
    fn p_value(&self, w: f64, w1: f64) -> f64 {
        match self.null {
            NullModel::Exact3 => {
                // (6/pi)(asin(sqrt W) - pi/3), rewritten as one asin of
                // (4W - 3) / (2 (sqrt W + sqrt(3 (1 - W)))) so that p near 0 keeps digits.
                let s = (1.0 - 4.0 * w1) / (2.0 * (w.sqrt() + (3.0 * w1).sqrt()));
                (6.0 / std::f64::consts::PI * s.clamp(-1.0, 1.0).asin()).clamp(0.0, 1.0)
            }
            NullModel::Small { gamma, mu, sigma } => {
                let y = w1.ln();
                if y >= gamma {
                    return P_BEYOND_GAMMA;
                }
                normal_sf((-(gamma - y).ln() - mu) / sigma)
            }
            NullModel::Large { mu, sigma } => normal_sf((w1.ln() - mu) / sigma),
        }
    }
}

/// 2^k with range * 2^k in [0.5, 2]: an exact scaling, so W does not depend on it, that
/// keeps squares of deviations far from overflow and underflow.
fn power_of_two_scale(range: f64) -> f64 {
    if !range.is_finite() {
        return 2f64.powi(-1000);
    }
    let k = -(range.log2().floor() as i32);
    2f64.powi(k.clamp(-1000, 1000))
}

/// Shapiro-Wilk W test (AS R94, Royston 1995) of one sample of 3 to 5000 values.
///
/// Sorts a copy and computes the coefficients for this n; for many samples of the same
/// size build [`ShapiroWilkCoefficients`] once instead. A constant sample is an error
/// ([`NormalityError::Constant`]), not W = 1. Unitless W and p.
pub fn shapiro_wilk(x: &[f64]) -> Result<ShapiroWilk, NormalityError> {
    let coefficients = ShapiroWilkCoefficients::new(x.len())?;
    let mut sorted = x.to_vec();
    coefficients.test_in_place(&mut sorted)
}

/// Shapiro-Wilk test of any sample of at least 3 values: samples of more than 5000
/// values are replaced by a uniformly random subsample of 5000 drawn from `rng`.
///
/// Why: AS R94's p-value approximations are validated only up to n = 5000 (scipy warns
/// beyond, R refuses). The subsample is the first 5000 slots of a partial Fisher-Yates
/// shuffle of a copy of `x`: for i = 0..5000, swap slot i with slot i + j, where j is
/// uniform on [0, len - i) drawn by Lemire's multiply-and-reject method from
/// `rng.next_u64()` (D. Lemire, "Fast random integer generation in an interval", ACM
/// TOMACS 29(1), 2019). The draw depends only on the generator's u64 stream, so a seeded
/// generator gives the same subsample on every platform and version. Samples of 5000 or
/// fewer are tested whole and draw nothing from `rng`. Every value of `x` must be finite.
pub fn shapiro_wilk_subsample<R: RngCore + ?Sized>(
    x: &[f64],
    rng: &mut R,
) -> Result<ShapiroWilk, NormalityError> {
    if x.len() <= SHAPIRO_WILK_MAX_N {
        return shapiro_wilk(x);
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(NormalityError::NonFinite);
    }
    let mut pool = x.to_vec();
    partial_shuffle(&mut pool, SHAPIRO_WILK_MAX_N, rng);
    pool.truncate(SHAPIRO_WILK_MAX_N);
    ShapiroWilkCoefficients::new(SHAPIRO_WILK_MAX_N)?.test_in_place(&mut pool)
}

/// Moves a uniformly random k-subset of `values` (in random order) to its front.
fn partial_shuffle<R: RngCore + ?Sized>(values: &mut [f64], k: usize, rng: &mut R) {
    let len = values.len();
    for i in 0..k.min(len) {
        let j = i + uniform_below(rng, (len - i) as u64) as usize;
        values.swap(i, j);
    }
}

/// A uniform integer in [0, bound), bound >= 1 (Lemire 2019): the high word of a 128-bit
/// product, rejecting the few low words that would bias it.
fn uniform_below<R: RngCore + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    let mut product = u128::from(rng.next_u64()) * u128::from(bound);
    let mut low = product as u64;
    if low < bound {
        let threshold = bound.wrapping_neg() % bound;
        while low < threshold {
            product = u128::from(rng.next_u64()) * u128::from(bound);
            low = product as u64;
        }
    }
    (product >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::super::test_data::dataset;
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    /// R 4.2.2 `shapiro.test`, as given in the gradscope brief (all 17 digits kept).
    #[allow(clippy::excessive_precision)]
    const R_REFERENCE: [(&str, f64, f64); 3] = [
        ("primes10", 0.94942573605286062, 0.6617106339670451),
        ("squares20", 0.90613062847654635, 0.053809588828203907),
        ("seq200", 0.95461161431891883, 5.3920608912694955e-06),
    ];

    #[test]
    fn matches_r_swilk() {
        for (name, w_r, p_r) in R_REFERENCE {
            let r = shapiro_wilk(&dataset(name)).unwrap();
            let (dw, dp) = ((r.w - w_r).abs(), rel(r.p, p_r));
            // Measured: |dW| <= 5.6e-16, rel dp <= 1.2e-13 (the brief asks 1e-12 and 1e-9;
            // R's own values are 4.4e-16 and 1.1e-13 off the exact AS R94 values below).
            assert!(dw <= 1e-15, "{name}: W {} vs R {w_r} ({dw:e})", r.w);
            assert!(dp <= 1e-12, "{name}: p {} vs R {p_r} ({dp:e})", r.p);
        }
    }

    /// AS R94 evaluated at 50 digits with exact normal quantiles and tails (mpmath 1.3.0):
    /// scripts/reference/normality_reference.py, column "AS R94 exact". The script checks
    /// that this evaluation reproduces the three R values above to 4e-16 in W.
    const EXACT: [(&str, f64, f64); 16] = [
        ("primes10", 0.9494257360528603, 0.661710633967043),
        ("squares20", 0.9061306284765465, 0.05380958882820414),
        ("seq200", 0.9546116143189193, 5.3920608912700884e-06),
        ("n3", 0.9642857142857143, 0.6368868450289699),
        ("n3_tied", 0.75, 0.0),
        ("ih4", 0.8775413516171252, 0.3282413164053658),
        ("ih5", 0.9297221172206411, 0.5944767446469408),
        ("ih6", 0.8629735547109372, 0.19960341898956654),
        ("ih8", 0.9806045855657394, 0.9658342102206259),
        ("ih11", 0.9479936140459372, 0.618429758901842),
        ("ih12", 0.936742913966576, 0.4570642175718279),
        ("ih200", 0.9966135628836478, 0.9419071981568377),
        ("ratio200", 0.09268738398006353, 7.153383395738488e-30),
        ("product100", 0.8004268579351967, 2.551899013472805e-10),
        ("ties50", 0.9799472731870288, 0.5497420674489433),
        ("ih5000", 0.9996189425394552, 0.46657573966718846),
    ];

    #[test]
    fn matches_exact_as_r94() {
        for (name, w_ref, p_ref) in EXACT {
            let r = shapiro_wilk(&dataset(name)).unwrap();
            let dw = (r.w - w_ref).abs();
            // p may be exactly 0 (n = 3 at the minimum W): absolute floor 1e-15.
            let dp = (r.p - p_ref).abs() / p_ref.max(1e-3);
            // Measured: |dW| <= 3.4e-16, rel dp <= 2.2e-13 (ih5000, where 1/(1 - W) = 2600
            // amplifies the last bit of W).
            assert!(dw <= 1e-15, "{name}: W {} vs {w_ref} ({dw:e})", r.w);
            assert!(dp <= 1e-12, "{name}: p {} vs {p_ref} ({dp:e})", r.p);
        }
    }

    /// scipy 1.17.1 `scipy.stats.shapiro`, same script, column "scipy". scipy <= 1.17 uses
    /// the 7-digit AS 111 quantile and AS 66 tail (the script reproduces it to 1e-13 with
    /// those two swapped into AS R94), so it is only as close as those approximations.
    /// For n = 3 it needs neither, and agrees to rounding.
    const SCIPY_1_17: [(&str, f64, f64); 16] = [
        ("primes10", 0.949425736005048, 0.6617106334001631),
        ("squares20", 0.9061306286053874, 0.053809589128654696),
        ("seq200", 0.9546116147545176, 5.392061439949803e-06),
        ("n3", 0.9642857142857142, 0.6368868450289689),
        ("n3_tied", 0.7500000000000002, 7.771561172376096e-16),
        ("ih4", 0.877541351576762, 0.32824131623817093),
        ("ih5", 0.9297221168433644, 0.5944767420797866),
        ("ih6", 0.8629735547664279, 0.199603419188218),
        ("ih8", 0.9806045855188871, 0.9658342099976668),
        ("ih11", 0.9479936140598753, 0.6184297590783923),
        ("ih12", 0.9367429138634126, 0.45706421630785965),
        ("ih200", 0.996613562988168, 0.9419072064069093),
        ("ratio200", 0.09268738322923675, 7.153383240462105e-30),
        ("product100", 0.8004268579099272, 2.551899008919149e-10),
        ("ties50", 0.9799472731467189, 0.549742065755835),
        ("ih5000", 0.9996189423111485, 0.4665751147043549),
    ];

    #[test]
    fn agrees_with_scipy_1_17_to_its_quantile_precision() {
        for (name, w_ref, p_ref) in SCIPY_1_17 {
            let r = shapiro_wilk(&dataset(name)).unwrap();
            let dw = (r.w - w_ref).abs();
            let dp = (r.p - p_ref).abs() / p_ref.max(1e-3);
            let (tol_w, tol_p) = if name.starts_with("n3") {
                // p relative to max(p, 1e-3): scipy's 7.8e-16 for n3_tied is W rounding.
                (1e-15, 1e-12)
            } else {
                // Measured over these sets: 7.5e-10 and 1.34e-6 (ih5000).
                (1e-9, 2e-6)
            };
            assert!(dw <= tol_w, "{name}: W {} vs scipy {w_ref} ({dw:e})", r.w);
            assert!(dp <= tol_p, "{name}: p {} vs scipy {p_ref} ({dp:e})", r.p);
        }
    }

    #[test]
    fn n3_exact_distribution() {
        // Equally spaced: W = 1, p = 1. Two tied and one apart: the minimum W = 3/4, p = 0.
        let r = shapiro_wilk(&[1.0, 2.0, 3.0]).unwrap();
        assert!((r.w - 1.0).abs() < 1e-15 && (r.p - 1.0).abs() < 1e-15);
        let r = shapiro_wilk(&[5.0, 5.0, 9.0]).unwrap();
        assert!((r.w - 0.75).abs() < 1e-15 && r.p < 1e-14);
        // 1, 2, 4: W = 27/28 exactly (sum a x = 3/sqrt 2, SS = 14/3).
        let r = shapiro_wilk(&[4.0, 1.0, 2.0]).unwrap();
        assert!((r.w - 27.0 / 28.0).abs() < 1e-15);
    }

    #[test]
    fn coefficients_are_unit_and_decreasing() {
        for n in [3, 4, 5, 6, 7, 11, 12, 50, 200, 4999, 5000] {
            let c = ShapiroWilkCoefficients::new(n).unwrap();
            assert_eq!(c.weights().len(), n / 2);
            assert!((c.sum_sq - 1.0).abs() < 1e-14, "n = {n}: {}", c.sum_sq);
            assert!(c.weights().windows(2).all(|p| p[0] > p[1] && p[1] > 0.0));
        }
        // Shapiro and Wilk's (1965) table for n = 10 gives a_10 = 0.5739; Royston's
        // approximation is within 1e-3 of it.
        let c = ShapiroWilkCoefficients::new(10).unwrap();
        assert!((c.weights()[0] - 0.5739).abs() < 1e-3, "{}", c.weights()[0]);
    }

    #[test]
    fn invariant_under_affine_maps_and_order() {
        let x = dataset("product100");
        let base = shapiro_wilk(&x).unwrap();
        // A map that changes the rounding of every value: agreement to rounding.
        let moved: Vec<f64> = x.iter().rev().map(|v| -3.7 * v + 12.25).collect();
        let r = shapiro_wilk(&moved).unwrap();
        assert!((r.w - base.w).abs() < 1e-14, "{} vs {}", r.w, base.w);
        assert!(rel(r.p, base.p) < 1e-12);
        let tiny: Vec<f64> = x.iter().map(|v| v * 1e-300).collect();
        let r = shapiro_wilk(&tiny).unwrap();
        assert!((r.w - base.w).abs() < 1e-15);
        let huge: Vec<f64> = x.iter().map(|v| v * 1e300).collect();
        let r = shapiro_wilk(&huge).unwrap();
        assert!((r.w - base.w).abs() < 1e-15);
    }

    #[test]
    fn reusable_coefficients_match_one_shot() {
        let x = dataset("ih200");
        let c = ShapiroWilkCoefficients::new(200).unwrap();
        let mut buf = x.clone();
        let a = c.test_in_place(&mut buf).unwrap();
        assert_eq!(a, shapiro_wilk(&x).unwrap());
        assert_eq!(c.test_sorted(&buf).unwrap(), a);
    }

    #[test]
    fn refuses_what_it_cannot_test() {
        use NormalityError as E;
        assert!(matches!(
            shapiro_wilk(&[1.0, 2.0]),
            Err(E::TooFewValues { n: 2, min: 3, .. })
        ));
        assert!(matches!(
            ShapiroWilkCoefficients::new(5001),
            Err(E::TooManyValues {
                n: 5001,
                max: 5000,
                ..
            })
        ));
        let e = shapiro_wilk(&[0.25; 20]).unwrap_err();
        assert_eq!(e, E::Constant { value: 0.25 });
        assert_eq!(
            e.to_string(),
            "all values are equal (every value is 0.25): normality is undefined for a \
             constant sample"
        );
        assert_eq!(shapiro_wilk(&[1.0, f64::NAN, 2.0, 3.0]), Err(E::NonFinite));
        assert_eq!(
            shapiro_wilk(&[1.0, f64::INFINITY, 2.0, 3.0]),
            Err(E::NonFinite)
        );
        let c = ShapiroWilkCoefficients::new(4).unwrap();
        assert_eq!(
            c.test_sorted(&[1.0, 2.0, 3.0]),
            Err(E::LengthMismatch {
                expected: 4,
                got: 3
            })
        );
        assert_eq!(c.test_sorted(&[1.0, 3.0, 2.0, 4.0]), Err(E::NotSorted));
        assert_eq!(c.test_sorted(&[1.0, f64::NAN, 2.0, 4.0]), Err(E::NonFinite));
    }

    #[test]
    fn subsample_is_a_documented_function_of_the_seed() {
        let x = crate::normality::test_data::irwin_hall(77, 6000);
        let a = shapiro_wilk_subsample(&x, &mut crate::rng::seeded(5)).unwrap();
        let b = shapiro_wilk_subsample(&x, &mut crate::rng::seeded(5)).unwrap();
        assert_eq!(a, b);
        // The same subsample drawn by hand from the documented shuffle.
        let mut rng = crate::rng::seeded(5);
        let mut pool = x.clone();
        for i in 0..5000 {
            let j = i + uniform_below(&mut rng, (6000 - i) as u64) as usize;
            pool.swap(i, j);
        }
        assert_eq!(shapiro_wilk(&pool[..5000]).unwrap(), a);
        let c = shapiro_wilk_subsample(&x, &mut crate::rng::seeded(6)).unwrap();
        assert_ne!(a, c);
        // Small samples are tested whole and leave the generator untouched.
        let mut rng = crate::rng::seeded(9);
        let small = dataset("ih200");
        assert_eq!(
            shapiro_wilk_subsample(&small, &mut rng).unwrap(),
            shapiro_wilk(&small).unwrap()
        );
        assert_eq!(rng.next_u64(), crate::rng::seeded(9).next_u64());
    }

    #[test]
    fn uniform_below_is_unbiased_enough() {
        // 60000 draws on [0, 6): each count within 5 binomial sd of 10000.
        let mut rng = crate::rng::seeded(1);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[uniform_below(&mut rng, 6) as usize] += 1;
        }
        let sd = (60_000.0f64 * (1.0 / 6.0) * (5.0 / 6.0)).sqrt();
        for c in counts {
            assert!((c as f64 - 10_000.0).abs() < 5.0 * sd, "{counts:?}");
        }
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }
}
