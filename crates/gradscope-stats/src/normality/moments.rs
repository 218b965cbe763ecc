//! Per-coordinate moments: location, spread, shape and the Berry-Esseen ratio.
//!
//! The Gaussianity study (Wu et al., "Revisiting the characteristics of stochastic
//! gradient noise and dynamics", section "Analysis of Gaussian behavior") explains slow
//! convergence of minibatch noise to its Gaussian limit through the Berry-Esseen theorem,
//! sup_x |F_S(x) - Phi(x)| <= (beta / sigma^3) A_0 / sqrt(|S|) (their eq. 13), with
//! beta = E|Delta g|^3 (eq. 17) and sigma^2 = E[(Delta g)^2] (eq. 18) for the zero-mean
//! noise Delta g = g - E g; they report beta / sigma^3 per coordinate, and bound it by
//! sqrt(var(z^2) + 1) with z = Delta g / sigma (eqs. 19-21).
//!
//! All moments are population moments of the sample (divide by n), the sample mean
//! standing in for E g, computed in f64 by two passes over the data (mean, then central
//! sums) with one refinement of the mean, so that data with a large common offset lose
//! no digits.

use super::error::NormalityError;

/// The central moments of one sample, with population normalisation.
///
/// m_k = (1/n) sum_i (x_i - mean)^k; `abs_m3` = (1/n) sum_i |x_i - mean|^3. Units: those
/// of the data to the power k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// The sample size.
    pub n: usize,
    /// The arithmetic mean (units of the data).
    pub mean: f64,
    /// The second central moment, the population variance.
    pub m2: f64,
    /// The third central moment.
    pub m3: f64,
    /// The fourth central moment.
    pub m4: f64,
    /// The third absolute central moment, the beta of Berry-Esseen.
    pub abs_m3: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// The smallest sample with a sample variance.
pub const MOMENTS_MIN_N: usize = 2;

