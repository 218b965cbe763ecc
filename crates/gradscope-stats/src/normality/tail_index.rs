//! The tail index alpha of a symmetric alpha-stable sample, by block sums.
//!
//! Simsekli, Sagun and Gurbuzbalaban ("A tail-index analysis of stochastic gradient noise
//! in deep neural networks", ICML 2019, section 4) measured how heavy gradient noise is
//! with the estimator of Mohammadi, Mohammadpour and Ogata ("On estimating the tail
//! index and the spectral measure of multivariate alpha-stable distributions", Metrika
//! 78(5), 2015, 549-561); the Gaussianity study answers them with the same number. For
//! iid symmetric alpha-stable X, a sum of m of them is distributed as m^(1/alpha) X, so
//! E log|sum| - E log|X| = (1/alpha) log m. With the N = m K values cut into K
//! consecutive blocks of m, Y_i the sum of block i:
//!
//! 1/alpha_hat = (1/log m) ((1/K) sum_i log|Y_i| - (1/N) sum_k log|X_k|).
//!
//! alpha = 2 is the Gaussian; alpha < 2 means infinite variance. Like Simsekli et al. we
//! take m, by default, as the largest divisor of N not above sqrt(N), so that blocks and
//! block length grow together.

use super::error::NormalityError;

/// A tail-index estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailIndex {
    /// alpha_hat = 1 / `inv_alpha`. Not clipped: sampling noise can give values above 2
    /// (or, for 1/alpha_hat <= 0, infinite or negative ones); clip to (0, 2] where the
    /// alpha-stable reading is wanted.
    pub alpha: f64,
    /// The estimate of 1/alpha, the quantity the estimator is unbiased-ish for.
    pub inv_alpha: f64,
    /// The block length m.
    pub block_len: usize,
    /// The number K of blocks; the estimate uses the first m K values.
    pub blocks: usize,
}

/// The default block length for N values: the largest divisor m of N with 2 <= m <=
/// sqrt(N) (Simsekli et al. 2019). None when there is none (N prime or N < 4).
pub fn default_block_length(n: usize) -> Option<usize> {
    let mut m = (n as f64).sqrt().floor() as usize;
    // Guard the float square root at perfect squares and huge n.
    while m * m > n {
        m -= 1;
    }
    while (m + 1) * (m + 1) <= n {
        m += 1;
    }
    (2..=m).rev().find(|d| n % d == 0)
}

/// The Mohammadi-Mohammadpour-Ogata tail index of `x` with the default block length
/// ([`default_block_length`]). Errors: no such block length, a non-finite value, a zero
/// value or block sum (log 0).
pub fn tail_index(x: &[f64]) -> Result<TailIndex, NormalityError> {
    let block =
        default_block_length(x.len()).ok_or(NormalityError::NoBlockLength { n: x.len() })?;
    tail_index_with_block(x, block)
}

/// The tail index of `x` with an explicit block length m >= 2: the first m floor(N/m)
/// values form floor(N/m) >= 1 blocks and any remainder is left out of both means, so
/// that the two means describe the same values. Unitless.
pub fn tail_index_with_block(x: &[f64], block: usize) -> Result<TailIndex, NormalityError> {
    let n = x.len();
    if block < 2 || block > n {
        return Err(NormalityError::InvalidBlockLength { block, n });
    }
    let blocks = n / block;
    let used = &x[..blocks * block];
    let mean_log_x = sum_ln_abs(used.iter().copied())? / used.len() as f64;
    let sums = used
        .chunks_exact(block)
        .map(|c| c.iter().fold(0.0, |s, &v| s + v));
    let mean_log_y = sum_ln_abs(sums)? / blocks as f64;
    let inv_alpha = (mean_log_y - mean_log_x) / (block as f64).ln();
    Ok(TailIndex {
        alpha: 1.0 / inv_alpha,
        inv_alpha,
        block_len: block,
        blocks,
    })
}

