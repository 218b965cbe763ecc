//! Estimators of the vMF concentration kappa from the mean resultant length r_bar.
//!
//! For n unit vectors x_i in R^d, r_bar = |sum x_i| / n. The maximum-likelihood kappa of a
//! vMF distribution solves A_d(kappa) = r_bar (Mardia and Jupp 2000, 10.3.3), which has no
//! closed form; Banerjee, Dhillon, Ghosh and Sra (2005, JMLR 6, eq. 4.4) give the
//! approximation kappa ~ r_bar (d - r_bar^2) / (1 - r_bar^2), which is what the vMF study
//! reports as kappa-hat. Both are provided: the approximation for comparison with the
//! study, the exact root for everything else.

use super::bessel_ratio::ratio_and_complement;

/// Banerjee et al. (2005) approximation kappa = r (d - r^2) / (1 - r^2).
///
/// Dimensionless. Returns +inf for r = 1 and NaN outside [0, 1].
pub fn banerjee(r_bar: f64, d: f64) -> f64 {
    if !(0.0..=1.0).contains(&r_bar) {
        return f64::NAN;
    }
    r_bar * (d - r_bar * r_bar) / ((1.0 - r_bar) * (1.0 + r_bar))
}

/// The maximum-likelihood kappa: the root of A_d(kappa) = r_bar.
///
/// A_d is increasing from 0 (kappa = 0) to 1 (kappa -> inf), so the root is unique. It is
/// found by Newton's method (as Sra 2012, Comput. Stat. 27, proposes, from the Banerjee
/// start) with the derivative A_d'(kappa) = 1 - A^2 - (d-1) A / kappa (Sra 2012, eq. 5),
/// safeguarded by a bracket so that it cannot leave the region where the root lies; the
/// Bessel ratio is computed without ever forming the Bessel functions (see
/// [`super::bessel_ratio`]), so nothing under- or overflows for d up to 1e8 and beyond.
/// For r_bar > 1/2 the equation is solved as 1 - A_d(kappa) = 1 - r_bar with the
/// complement computed directly, so kappa keeps full precision up to the limit set by
/// r_bar's own rounding (a relative error of about 1e-16 / (1 - r_bar)).
///
/// Returns 0 for r_bar = 0, +inf for r_bar = 1, NaN for r_bar outside [0, 1] or d < 1.
pub fn maximum_likelihood(r_bar: f64, d: f64) -> f64 {
    if r_bar.is_nan() || !(0.0..=1.0).contains(&r_bar) {
        return f64::NAN;
    }
    solve(r_bar, 1.0 - r_bar, d)
}

/// The maximum-likelihood kappa from 1 - r_bar, for callers that know the complement more
/// precisely than r_bar itself (r_bar within 1e-10 of 1).
pub fn maximum_likelihood_from_complement(one_minus_r: f64, d: f64) -> f64 {
    if one_minus_r.is_nan() || !(0.0..=1.0).contains(&one_minus_r) {
        return f64::NAN;
    }
    solve(1.0 - one_minus_r, one_minus_r, d)
}