impl Moments {
    /// The moments of `x` (at least two finite values).
    ///
    /// Pass 1: sum, min, max; pass 2: the mean is refined by the mean residual (exact
    /// arithmetic would add zero; in floating point it removes the rounding error of the
    /// first sum); pass 3: the central sums. Why not one pass: a running update loses the
    /// third and fourth moments of data whose spread is small against their mean.
    pub fn new(x: &[f64]) -> Result<Self, NormalityError> {
        let n = x.len();
        if n < MOMENTS_MIN_N {
            return Err(NormalityError::TooFewValues {
                test: "moments",
                n,
                min: MOMENTS_MIN_N,
            });
        }
        let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        for &v in x {
            if !v.is_finite() {
                return Err(NormalityError::NonFinite);
            }
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
        let nf = n as f64;
        if min == max {
            // Exactly constant: report the value itself, not a rounded sum / n.
            return Ok(Self {
                n,
                mean: min,
                m2: 0.0,
                m3: 0.0,
                m4: 0.0,
                abs_m3: 0.0,
                min,
                max,
            });
        }
        let mut mean = sum / nf;
        mean += x.iter().map(|&v| v - mean).sum::<f64>() / nf;
        let (mut s2, mut s3, mut s4, mut sa3) = (0.0, 0.0, 0.0, 0.0);
        for &v in x {
            let d = v - mean;
            let d2 = d * d;
            s2 += d2;
            s3 += d2 * d;
            s4 += d2 * d2;
            sa3 += d2 * d.abs();
        }
        Ok(Self {
            n,
            mean,
            m2: s2 / nf,
            m3: s3 / nf,
            m4: s4 / nf,
            abs_m3: sa3 / nf,
            min,
            max,
        })
    }

    /// Whether every value is the same (max == min): such a coordinate has no shape and
    /// must not be counted as Gaussian.
    pub fn is_constant(&self) -> bool {
        self.max == self.min
    }

    /// The unbiased sample variance s^2 = n m2 / (n - 1) (units of the data squared), the
    /// estimate of the noise variance sigma^2 of a coordinate.
    pub fn sample_variance(&self) -> f64 {
        let nf = self.n as f64;
        self.m2 * (nf / (nf - 1.0))
    }

    /// The population variance m2 (units of the data squared).
    pub fn population_variance(&self) -> f64 {
        self.m2
    }

    /// Refuses shape statistics of samples without spread: exactly constant, or spread
    /// below the resolution of the mean (scipy's m2 <= (eps mean)^2, where scipy returns
    /// NaN).
    fn require_spread(&self) -> Result<(), NormalityError> {
        if self.is_constant() {
            return Err(NormalityError::Constant { value: self.min });
        }
        let floor = f64::EPSILON * self.mean;
        if self.m2 <= floor * floor {
            return Err(NormalityError::NearlyConstant);
        }
        Ok(())
    }

    /// The biased sample skewness g1 = m3 / m2^(3/2) (scipy.stats.skew with its default
    /// bias=True; Zwillinger and Kokoska 2000, 2.2.24.1). Biased because D'Agostino's test
    /// is calibrated for it. Unitless; 0 for symmetric data.
    pub fn skewness(&self) -> Result<f64, NormalityError> {
        self.require_spread()?;
        Ok(self.m3 / (self.m2 * self.m2.sqrt()))
    }

    /// The Pearson kurtosis b2 = m4 / m2^2 (3 for a normal population; biased, as
    /// scipy.stats.kurtosis(fisher=False)), the statistic of Anscombe and Glynn's test.
    pub fn kurtosis(&self) -> Result<f64, NormalityError> {
        self.require_spread()?;
        Ok(self.m4 / (self.m2 * self.m2))
    }

    /// The biased excess kurtosis g2 = m4 / m2^2 - 3 (scipy.stats.kurtosis with its
    /// defaults fisher=True, bias=True). Unitless; 0 for a normal population.
    pub fn excess_kurtosis(&self) -> Result<f64, NormalityError> {
        Ok(self.kurtosis()? - 3.0)
    }

    /// The standardised third absolute moment beta / sigma^3 = E|X - mu|^3 / sigma^3 with
    /// population moments: the constant of the Berry-Esseen bound (Wu et al. eqs. 13, 17,
    /// 18). A coordinate whose value is large converges slowly to its Gaussian limit as the
    /// batch grows. Unitless, >= 1 for every distribution (Lyapunov's inequality), sqrt(8/pi)
    /// ~ 1.596 for a normal one.
    pub fn beta_over_sigma3(&self) -> Result<f64, NormalityError> {
        self.require_spread()?;
        Ok(self.abs_m3 / (self.m2 * self.m2.sqrt()))
    }

    /// Wu et al.'s Cauchy-Schwarz bound on beta / sigma^3: sqrt(var(z^2) + 1) with
    /// z = (x - mean) / sigma the standardised value (their eq. 21; var and sigma with
    /// population normalisation). Since mean(z^2) = 1, var(z^2) + 1 = mean(z^4) = m4 / m2^2,
    /// so the bound is sqrt(b2), computed here as sqrt(m4) / m2. Why report it: it needs
    /// only the kurtosis, which the paper ties to the rate of convergence. Unitless, >= the
    /// ratio itself; sqrt(3) ~ 1.732 for a normal population.
    pub fn berry_esseen_bound(&self) -> Result<f64, NormalityError> {
        self.require_spread()?;
        Ok(self.m4.sqrt() / self.m2)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::dataset;
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300) || a == b
    }