/// sum_k ln|v_k|, from the product of the values' binary mantissas and the sum of their
/// exponents: one logarithm instead of one per value, which makes the estimator about as
/// cheap as a sum. The product is renormalised before it can overflow; its relative
/// rounding error is at most (count) 2^-53, an absolute error of the same size in the sum.
fn sum_ln_abs(values: impl Iterator<Item = f64>) -> Result<f64, NormalityError> {
    const RENORMALISE_AT: f64 = 1.340_780_792_994_259_7e154; // 2^512
    let mut mantissa = 1.0f64;
    let mut exponent: i64 = 0;
    for v in values {
        let a = v.abs();
        if !a.is_finite() {
            return Err(NormalityError::NonFinite);
        }
        if a == 0.0 {
            return Err(NormalityError::ZeroInTailIndex);
        }
        let (m, e) = split(a);
        mantissa *= m;
        exponent += e;
        if mantissa >= RENORMALISE_AT {
            let (m, e) = split(mantissa);
            mantissa = m;
            exponent += e;
        }
    }
    Ok(mantissa.ln() + exponent as f64 * std::f64::consts::LN_2)
}

/// a = m 2^e with m in [1, 2), for finite a > 0.
fn split(a: f64) -> (f64, i64) {
    const MANTISSA_BITS: u64 = (1 << 52) - 1;
    let bits = a.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = split(a * 18_446_744_073_709_551_616.0); // 2^64
        return (m, e - 64);
    }
    (
        f64::from_bits((bits & MANTISSA_BITS) | (1023 << 52)),
        biased - 1023,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;
    use rand_distr::{Cauchy, StandardNormal};

    #[test]
    fn default_block_lengths() {
        assert_eq!(default_block_length(200), Some(10)); // 10 * 20; 14 > 10 does not divide
        assert_eq!(default_block_length(9), Some(3)); // sqrt(9) = 3 is allowed
        assert_eq!(default_block_length(12), Some(3));
        assert_eq!(default_block_length(16), Some(4));
        assert_eq!(default_block_length(100_000), Some(250)); // 2^5 5^5; 256 does not divide
        assert_eq!(default_block_length(7), None);
        assert_eq!(default_block_length(3), None);
        assert_eq!(default_block_length(0), None);
        assert_eq!(default_block_length(4), Some(2));
    }

    #[test]
    fn hand_computed_example() {
        // N = 9, m = 3: blocks (1, 1, 2), (4, 2, 2), (-1, -2, -5); Y = 4, 8, -8.
        // mean log|Y| = (2 + 3 + 3) ln 2 / 3 = (8/3) ln 2.
        // mean log|X| = (0 + 0 + ln2 + 2 ln2 + ln2 + ln2 + 0 + ln2 + ln5) / 9 = (6 ln2 + ln5) / 9.
        // 1/alpha = ((8/3) ln2 - (6 ln2 + ln5)/9) / ln 3 = (18 ln2 - ln5) / (9 ln3) = 1.09908...
        let x = [1.0, 1.0, 2.0, 4.0, 2.0, 2.0, -1.0, -2.0, -5.0];
        let t = tail_index(&x).unwrap();
        let (l2, l3, l5) = (2f64.ln(), 3f64.ln(), 5f64.ln());
        let expected = (18.0 * l2 - l5) / (9.0 * l3);
        assert!(
            (t.inv_alpha - expected).abs() < 1e-15,
            "{} vs {expected}",
            t.inv_alpha
        );
        assert!((t.alpha - 1.0 / expected).abs() < 1e-14);
        assert_eq!((t.block_len, t.blocks), (3, 3));
    }

    #[test]
    fn explicit_block_drops_the_remainder() {
        // m = 2 on 5 values: blocks (1, 3), (2, 6), the trailing 100 is unused.
        // 1/alpha = ((ln4 + ln8)/2 - (ln1 + ln3 + ln2 + ln6)/4) / ln2 = 2 - log2(3)/2.
        let t = tail_index_with_block(&[1.0, 3.0, 2.0, 6.0, 100.0], 2).unwrap();
        assert!((t.inv_alpha - (2.0 - 3f64.log2() / 2.0)).abs() < 1e-15);
        assert_eq!(t.blocks, 2);
    }

    #[test]
    fn log_sum_matches_naive() {
        let x: Vec<f64> = (1..=5000)
            .map(|k| (k as f64 * 0.618).sin() * 10f64.powi(k % 300 - 150))
            .chain([4.9e-324, 1e-310, 1.7e308])
            .collect();
        // Neumaier-compensated sum of the individual logarithms as the reference.
        let (mut sum, mut carry) = (0.0f64, 0.0f64);
        for v in &x {
            let t = v.abs().ln();
            let s = sum + t;
            carry += if sum.abs() >= t.abs() {
                (sum - s) + t
            } else {
                (t - s) + sum
            };
            sum = s;
        }
        let naive = sum + carry;
        let fast = sum_ln_abs(x.iter().copied()).unwrap();
        // 5003 logarithms of magnitude up to 745: absolute agreement to 1e-10.
        assert!((fast - naive).abs() < 1e-10, "{fast} vs {naive}");
    }

    #[test]
    fn refuses_zeros_and_bad_blocks() {
        assert_eq!(
            tail_index(&[1.0, 0.0, 2.0, 3.0]),
            Err(NormalityError::ZeroInTailIndex)
        );
        // Block sum 1 + (-1) = 0.
        assert_eq!(
            tail_index(&[1.0, -1.0, 2.0, 3.0]),
            Err(NormalityError::ZeroInTailIndex)
        );
        assert_eq!(
            tail_index(&[1.0; 7]),
            Err(NormalityError::NoBlockLength { n: 7 })
        );
        assert_eq!(
            tail_index_with_block(&[1.0; 7], 1),
            Err(NormalityError::InvalidBlockLength { block: 1, n: 7 })
        );
        assert_eq!(
            tail_index_with_block(&[1.0; 7], 8),
            Err(NormalityError::InvalidBlockLength { block: 8, n: 7 })
        );
        assert_eq!(
            tail_index(&[1.0, f64::NAN, 2.0, 3.0]),
            Err(NormalityError::NonFinite)
        );
    }

    #[test]
    fn recovers_cauchy_and_gaussian() {
        // N = 100000, m = 250, 400 blocks. Var log|X| = (pi^2/12)(1 + 2/alpha^2) for
        // symmetric stable X, so sd(1/alpha_hat) ~ sqrt(Var / 400) / ln 250: 0.014 for the
        // Cauchy (alpha = 1), 0.010 for the Gaussian (alpha = 2, sd of alpha_hat 0.04).
        // Bounds are 6 of those sd.
        let mut rng = crate::rng::seeded(11);
        let cauchy = Cauchy::new(0.0, 1.0).unwrap();
        let x: Vec<f64> = (0..100_000).map(|_| rng.sample(cauchy)).collect();
        let t = tail_index(&x).unwrap();
        assert_eq!((t.block_len, t.blocks), (250, 400));
        assert!((t.alpha - 1.0).abs() < 0.09, "Cauchy alpha {}", t.alpha);
        let x: Vec<f64> = (0..100_000).map(|_| rng.sample(StandardNormal)).collect();
        let t = tail_index(&x).unwrap();
        assert!((t.alpha - 2.0).abs() < 0.25, "Gaussian alpha {}", t.alpha);
        // Scale does not matter: log|c Y| - log|c X| cancels c.
        let scaled: Vec<f64> = x.iter().map(|v| v * 1e-6).collect();
        assert!((tail_index(&scaled).unwrap().inv_alpha - t.inv_alpha).abs() < 1e-12);
    }
}
