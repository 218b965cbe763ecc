//! Compensated summation for the log sums behind every exponent estimate.
//!
//! `alpha = 1 + n / sum ln(x/xmin)` is quoted to 1e-12 against the `powerlaw` package, and
//! the xmin scan forms each candidate's sum as a difference of suffix sums over up to
//! millions of terms; plain left-to-right f64 addition loses `O(n eps)` relative accuracy
//! there. Neumaier's variant of Kahan summation (Neumaier 1974) keeps the error at
//! `O(eps)` independent of `n` for the sums of same-signed terms used here.

/// A running sum with Neumaier's error compensation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Neumaier {
    sum: f64,
    compensation: f64,
}

impl Neumaier {
    /// Add one term.
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated total.
    #[inline]
    pub(crate) fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Compensated sum of an iterator of terms.
pub(crate) fn sum<I: IntoIterator<Item = f64>>(terms: I) -> f64 {
    let mut acc = Neumaier::default();
    for t in terms {
        acc.add(t);
    }
    acc.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_lost_low_bits() {
        // 1 + 1e-16 added 10^6 times: naive summation returns exactly 1.
        let exact = 1.0 + 1e-10;
        let got = sum(std::iter::once(1.0).chain(std::iter::repeat_n(1e-16, 1_000_000)));
        assert!((got - exact).abs() < 1e-22 + 2.0 * f64::EPSILON);
        let naive: f64 = std::iter::once(1.0)
            .chain(std::iter::repeat_n(1e-16, 1_000_000))
            .sum();
        assert_eq!(naive, 1.0);
    }
}