    /// numpy 2.4.6 / scipy 1.17.1 via scripts/reference/normality_reference.py, section
    /// "Moments": mean, var(ddof=1), skew, kurtosis (excess), mean|x-mu|^3 / std^3 and
    /// sqrt(var(z^2) + 1) with z = (x - mean) / std (ddof=0), all written out literally.
    #[allow(clippy::type_complexity)]
    const NUMPY: [(&str, f64, f64, f64, f64, f64, f64); 10] = [
        (
            "primes10",
            12.9,
            81.43333333333334,
            0.4030520544765256,
            -0.9874131145220866,
            1.3499601310070366,
            1.4186567186877568,
        ),
        (
            "squares20",
            143.5,
            16359.0,
            0.6077099387037892,
            -0.9007150671760815,
            1.3666977626702335,
            1.4488909319972703,
        ),
        (
            "seq200",
            100.5,
            3350.0,
            0.0,
            -1.2000600015000373,
            1.299021866786919,
            1.3416184250747165,
        ),
        (
            "n3",
            2.3333333333333335,
            2.333333333333333,
            0.3818017741606059,
            -1.4999999999999996,
            1.2090389515085866,
            1.224744871391589,
        ),
        (
            "ih8",
            0.018809719875957642,
            1.634293055643284,
            -0.0787816423344008,
            -0.6985956189841529,
            1.4550147753466969,
            1.517038028862773,
        ),
        (
            "ih200",
            -0.052957456017887046,
            0.988860598552436,
            0.04569442432528393,
            -0.315775999857971,
            1.5267722160282495,
            1.6383601558088592,
        ),
        (
            "ratio200",
            -5.2081445541897775,
            4030.6449433267926,
            -13.207540815161343,
            178.18679285700873,
            13.213251462184921,
            13.460564358785582,
        ),
        (
            "product100",
            0.16340559472330415,
            0.03423569496589725,
            1.601829393163923,
            2.053732453253824,
            1.9936587062214035,
            2.2480508119821985,
        ),
        (
            "ties50",
            -0.52,
            6.377142857142856,
            0.016000512024577064,
            0.2861165971765054,
            1.6604730028577603,
            1.8127649040006553,
        ),
        (
            "ih5000",
            0.019018045388938035,
            1.0146910145401347,
            -0.012895332747003382,
            -0.10854201093436355,
            1.5748710454113752,
            1.70042876624269,
        ),
    ];

    #[test]
    fn matches_numpy_and_scipy() {
        // Measured worst relative deviations: mean 1.1e-14, variance 8.8e-16, skewness
        // 4.0e-14, excess kurtosis 6.2e-15, beta/sigma^3 6.6e-16, bound 3.7e-16.
        for (name, mean, var, skew, kurt, beta, bound) in NUMPY {
            let m = Moments::new(&dataset(name)).unwrap();
            assert!(close(m.mean, mean, 1e-13), "{name} mean {}", m.mean);
            assert!(close(m.sample_variance(), var, 1e-13), "{name} var");
            let s = m.skewness().unwrap();
            // Relative 1e-12, or 1e-15 absolute for the exactly symmetric seq200.
            assert!(
                (s - skew).abs() <= 1e-12 * skew.abs() + 1e-15,
                "{name} skew {s}"
            );
            let k = m.excess_kurtosis().unwrap();
            assert!(close(k, kurt, 1e-12), "{name} kurtosis {k}");
            let b = m.beta_over_sigma3().unwrap();
            assert!(close(b, beta, 1e-12), "{name} beta/sigma^3 {b}");
            let u = m.berry_esseen_bound().unwrap();
            assert!(close(u, bound, 1e-12), "{name} bound {u}");
            assert!(b <= u * (1.0 + 1e-15), "{name}: Cauchy-Schwarz");
            assert!(b >= 1.0 - 1e-15, "{name}: Lyapunov");
        }
    }

    #[test]
    fn bound_is_the_papers_formula_literally() {
        // sqrt(var(z^2) + 1) evaluated term by term, against sqrt(m4) / m2.
        let x = dataset("product100");
        let m = Moments::new(&x).unwrap();
        let sd = m.m2.sqrt();
        let z2: Vec<f64> = x.iter().map(|v| ((v - m.mean) / sd).powi(2)).collect();
        let mean_z2 = z2.iter().sum::<f64>() / z2.len() as f64;
        let var_z2 = z2.iter().map(|v| (v - mean_z2).powi(2)).sum::<f64>() / z2.len() as f64;
        let literal = (var_z2 + 1.0).sqrt();
        assert!((m.berry_esseen_bound().unwrap() - literal).abs() < 1e-13 * literal);
    }