fn solve(r_bar: f64, q_bar: f64, d: f64) -> f64 {
    if d.is_nan() || d < 1.0 {
        return f64::NAN;
    }
    if r_bar == 0.0 || q_bar == 1.0 {
        return 0.0;
    }
    if q_bar == 0.0 {
        return f64::INFINITY;
    }
    let nu = d / 2.0;
    let use_q = r_bar > 0.5;
    // An increasing function of kappa whose root is the estimate, and A(kappa).
    let f = |k: f64| -> (f64, f64) {
        let (a, q) = ratio_and_complement(nu, k);
        (if use_q { q_bar - q } else { a - r_bar }, a)
    };
    let start = if use_q {
        r_bar * (d - r_bar * r_bar) / (q_bar * (1.0 + r_bar))
    } else {
        banerjee(r_bar, d)
    };
    if !start.is_finite() {
        return start;
    }
    let (mut lo, mut hi) = (start, start);
    let (f0, _) = f(start);
    if f0 == 0.0 {
        return start;
    }
    // Bracket the root by halving or doubling from the start.
    if f0 > 0.0 {
        loop {
            lo *= 0.5;
            if lo < f64::MIN_POSITIVE {
                return lo;
            }
            if f(lo).0 <= 0.0 {
                break;
            }
            hi = lo;
        }
    } else {
        loop {
            hi *= 2.0;
            if hi > f64::MAX / 4.0 {
                return f64::INFINITY;
            }
            if f(hi).0 >= 0.0 {
                break;
            }
            lo = hi;
        }
    }
    let mut k = start.clamp(lo, hi);
    let (mut fk, mut a) = f(k);
    for _ in 0..300 {
        // A'(kappa); from the complement when A is close to 1, where 1 - A^2 would cancel.
        let deriv = if use_q {
            let q = 1.0 - a;
            let q = if use_q { q_bar - fk } else { q };
            q * (2.0 - q) - (d - 1.0) * (1.0 - q) / k
        } else {
            1.0 - a * a - (d - 1.0) * a / k
        };
        let mut next = if deriv > 0.0 && deriv.is_finite() {
            k - fk / deriv
        } else {
            f64::NAN
        };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let step = (next - k).abs();
        k = next;
        (fk, a) = f(k);
        if fk == 0.0 {
            return k;
        }
        if fk > 0.0 {
            hi = k;
        } else {
            lo = k;
        }
        if step <= 2.0 * f64::EPSILON * k || (hi - lo) <= 2.0 * f64::EPSILON * k {
            break;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn eight_vectors_in_three_dimensions() {
        // The foundation issue's example: (0,0,1) twice, (+-0.6,0,0.8), (0,+-0.6,0.8),
        // (0.8,0,0.6), (0,0.8,0.6); r_bar = sqrt(0.66). Values from
        // scripts/reference/vmf_reference.py (mpmath, 60 digits) and the issue.
        let r = 0.66f64.sqrt();
        assert!(rel(r, 0.812_403_840_463_596_04) < 1e-15);
        assert!(rel(banerjee(r, 3.0), 5.591_249_960_837_685) < 1e-15);
        assert!(rel(maximum_likelihood(r, 3.0), 5.329_264_339_979_625) < 1e-14);
    }

    #[test]
    fn maximum_likelihood_against_arbitrary_precision() {
        // (r_bar, d, kappa) from scripts/reference/vmf_reference.py (mpmath findroot on
        // the 60-digit Bessel ratio).
        let cases: &[(f64, f64, f64)] = &[
            (0.5, 2.0, 1.1593199207501384),
            (0.9, 10.0, 43.134687699905915),
            (0.01, 1000.0, 10.000998104000012),
            (0.3, 100000.0, 32966.978526757332),
            (1e-06, 100000000.0, 100.0000000001),
            (0.999999, 3.0, 999999.99997124434),
            (0.05, 206128.0, 10332.230326441936),
            (0.9999, 1000000.0, 4999744988.2499381),
            (0.5, 100000000.0, 66666666.400000002),
        ];
        for &(r, d, want) in cases {
            let got = maximum_likelihood(r, d);
            // Conditioning: d kappa / kappa = (dA/A) * A/(kappa A'), large only as r -> 1.
            let tol = if r > 0.999 { 1e-9 } else { 1e-13 };
            assert!(rel(got, want) < tol, "r={r} d={d}: got {got}, want {want}");
        }
    }

    #[test]
    fn whole_range_round_trips() {
        // kappa -> 1 - A_d(kappa) -> kappa over d in [2, 1e8] and kappa in [1e-8, 1e9]:
        // scipy's vonmises_fisher.fit returns 1e-8 for every d >= 67 (its Bessel
        // functions underflow); this one must not. Through r_bar itself the round trip is
        // limited by r_bar's rounding (1e-16 / (1 - r_bar)); through the complement, not.
        use crate::vmf::bessel_ratio::{bessel_ratio, bessel_ratio_complement};
        for &d in &[2.0, 3.0, 67.0, 1e3, 206_128.0, 1.92e6, 1e8] {
            for e in -16..=18 {
                let kappa = 10f64.powf(e as f64 / 2.0);
                let q = bessel_ratio_complement(d / 2.0, kappa);
                if q < 0.5 {
                    // Below x = 2000 (and nu < 1000) 1 - A comes from 1 - R itself, with a
                    // relative error up to eps / q (see bessel_ratio::ratio_and_complement).
                    let back = maximum_likelihood_from_complement(q, d);
                    let tol = 1e-13 + 4.0 * f64::EPSILON / q.max(1.0 / 8000.0);
                    assert!(rel(back, kappa) < tol, "d={d} kappa={kappa}: back {back}");
                }
                let r = bessel_ratio(d / 2.0, kappa);
                let back = maximum_likelihood(r, d);
                let tol = 1e-13 + 4.0 * f64::EPSILON / q;
                assert!(
                    rel(back, kappa) < tol,
                    "d={d} kappa={kappa}: back {back} (tol {tol})"
                );
            }
        }
    }

    #[test]
    fn edges() {
        assert_eq!(maximum_likelihood(0.0, 10.0), 0.0);
        assert!(maximum_likelihood(1.0, 10.0).is_infinite());
        assert!(maximum_likelihood(1.5, 10.0).is_nan());
        assert!(maximum_likelihood(-0.1, 10.0).is_nan());
        assert!(banerjee(1.1, 3.0).is_nan());
    }
}
