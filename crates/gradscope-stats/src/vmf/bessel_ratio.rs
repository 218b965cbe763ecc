//! The ratio of modified Bessel functions of the first kind, I_nu(x) / I_{nu-1}(x).
//!
//! The mean resultant length of a d-dimensional von Mises-Fisher distribution with
//! concentration kappa is A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) (Mardia and Jupp
//! 2000, section 9.3.2), and its maximum-likelihood kappa solves A_d(kappa) = r_bar. The
//! gradients this tool measures live in d up to 1e8 with kappa anywhere from 1e-8 to 1e9,
//! where both Bessel functions over- or underflow any floating-point format long before
//! their ratio leaves (0, 1). So the ratio is computed directly, never the functions:
//!
//! 1. For nu >= [`DEBYE_ORDER`], Debye's uniform asymptotic expansion in the order
//!    (Abramowitz and Stegun 9.7.7 and 9.7.9; DLMF 10.41.3 and 10.41.4), in the form of the
//!    logarithmic derivative, which needs no difference of huge logarithms:
//!    with z = x/nu and t = 1/sqrt(1+z^2),
//!    I_nu'(x)/I_nu(x) = (1/(t z)) * sum_k v_k(t)/nu^k / sum_k u_k(t)/nu^k,
//!    and since I_{nu-1}(x) = I_nu'(x) + (nu/x) I_nu(x) (DLMF 10.29.2),
//!    R_nu(x) = I_nu/I_{nu-1} = z / (sum v / (t * sum u) + 1).
//!    Four correction terms leave a relative error below 1e-16 for nu >= 1000 at every x.
//! 2. For smaller nu, the same expansion at an order nu + m >= 1000 with the same fractional
//!    part, followed by the downward recurrence R_{nu}(x) = x / (2 nu + x R_{nu+1}(x))
//!    (DLMF 10.29.1). This is the direction in which the recurrence is stable for the
//!    minimal solution I: an error in R_{nu+1} is multiplied by R_nu^2 <= 1 at each step, so
//!    the seed's error never grows and rounding errors do not accumulate beyond m * eps.

/// The order from which the Debye expansion alone is used.
pub const DEBYE_ORDER: f64 = 1000.0;

/// The argument from which the Debye expansion alone is used, whatever the order.
pub const DEBYE_ARGUMENT: f64 = 2000.0;

/// R_nu(x) = I_nu(x) / I_{nu-1}(x) for nu >= 1/2 and x >= 0 (R_nu(0) = 0).
///
/// Accurate to a few ulps for x in [0, 1e300) and nu in [1/2, 1e300); returns NaN for
/// negative or NaN arguments.
pub fn bessel_ratio(nu: f64, x: f64) -> f64 {
    ratio_and_complement(nu, x).0
}

/// 1 - R_nu(x), computed without forming R: accurate to a few ulps relative to itself even
/// when R_nu(x) is within 1e-12 of 1 (x >> nu), where `1.0 - bessel_ratio(nu, x)` would keep
/// only a few digits. The maximum-likelihood kappa needs it when r_bar is close to 1.
pub fn bessel_ratio_complement(nu: f64, x: f64) -> f64 {
    ratio_and_complement(nu, x).1
}

/// (R_nu(x), 1 - R_nu(x)).
///
/// Routes: nu = 1/2 in closed form (tanh x and 2/(e^{2x}+1)); Debye's expansion when
/// nu >= [`DEBYE_ORDER`] or x >= [`DEBYE_ARGUMENT`] (for small nu and large x its terms
/// u_k(t)/nu^k reduce to the large-argument series in 1/x, complete through 1/x^5, so the
/// truncation error is below 1e-16 there too); otherwise the downward recurrence, stable
/// for R, after which 1 - R is formed directly (R <= 1 - 1/(4 DEBYE_ARGUMENT) for nu >= 1
/// in this region, so at most 13 digits of 1 - R survive; nu in (1/2, 1) is not a
/// dimension the tools use).
pub fn ratio_and_complement(nu: f64, x: f64) -> (f64, f64) {
    if nu.is_nan() || x.is_nan() || nu < 0.5 || x < 0.0 {
        return (f64::NAN, f64::NAN);
    }
    if x == 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    if nu == 0.5 {
        // tanh x = 1 - 2/(e^{2x} + 1), exact in both parts.
        let q = 2.0 / ((2.0 * x).exp() + 1.0);
        return (x.tanh(), q);
    }
    if nu >= DEBYE_ORDER || x >= DEBYE_ARGUMENT {
        return debye(nu, x);
    }
    let steps = (DEBYE_ORDER - nu).ceil();
    let mut order = nu + steps;
    let mut r = debye(order, x).0;
    for _ in 0..steps as usize {
        order -= 1.0;
        r = x / (2.0 * order + x * r);
    }
    (r, 1.0 - r)
}

