//! Is a set of directions uniform? The Rayleigh test in any dimension, and the
//! distribution of kappa-hat under uniformity.
//!
//! The vMF study's appendix F shows that kappa-hat of uniformly random directions grows
//! with the dimension (about d / sqrt(n)), so a raw kappa-hat says nothing until it is put
//! beside what uniform directions would give in the same d with the same n. These are the
//! two yardsticks the tools report beside every kappa-hat.

use super::kappa::banerjee;
use super::null_walk::resultant_length_uniform;
use crate::rng::stream;
use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// The Rayleigh test of uniformity on S^{d-1}.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rayleigh {
    /// T = d n r_bar^2 (Mardia and Jupp 2000, 10.4.1), asymptotically chi-square(d).
    pub statistic: f64,
    /// (T - d) / sqrt(2 d (n-1)/n): T standardised by its exact null mean d and exact null
    /// variance 2d(n-1)/n (pairwise inner products of independent uniform unit vectors have
    /// mean 0 and variance 1/d), which is asymptotically N(0, 1) as d grows for any n >= 2.
    pub z: f64,
    /// One-sided p-value (large T means concentration). For d <= [`RAYLEIGH_CHI2_MAX_D`]
    /// the chi-square(d) tail of Mardia and Jupp's modified statistic
    /// T* = (1 - 1/(2n)) T + T^2 / (2n(d+2)) (error O(n^-2)); above, the normal tail of z,
    /// which is the right limit when d is large relative to the excess of T.
    pub p: f64,
}

/// The largest dimension for which the p-value uses the chi-square law.
pub const RAYLEIGH_CHI2_MAX_D: usize = 64;

/// The Rayleigh test from r_bar, n unit vectors, dimension d. NaN fields for n < 2.
pub fn rayleigh(r_bar: f64, n: usize, d: usize) -> Rayleigh {
    if n < 2 || d < 1 {
        return Rayleigh {
            statistic: f64::NAN,
            z: f64::NAN,
            p: f64::NAN,
        };
    }
    let (nf, df) = (n as f64, d as f64);
    let t = df * nf * r_bar * r_bar;
    let z = (t - df) / (2.0 * df * (nf - 1.0) / nf).sqrt();
    let p = if d <= RAYLEIGH_CHI2_MAX_D {
        let modified = (1.0 - 1.0 / (2.0 * nf)) * t + t * t / (2.0 * nf * (df + 2.0));
        ChiSquared::new(df)
            .map(|c| c.sf(modified))
            .unwrap_or(f64::NAN)
    } else {
        Normal::standard().sf(z)
    };
    Rayleigh { statistic: t, z, p }
}

/// Mean and standard deviation of the Banerjee kappa-hat of n uniform directions in R^d.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NullKappa {
    pub mean: f64,
    pub sd: f64,
    pub replicates: usize,
}

/// Simulates kappa-hat under uniformity with the exact walk of
/// [`super::null_walk`] (`replicates` runs, each its own random stream derived from
/// `seed`, n and d, so the result does not depend on the thread count or on which other
/// (n, d) pairs were simulated before).
pub fn null_kappa(n: usize, d: usize, replicates: usize, seed: u64) -> NullKappa {
    if n == 0 || d < 2 || replicates == 0 {
        return NullKappa {
            mean: f64::NAN,
            sd: f64::NAN,
            replicates,
        };
    }
    let key = seed ^ ((n as u64) << 32) ^ (d as u64).rotate_left(17);
    let kappas: Vec<f64> = (0..replicates)
        .into_par_iter()
        .map(|i| {
            let mut rng = stream(key, i as u64);
            let r = resultant_length_uniform(n, d, &mut rng) / n as f64;
            banerjee(r, d as f64)
        })
        .collect();
    let m = kappas.iter().sum::<f64>() / replicates as f64;
    let sd = if replicates > 1 {
        (kappas.iter().map(|k| (k - m) * (k - m)).sum::<f64>() / (replicates as f64 - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    NullKappa {
        mean: m,
        sd,
        replicates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rayleigh_reference_values() {
        // d = 3, n = 10, r_bar = 0.5: T = 7.5, T* = 0.95*7.5 + 56.25/100 = 7.6875;
        // P(chi2_3 > 7.6875) = scipy.stats.chi2.sf(7.6875, 3) = 0.052931531736370004
        // (scripts/reference/vmf_reference.py prints it).
        let r = rayleigh(0.5, 10, 3);
        assert!((r.statistic - 7.5).abs() < 1e-14);
        assert!(
            (r.p / 0.052_931_531_736_370_004 - 1.0).abs() < 1e-12,
            "{}",
            r.p
        );
        // Large d: z = (T - d)/sqrt(2d(n-1)/n). d = 1e6, n = 3000, r_bar^2 = 1/n exactly
        // gives T = d, z = 0, p = 1/2.
        let r = rayleigh((1.0f64 / 3000.0).sqrt(), 3000, 1_000_000);
        assert!(r.z.abs() < 1e-9 && (r.p - 0.5).abs() < 1e-9);
    }

    #[test]
    fn null_kappa_matches_the_first_order_law() {
        // Under uniformity |S_n|^2 has mean n, so kappa-hat ~ d / sqrt(n) to first order
        // (the vMF study's Table 1: 635,200 / sqrt(1000) = 20,087 against 20,111.90).
        let k = null_kappa(1000, 635_200, 200, 1);
        let first_order = 635_200.0 / 1000f64.sqrt();
        assert!((k.mean / first_order - 1.0).abs() < 0.01, "{k:?}");
        // To first order |S_n| ~ sqrt(n) (1 + delta/2) with Var(delta) = 2(n-1)/(n d), so
        // sd(kappa-hat) ~ sqrt(d / (2n)) = 17.8 here (Table 1 reports 13.04 from 5 runs).
        // With 200 replicates the sample sd is within 3 of its own standard errors (5%).
        let sd_first_order = (635_200.0f64 / 2000.0).sqrt();
        assert!(
            (k.sd / sd_first_order - 1.0).abs() < 0.15,
            "{k:?} vs {sd_first_order}"
        );
        // Determinism.
        assert_eq!(
            null_kappa(1000, 635_200, 50, 1),
            null_kappa(1000, 635_200, 50, 1)
        );
    }
}