    #[test]
    fn hand_computed_example() {
        // x = 0, 0, 0, 4: mean 1, deviations -1, -1, -1, 3.
        // m2 = (1+1+1+9)/4 = 3; m3 = (-1-1-1+27)/4 = 6; m4 = (1+1+1+81)/4 = 21;
        // abs_m3 = (1+1+1+27)/4 = 7.5; s^2 = 12/3 = 4.
        let m = Moments::new(&[0.0, 0.0, 0.0, 4.0]).unwrap();
        assert_eq!(
            (m.mean, m.m2, m.m3, m.m4, m.abs_m3),
            (1.0, 3.0, 6.0, 21.0, 7.5)
        );
        assert_eq!(m.sample_variance(), 4.0);
        let s3 = 3f64.powf(1.5);
        assert!((m.skewness().unwrap() - 6.0 / s3).abs() < 1e-15);
        assert!((m.excess_kurtosis().unwrap() - (21.0 / 9.0 - 3.0)).abs() < 1e-15);
        assert!((m.beta_over_sigma3().unwrap() - 7.5 / s3).abs() < 1e-15);
        assert!((m.berry_esseen_bound().unwrap() - 21f64.sqrt() / 3.0).abs() < 1e-15);
    }

    #[test]
    fn large_offset_keeps_its_digits() {
        // 1e4 + (the primes): the same shape as the primes. The shifted mean 10012.9 is
        // itself only representable to 9e-13, which bounds the agreement at ~1e-12
        // relative; the raw-sum formula m3 = E x^3 - 3 mean E x^2 + 2 mean^3 would lose
        // 12 of 16 digits to cancellation here.
        let p = dataset("primes10");
        let shifted: Vec<f64> = p.iter().map(|v| v + 1e4).collect();
        let (a, b) = (Moments::new(&p).unwrap(), Moments::new(&shifted).unwrap());
        assert!(close(b.skewness().unwrap(), a.skewness().unwrap(), 1e-11));
        assert!(close(b.kurtosis().unwrap(), a.kurtosis().unwrap(), 1e-11));
        assert!(close(b.m2, a.m2, 1e-12));
    }

    #[test]
    fn no_shape_without_spread() {
        let m = Moments::new(&[2.5; 7]).unwrap();
        assert!(m.is_constant());
        assert_eq!((m.mean, m.sample_variance()), (2.5, 0.0));
        // 0.1 * 3 / 3 is not 0.1 in floating point; a constant still reports its value.
        let tenth = Moments::new(&[0.1; 3]).unwrap();
        assert_eq!((tenth.mean, tenth.m2), (0.1, 0.0));
        assert_eq!(m.skewness(), Err(NormalityError::Constant { value: 2.5 }));
        assert_eq!(
            m.beta_over_sigma3(),
            Err(NormalityError::Constant { value: 2.5 })
        );
        // 1 + k * 1e-16: distinct doubles, spread below eps * mean (scipy gives NaN).
        let x: Vec<f64> = (-3..=3).map(|k| 1.0 + k as f64 * 1e-16).collect();
        let m = Moments::new(&x).unwrap();
        assert!(!m.is_constant());
        assert_eq!(m.kurtosis(), Err(NormalityError::NearlyConstant));
        assert_eq!(
            Moments::new(&[1.0]),
            Err(NormalityError::TooFewValues {
                test: "moments",
                n: 1,
                min: 2
            })
        );
        assert_eq!(
            Moments::new(&[1.0, f64::NAN]),
            Err(NormalityError::NonFinite)
        );
    }

    #[test]
    fn normal_population_values() {
        // For N(0, 1): E|Z|^3 = 2 sqrt(2/pi) ~ 1.5958, E Z^4 = 3. A seeded sample of 200000
        // is within 4 standard errors (sd of |Z|^3 is sqrt(15 - 8/pi) ~ 3.48, of Z^4 sqrt(96)).
        use rand::Rng as _;
        use rand_distr::StandardNormal;
        let mut rng = crate::rng::seeded(2024);
        let x: Vec<f64> = (0..200_000).map(|_| rng.sample(StandardNormal)).collect();
        let m = Moments::new(&x).unwrap();
        let se = |sd: f64| 4.0 * sd / (200_000f64).sqrt();
        let beta = m.beta_over_sigma3().unwrap();
        assert!((beta - 2.0 * (2.0 / std::f64::consts::PI).sqrt()).abs() < se(3.48) * 1.5);
        assert!((m.kurtosis().unwrap() - 3.0).abs() < se(96f64.sqrt()) * 1.5);
    }
}