/// The vMF mean resultant length A_d(kappa) = I_{d/2}(kappa)/I_{d/2-1}(kappa), d >= 1.
pub fn mean_resultant_length(d: f64, kappa: f64) -> f64 {
    bessel_ratio(d / 2.0, kappa)
}

/// Polynomial with coefficients in increasing powers of t^2, times t^k.
fn poly(t: f64, t2: f64, k: i32, coeffs: &[f64], den: f64) -> f64 {
    let mut acc = 0.0;
    for c in coeffs.iter().rev() {
        acc = acc * t2 + c;
    }
    acc * t.powi(k) / den
}

/// Debye's expansion of the ratio and its complement (see the module documentation), for
/// large nu. With s1 = sqrt(1+z^2) = 1/t and S = sv/(t su) + 1 = s1 + 1 + (sv-su)/(t su):
/// R = z / S and 1 - R = (1/(s1 + z) + 1 + (sv - su)/(t su)) / S, using s1 - z = 1/(s1 + z).
fn debye(nu: f64, x: f64) -> (f64, f64) {
    let z = x / nu;
    // s1 = sqrt(1+z^2) without overflow for z up to 1e300.
    let s1 = if z > 1e150 { z } else { (1.0 + z * z).sqrt() };
    let t = 1.0 / s1;
    let t2 = t * t;
    // u_k(t) and v_k(t), k = 1..5 (Abramowitz and Stegun 9.3.9, 9.3.13; DLMF 10.41.10,
    // 10.41.11; regenerated from the recurrences by scripts/reference/vmf_reference.py).
    let u = [
        poly(t, t2, 1, &[3.0, -5.0], 24.0),
        poly(t, t2, 2, &[81.0, -462.0, 385.0], 1152.0),
        poly(
            t,
            t2,
            3,
            &[30375.0, -369603.0, 765765.0, -425425.0],
            414720.0,
        ),
        poly(
            t,
            t2,
            4,
            &[
                4465125.0,
                -94121676.0,
                349922430.0,
                -446185740.0,
                185910725.0,
            ],
            39813120.0,
        ),
        poly(
            t,
            t2,
            5,
            &[
                1519035525.0,
                -49286948607.0,
                284499769554.0,
                -614135872350.0,
                566098157625.0,
                -188699385875.0,
            ],
            6688604160.0,
        ),
    ];
    let v = [
        poly(t, t2, 1, &[-9.0, 7.0], 24.0),
        poly(t, t2, 2, &[-135.0, 594.0, -455.0], 1152.0),
        poly(
            t,
            t2,
            3,
            &[-42525.0, 451737.0, -883575.0, 475475.0],
            414720.0,
        ),
        poly(
            t,
            t2,
            4,
            &[
                -5740875.0,
                111234708.0,
                -396578754.0,
                493152660.0,
                -202076875.0,
            ],
            39813120.0,
        ),
        poly(
            t,
            t2,
            5,
            &[
                -1856598975.0,
                56869556085.0,
                -317970330678.0,
                672625003050.0,
                -611386010235.0,
                201713136625.0,
            ],
            6688604160.0,
        ),
    ];
    let h = 1.0 / nu;
    let (mut su, mut diff, mut p) = (1.0, 0.0, 1.0);
    for k in 0..5 {
        p *= h;
        su += u[k] * p;
        diff += (v[k] - u[k]) * p;
    }
    let corr = diff / (t * su);
    let big_s = s1 + 1.0 + corr;
    (z / big_s, (1.0 / (s1 + z) + 1.0 + corr) / big_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn half_orders_have_closed_forms() {
        // I_{1/2}/I_{-1/2} = tanh x and I_{3/2}/I_{1/2} = coth x - 1/x (DLMF 10.49.i).
        for &x in &[
            1e-6f64,
            1e-3,
            0.1,
            0.5,
            1.0,
            2.0,
            5.329264339979625,
            10.0,
            30.0,
            300.0,
        ] {
            let tanh = x.tanh();
            assert!(rel(bessel_ratio(0.5, x), tanh) < 4e-15, "nu=1/2 x={x}");
            // coth x - 1/x cancels for small x (relative error about 3 eps / x^2): there,
            // compare with its series x/3 - x^3/45 + 2x^5/945 - x^7/4725 (DLMF 4.33.3).
            let (a3, tol) = if x < 1e-2 {
                (
                    x / 3.0 - x.powi(3) / 45.0 + 2.0 * x.powi(5) / 945.0 - x.powi(7) / 4725.0,
                    4e-15,
                )
            } else {
                (
                    1.0 / x.tanh() - 1.0 / x,
                    4e-15 + 8.0 * f64::EPSILON / (x * x),
                )
            };
            assert!(rel(bessel_ratio(1.5, x), a3) < tol, "nu=3/2 x={x}");
            // Complements: 1 - tanh x = 2/(e^{2x}+1), exact in f64 for every x here.
            let q = 2.0 / ((2.0 * x).exp() + 1.0);
            assert!(
                rel(bessel_ratio_complement(0.5, x), q) < 1e-14,
                "complement nu=1/2 x={x}"
            );
        }
    }

    #[test]
    fn arbitrary_precision_reference_values() {
        // scripts/reference/vmf_reference.py (mpmath, 60 digits; independent routes:
        // power series, Debye's expansion of I alone with 14 terms, closed forms).
        let cases: &[(f64, f64, f64)] = &[
            (1.0, 1.0, 0.44638996589653451),
            (1.0, 100.0, 0.99498737300516877),
            (5.0, 3.0, 0.28002771438525392),
            (103064.0, 6527.09, 0.03163354094963202),
            (317600.0, 1e-08, 1.5743073047858942e-14),
            (960000.0, 1000000000.0, 0.99904046129893429),
            (60.0, 1000000000.0, 0.99999994050000174),
            (999.5, 2000.0, 0.61824865983210928),
            (2.5, 1000000.0, 0.999998000001),
            (1.5, 1000000000.0, 0.999999999),
            (50000000.0, 30000000.0, 0.27698396528690459),
            (50000000.0, 1000000000.0, 0.95124922017634855),
            (100.0, 3.0, 0.014996659889263686),
            (300.0, 10000.0, 0.97049694855559789),
            (1000.0, 1000.0, 0.41425644865126738),
        ];
        for &(nu, x, want) in cases {
            let got = bessel_ratio(nu, x);
            assert!(
                rel(got, want) < 1e-14,
                "nu={nu} x={x}: got {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn expansion_and_recurrence_agree_at_the_switch() {
        // The two routes meet at nu = 1000: one step of the recurrence from 1001 must
        // reproduce the direct expansion at 1000 (a check of the u_k, v_k coefficients).
        for &x in &[1e-3, 1.0, 500.0, 1000.0, 3000.0, 1e5, 1e8] {
            let (direct, direct_q) = debye(1000.0, x);
            let (next, next_q) = debye(1001.0, x);
            let d = 2000.0 + x * next;
            assert!(rel(direct, x / d) < 4e-16, "x={x}: {direct} vs {}", x / d);
            let via_q = (2000.0 - x * next_q) / d;
            assert!(rel(direct_q, via_q) < 1e-15, "x={x}: {direct_q} vs {via_q}");
        }
    }

    #[test]
    fn complements_far_into_the_tail() {
        // 1 - R_nu(x) for x >> nu, from scripts/reference/vmf_reference.py (mpmath):
        // values whose R rounds to 1 in f64 or keeps only a few digits of 1 - R.
        let cases: &[(f64, f64, f64)] = &[
            (1.5, 1e9, 1.000000000e-09),
            (1.0, 1e12, 5.0000000000012500e-13),
            (960000.0, 1e9, 9.5953870106570666e-4),
        ];
        for &(nu, x, want) in cases {
            let got = bessel_ratio_complement(nu, x);
            assert!(rel(got, want) < 1e-12, "nu={nu} x={x}: {got:e} vs {want:e}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(bessel_ratio(3.0, 0.0), 0.0);
        assert!(bessel_ratio(3.0, -1.0).is_nan());
        assert!(bessel_ratio(0.25, 1.0).is_nan());
        // Small x: R_nu(x) ~ x/(2 nu).
        assert!(rel(bessel_ratio(5e7, 1e-8), 1e-8 / 1e8) < 1e-12);
    }
}
