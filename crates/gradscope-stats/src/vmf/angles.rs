//! Angles between gradients and a fixed random direction (the vMF study's Figure 3).
//!
//! For a unit vector u drawn uniformly and independently of the gradients, the angle
//! theta = arccos(<g, u>/|g|) between any fixed g and u has cos(theta) distributed as one
//! coordinate of a uniform unit vector, which in high dimension is close to
//! N(0, 1/d); so theta is close to N(90, (180/(pi sqrt d))^2) degrees. The study uses the
//! spread of these angles around that law as a picture of how uniform the gradient
//! directions are: concentrated gradients all make nearly the same angle with u.
//!
//! The accumulator keeps a fixed histogram (bounded memory, whatever the number of
//! gradients): `FINE_BINS` bins over 90 +- `HALF_WIDTH_SD` null standard deviations, plus
//! under- and overflow. The KS distance to the null normal is evaluated at the bin edges,
//! so it is exact up to the null probability of one bin (below 0.0016).

use statrs::distribution::{ContinuousCDF, Normal};

/// Bins of the internal histogram.
pub const FINE_BINS: usize = 4000;
/// Half-width of the histogram range, in null standard deviations.
pub const HALF_WIDTH_SD: f64 = 10.0;

/// The null standard deviation of the angle in degrees, 180/(pi sqrt d).
pub fn null_sd_degrees(d: usize) -> f64 {
    180.0 / (std::f64::consts::PI * (d as f64).sqrt())
}

/// Streaming summary of angles in degrees.
#[derive(Debug, Clone)]
pub struct AngleAccumulator {
    null_sd: f64,
    lo: f64,
    width: f64,
    counts: Vec<u64>,
    under: u64,
    over: u64,
    n: u64,
    /// The running mean of theta - 90 degrees (not of theta): the angles sit within a few
    /// null sds of 90, so their mean's distance from 90, which `mean_z` divides by a tiny
    /// standard error, would otherwise be the difference of two nearly equal numbers and
    /// lose digits in every update and merge.
    mean_dev: f64,
    m2: f64,
}

/// What the accumulator reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AngleSummary {
    pub n: u64,
    /// Mean angle, degrees.
    pub mean: f64,
    /// Sample standard deviation of the angles, degrees.
    pub sd: f64,
    /// 180/(pi sqrt d), degrees.
    pub null_sd: f64,
    /// (mean - 90) / (null_sd / sqrt n): the mean's distance from 90 in standard errors.
    pub mean_z: f64,
    /// sd / null_sd: 1 for uniform directions, below 1 for concentrated ones.
    pub sd_ratio: f64,
    /// Kolmogorov-Smirnov distance between the angles and N(90, null_sd^2).
    pub ks: f64,
}

impl AngleAccumulator {
    /// For angles in dimension d.
    pub fn new(d: usize) -> Self {
        let null_sd = null_sd_degrees(d.max(1));
        let lo = 90.0 - HALF_WIDTH_SD * null_sd;
        let width = 2.0 * HALF_WIDTH_SD * null_sd / FINE_BINS as f64;
        Self {
            null_sd,
            lo,
            width,
            counts: vec![0; FINE_BINS],
            under: 0,
            over: 0,
            n: 0,
            mean_dev: 0.0,
            m2: 0.0,
        }
    }

    /// Adds the angle whose cosine is `cos` (clamped into [-1, 1]).
    pub fn push_cos(&mut self, cos: f64) {
        let deg = cos.clamp(-1.0, 1.0).acos().to_degrees();
        let dev = deg - 90.0;
        self.n += 1;
        let delta = dev - self.mean_dev;
        self.mean_dev += delta / self.n as f64;
        self.m2 += delta * (dev - self.mean_dev);
        let pos = (deg - self.lo) / self.width;
        if pos < 0.0 {
            self.under += 1;
        } else if pos >= FINE_BINS as f64 {
            self.over += 1;
        } else {
            self.counts[pos as usize] += 1;
        }
    }

