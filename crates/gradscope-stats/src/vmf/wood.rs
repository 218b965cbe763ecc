//! Wood's (1994) rejection sampler for the von Mises-Fisher distribution, any dimension.
//!
//! A vMF(mu, kappa) vector on S^{d-1} is x = w mu + sqrt(1 - w^2) v, with v uniform on the
//! unit sphere orthogonal to mu and w in [-1, 1] with density proportional to
//! exp(kappa w) (1 - w^2)^{(d-3)/2} (Wood 1994, Commun. Stat. Simul. 23(1), 157-164).
//! Wood draws w by rejection from a transformed Beta((d-1)/2, (d-1)/2) envelope. The
//! constants are written in forms without cancellation, so the sampler works for kappa
//! from 0 to 1e9 and d into the millions, where the textbook forms lose every digit:
//! b = (d-1) / (2 kappa + sqrt(4 kappa^2 + (d-1)^2)) and 1 - w = 2 b z / (1 - (1-b) z).

use rand::Rng;
use rand_distr::{Beta, Distribution, StandardNormal};

/// The draw of w for vMF(kappa) in d dimensions, prepared once per (d, kappa).
#[derive(Debug, Clone)]
pub struct WoodSampler {
    d: f64,
    kappa: f64,
    b: f64,
    x0: f64,
    c: f64,
    beta: Beta<f64>,
}

/// One draw of the component along the mean direction: w and 1 - w, the latter exact
/// even when w rounds to 1.
#[derive(Debug, Clone, Copy)]
pub struct WoodDraw {
    pub w: f64,
    pub one_minus_w: f64,
}

impl WoodDraw {
    /// sqrt(1 - w^2), the length of the component orthogonal to the mean direction.
    pub fn orthogonal_length(&self) -> f64 {
        (self.one_minus_w * (2.0 - self.one_minus_w))
            .max(0.0)
            .sqrt()
    }
}

impl WoodSampler {
    /// A sampler for d >= 2 and kappa >= 0 (finite). Panics on anything else: callers
    /// validate user input first.
    pub fn new(d: usize, kappa: f64) -> Self {
        assert!(d >= 2, "vMF sampling needs d >= 2");
        assert!(
            kappa.is_finite() && kappa >= 0.0,
            "kappa must be finite and >= 0"
        );
        let m = (d - 1) as f64;
        let b = m / (2.0 * kappa + (4.0 * kappa * kappa + m * m).sqrt());
        let x0 = (1.0 - b) / (1.0 + b);
        let c = kappa * x0 + m * (1.0 - x0 * x0).ln();
        let beta = Beta::new(m / 2.0, m / 2.0).expect("positive Beta parameters");
        Self {
            d: d as f64,
            kappa,
            b,
            x0,
            c,
            beta,
        }
    }

    /// The dimension d.
    pub fn dim(&self) -> f64 {
        self.d
    }

    /// Draws w (Wood 1994, steps 1-4).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> WoodDraw {
        let m = self.d - 1.0;
        loop {
            let z: f64 = self.beta.sample(rng);
            let denom = 1.0 - (1.0 - self.b) * z;
            let one_minus_w = 2.0 * self.b * z / denom;
            let w = 1.0 - one_minus_w;
            let u: f64 = rng.random();
            // Accept if kappa w + (d-1) ln(1 - x0 w) - c >= ln u.
            let lhs = self.kappa * w + m * (1.0 - self.x0 * w).ln() - self.c;
            if lhs >= u.ln() {
                return WoodDraw { w, one_minus_w };
            }
        }
    }
}

/// Fills `out` with a uniformly distributed unit vector (normalised standard normals).
pub fn uniform_direction<R: Rng + ?Sized>(rng: &mut R, out: &mut [f64]) {
    loop {
        let mut ss = 0.0;
        for v in out.iter_mut() {
            let g: f64 = StandardNormal.sample(rng);
            *v = g;
            ss += g * g;
        }
        if ss > 0.0 {
            let inv = 1.0 / ss.sqrt();
            out.iter_mut().for_each(|v| *v *= inv);
            return;
        }
    }
}

/// Fills `out` with one vMF(mu, kappa) draw; `mu` must be a unit vector of the same
/// length as `out`. The orthogonal part is a normalised Gaussian vector with its mu
/// component removed (uniform on the sphere orthogonal to mu).
pub fn sample_vmf<R: Rng + ?Sized>(
    sampler: &WoodSampler,
    mu: &[f64],
    rng: &mut R,
    out: &mut [f64],
) {
    debug_assert_eq!(mu.len(), out.len());
    let draw = sampler.draw(rng);
    loop {
        let mut dot = 0.0;
        for v in out.iter_mut() {
            *v = StandardNormal.sample(rng);
        }
        for (v, m) in out.iter().zip(mu) {
            dot += v * m;
        }
        let mut ss = 0.0;
        for (v, m) in out.iter_mut().zip(mu) {
            *v -= dot * m;
            ss += *v * *v;
        }
        if ss > 0.0 {
            let scale = draw.orthogonal_length() / ss.sqrt();
            for (v, m) in out.iter_mut().zip(mu) {
                *v = *v * scale + draw.w * m;
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;
    use crate::vmf::bessel_ratio::mean_resultant_length;

    #[test]
    fn mean_of_w_is_the_mean_resultant_length() {
        // E[w] = A_d(kappa) (Mardia and Jupp 2000, 9.3.9), checked on 1 - w, which the
        // sampler returns exactly, against 1 - A_d from the complement of the Bessel ratio.
        // 20,000 draws; 6 standard errors bound the check.
        let mut rng = seeded(1);
        for &(d, kappa) in &[
            (3usize, 1.0),
            (3, 50.0),
            (10, 5.0),
            (1000, 100.0),
            (200_000, 5_000.0),
            (1_920_000, 1e6),
            (50, 1e8),
        ] {
            let s = WoodSampler::new(d, kappa);
            let n = 20_000;
            let draws: Vec<f64> = (0..n).map(|_| s.draw(&mut rng).one_minus_w).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|q| (q - mean) * (q - mean)).sum::<f64>() / (n as f64 - 1.0);
            let want = crate::vmf::bessel_ratio::bessel_ratio_complement(d as f64 / 2.0, kappa);
            let se = (var / n as f64).sqrt();
            assert!(
                (mean - want).abs() < 6.0 * se,
                "d={d} kappa={kappa}: {mean} vs {want} (se {se})"
            );
        }
    }

    #[test]
    fn full_vectors_are_unit_and_concentrated() {
        let mut rng = seeded(2);
        let d = 50;
        let mut mu = vec![0.0; d];
        mu[3] = 1.0;
        let s = WoodSampler::new(d, 20.0);
        let mut x = vec![0.0; d];
        let mut sum = 0.0;
        let n = 5000;
        for _ in 0..n {
            sample_vmf(&s, &mu, &mut rng, &mut x);
            let norm: f64 = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
            sum += x[3];
        }
        let want = mean_resultant_length(d as f64, 20.0);
        assert!(
            (sum / n as f64 - want).abs() < 0.01,
            "{} vs {want}",
            sum / n as f64
        );
    }
}