    /// Adds the angles another accumulator of the same dimension saw (Chan, Golub and
    /// LeVeque 1979 for the mean and sum of squared deviations; counts add). The result
    /// equals one accumulator over both sequences up to the order of floating-point
    /// additions; the histogram is exact.
    pub fn merge(&mut self, other: &AngleAccumulator) {
        let n = self.n + other.n;
        if other.n == 0 {
            return;
        }
        let delta = other.mean_dev - self.mean_dev;
        let (na, nb) = (self.n as f64, other.n as f64);
        self.mean_dev += delta * nb / n as f64;
        self.m2 += other.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
        self.under += other.under;
        self.over += other.over;
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The accumulator's state, to store and merge elsewhere: (n, the mean of theta - 90
    /// degrees, m2 (degrees squared), under, over, the FINE_BINS counts).
    pub fn parts(&self) -> (u64, f64, f64, u64, u64, &[u64]) {
        (
            self.n,
            self.mean_dev,
            self.m2,
            self.under,
            self.over,
            &self.counts,
        )
    }

    /// An accumulator of dimension `d` from stored [`Self::parts`]; `None` when the
    /// counts are not FINE_BINS long or do not add up to n.
    pub fn from_parts(
        d: usize,
        n: u64,
        mean_dev: f64,
        m2: f64,
        under: u64,
        over: u64,
        counts: Vec<u64>,
    ) -> Option<Self> {
        let mut acc = Self::new(d);
        if counts.len() != FINE_BINS
            || counts
                .iter()
                .sum::<u64>()
                .checked_add(under)?
                .checked_add(over)?
                != n
        {
            return None;
        }
        acc.n = n;
        acc.mean_dev = mean_dev;
        acc.m2 = m2;
        acc.under = under;
        acc.over = over;
        acc.counts = counts;
        Some(acc)
    }

    /// The summary; NaN fields when empty.
    pub fn summary(&self) -> AngleSummary {
        let n = self.n;
        if n == 0 {
            return AngleSummary {
                n,
                mean: f64::NAN,
                sd: f64::NAN,
                null_sd: self.null_sd,
                mean_z: f64::NAN,
                sd_ratio: f64::NAN,
                ks: f64::NAN,
            };
        }
        let sd = if n > 1 {
            (self.m2 / (n as f64 - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        let normal = Normal::new(90.0, self.null_sd).expect("positive sd");
        let mut cum = self.under;
        let mut ks = (cum as f64 / n as f64 - normal.cdf(self.lo)).abs();
        for (i, c) in self.counts.iter().enumerate() {
            cum += c;
            let edge = self.lo + (i + 1) as f64 * self.width;
            ks = ks.max((cum as f64 / n as f64 - normal.cdf(edge)).abs());
        }
        AngleSummary {
            n,
            mean: 90.0 + self.mean_dev,
            sd,
            null_sd: self.null_sd,
            mean_z: self.mean_dev / (self.null_sd / (n as f64).sqrt()),
            sd_ratio: sd / self.null_sd,
            ks,
        }
    }

    /// The histogram merged into `bins` equal bins over the same range (`bins` must divide
    /// FINE_BINS): (lower edge, upper edge, count, expected count under the null).
    /// Under- and overflow come as two extra rows with infinite edges.
    pub fn histogram(&self, bins: usize) -> Vec<(f64, f64, u64, f64)> {
        let bins = bins.clamp(1, FINE_BINS);
        let per = FINE_BINS / bins;
        let normal = Normal::new(90.0, self.null_sd).expect("positive sd");
        let n = self.n as f64;
        let mut out = Vec::with_capacity(bins + 2);
        out.push((
            f64::NEG_INFINITY,
            self.lo,
            self.under,
            n * normal.cdf(self.lo),
        ));
        for b in 0..FINE_BINS / per {
            let lo = self.lo + (b * per) as f64 * self.width;
            let hi = self.lo + ((b + 1) * per) as f64 * self.width;
            let count = self.counts[b * per..(b + 1) * per].iter().sum();
            out.push((lo, hi, count, n * (normal.cdf(hi) - normal.cdf(lo))));
        }
        let top = self.lo + FINE_BINS as f64 * self.width;
        out.push((top, f64::INFINITY, self.over, n * normal.sf(top)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;
    use crate::vmf::null_walk::SphereCoordinate;

    #[test]
    fn uniform_directions_follow_the_null_law() {
        // cos(theta) drawn exactly as a coordinate of a uniform unit vector in d = 10,000:
        // mean near 90, sd ratio near 1, KS distance below the 1% critical value for
        // n = 5,000 (1.63/sqrt(n) = 0.023) plus the binning error (0.0016).
        let d = 10_000;
        let coord = SphereCoordinate::new(d);
        let mut rng = seeded(5);
        let mut acc = AngleAccumulator::new(d);
        for _ in 0..5000 {
            acc.push_cos(coord.draw(&mut rng));
        }
        let s = acc.summary();
        assert!(s.mean_z.abs() < 4.0, "{s:?}");
        assert!((s.sd_ratio - 1.0).abs() < 0.05, "{s:?}");
        assert!(s.ks < 0.025, "{s:?}");
        let h = acc.histogram(200);
        assert_eq!(h.len(), 202);
        assert_eq!(h.iter().map(|r| r.2).sum::<u64>(), 5000);
    }

    #[test]
    fn concentrated_angles_are_far_from_the_null() {
        let mut acc = AngleAccumulator::new(10_000);
        for i in 0..1000 {
            acc.push_cos(0.03 + 1e-6 * i as f64);
        }
        let s = acc.summary();
        assert!(s.ks > 0.9 && s.sd_ratio < 0.05, "{s:?}");
    }
}
