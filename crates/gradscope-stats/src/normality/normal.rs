//! The standard normal distribution at full double precision.
//!
//! The Shapiro-Wilk coefficients are built from normal quantiles and its p-value is a
//! normal tail area; the p-values of the D'Agostino tests are normal tails too. The
//! original Fortran of AS R94 used 7-digit approximations for both (AS 111 and AS 66),
//! which is why scipy <= 1.17 and R disagree in the tenth digit of W. Everything here is
//! accurate to a few units in the last place, so that our W and p agree with R's swilk.c
//! (which calls R's full-precision `qnorm` and `pnorm`) to rounding.

// The coefficients are written with the digits their papers print (up to 20), so that
// they can be checked against the source line by line; the compiler rounds them once.
#![allow(clippy::excessive_precision)]

/// 1 / sqrt(2 pi).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934_381_868_5;

/// Upper tail area Q(z) = P(Z > z) of the standard normal distribution.
///
/// Cody's rational Chebyshev approximations (W. J. Cody, "Rational Chebyshev
/// approximations for the error function", Math. Comp. 23, 1969; the double-precision
/// coefficients of his ANORM routine, SPECFUN / ACM TOMS Algorithm 715, 1993), the same
/// method as R's `pnorm`. Three ranges: |z| <= 0.66291, |z| <= sqrt(32) and beyond; in the
/// two outer ranges the factor exp(-z^2/2) is evaluated as exp(-t^2/2) exp(-(z-t)(z+t)/2)
/// with t = z rounded down to a multiple of 1/16, so that squaring z loses no digits.
/// Relative accuracy is about 1e-15 down to the smallest representable tail (z ~ 38.5);
/// beyond that the result underflows to 0. Why not `1 - cdf` or `erfc(z / sqrt 2)`: the
/// former loses every digit in the upper tail, the latter rounds z / sqrt 2, which costs a
/// relative error of about z^2 ulp in the far tail where tiny p-values live.
///
/// Unitless: z in standard deviations, result a probability. NaN gives NaN.
pub fn normal_sf(z: f64) -> f64 {
    tails(z).1
}

/// Lower tail area Phi(z) = P(Z <= z) of the standard normal distribution.
///
/// Same method and accuracy as [`normal_sf`] (Cody 1969/1993), with the roles of the two
/// tails exchanged, so Phi(-40) is a correct tiny number rather than 0 - rounding.
pub fn normal_cdf(z: f64) -> f64 {
    tails(z).0
}

/// Both tails (P(Z <= z), P(Z > z)), each to full relative precision.
fn tails(z: f64) -> (f64, f64) {
    if z.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let y = z.abs();
    if y <= 0.66291 {
        let t = z * central_ratio(z);
        return (0.5 + t, 0.5 - t);
    }
    // far = P(Z > y) for y > 0.66291.
    let far = if y <= 32f64.sqrt() {
        gaussian_factor(y) * middle_ratio(y)
    } else if y < 40.0 {
        gaussian_factor(y) * asymptotic_ratio(y)
    } else {
        0.0
    };
    if z > 0.0 {
        (1.0 - far, far)
    } else {
        (far, 1.0 - far)
    }
}

/// (Phi(z) - 1/2) / z for |z| <= 0.66291: a ratio of polynomials in z^2 (Cody, first
/// interval).
fn central_ratio(z: f64) -> f64 {
    const NUM: [f64; 5] = [
        2.235_252_035_460_683_928_7,
        161.028_231_068_555_878_81,
        1_067.689_485_460_370_958_2,
        18_154.981_253_343_561_249,
        0.065_682_337_918_207_449_113,
    ];
    const DEN: [f64; 4] = [
        47.202_581_904_688_241_87,
        976.098_551_737_776_693_22,
        10_260.932_208_618_978_205,
        45_507.789_335_026_729_956,
    ];
    // Below half an ulp z^2 no longer matters; zeroing it keeps subnormals out.
    let s = if z.abs() > f64::EPSILON * 0.5 {
        z * z
    } else {
        0.0
    };
    let mut num = NUM[4] * s;
    let mut den = s;
    for k in 0..3 {
        num = (num + NUM[k]) * s;
        den = (den + DEN[k]) * s;
    }
    (num + NUM[3]) / (den + DEN[3])
}

/// Q(y) exp(y^2/2) for 0.66291 < y <= sqrt(32) (Cody, second interval).
fn middle_ratio(y: f64) -> f64 {
    const NUM: [f64; 9] = [
        0.398_941_512_088_134_667_64,
        8.883_149_794_388_375_941_2,
        93.506_656_132_177_855_979,
        597.270_276_394_800_262_26,
        2_494.537_585_290_372_671_1,
        6_848.190_450_536_282_332_6,
        11_602.651_437_647_350_124,
        9_842.714_838_383_978_021_8,
        1.076_557_677_372_019_231_7e-8,
    ];
    const DEN: [f64; 8] = [
        22.266_688_044_328_115_691,
        235.387_901_782_624_998_61,
        1_519.377_599_407_554_805,
        6_485.558_298_266_760_755,
        18_615.571_640_885_098_091,
        34_900.952_721_145_977_266,
        38_912.003_286_093_271_411,
        19_685.429_676_859_990_727,
    ];
    let mut num = NUM[8] * y;
    let mut den = y;
    for k in 0..7 {
        num = (num + NUM[k]) * y;
        den = (den + DEN[k]) * y;
    }
    (num + NUM[7]) / (den + DEN[7])
}

/// Q(y) exp(y^2/2) for y > sqrt(32): the asymptotic series 1/(y sqrt(2 pi)) (1 - ...)
/// with Cody's rational correction in 1/y^2 (third interval).
fn asymptotic_ratio(y: f64) -> f64 {
    const NUM: [f64; 6] = [
        0.215_898_534_057_956_99,
        0.127_401_161_160_247_363_9,
        0.022_235_277_870_649_807,
        0.001_421_619_193_227_893_466,
        2.911_287_495_116_879_2e-5,
        0.023_073_441_764_940_173_03,
    ];
    const DEN: [f64; 5] = [
        1.284_260_096_144_911_21,
        0.468_238_212_480_865_118,
        0.065_988_137_868_928_551_5,
        0.003_782_396_332_027_582_44,
        7.297_515_550_839_662_05e-5,
    ];
    let s = 1.0 / (y * y);
    let mut num = NUM[5] * s;
    let mut den = s;
    for k in 0..4 {
        num = (num + NUM[k]) * s;
        den = (den + DEN[k]) * s;
    }
    let correction = s * (num + NUM[4]) / (den + DEN[4]);
    (FRAC_1_SQRT_2PI - correction) / y
}

/// exp(-y^2 / 2) without the rounding error of squaring y: y = t + d with t a multiple
/// of 1/16 (so t^2 is exact), and y^2 = t^2 + (y - t)(y + t).
fn gaussian_factor(y: f64) -> f64 {
    let t = (y * 16.0).trunc() / 16.0;
    let d = (y - t) * (y + t);
    (-t * t * 0.5).exp() * (-d * 0.5).exp()
}

/// Quantile Phi^{-1}(p) of the standard normal distribution.
///
/// Wichura's algorithm AS 241, PPND16 (M. J. Wichura, "The percentage points of the
/// normal distribution", Applied Statistics 37(3), 1988, 477-484): three rational
/// approximations of degree 7, for |p - 1/2| <= 0.425, for r = sqrt(-ln min(p, 1-p)) <= 5
/// and beyond, accurate to about 1e-16 relative. It is the algorithm of R's `qnorm`, which
/// R's swilk.c uses for the Shapiro-Wilk coefficients; the Fortran AS R94 used the
/// 7-digit AS 111 instead, which moves W in the tenth digit.
///
/// Returns -inf at p = 0, +inf at p = 1 and NaN outside [0, 1]. Unitless.
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        const A: [f64; 8] = [
            3.387_132_872_796_366_608,
            133.141_667_891_784_377_45,
            1_971.590_950_306_551_442_7,
            13_731.693_765_509_461_125,
            45_921.953_931_549_871_457,
            67_265.770_927_008_700_853,
            33_430.575_583_588_128_105,
            2_509.080_928_730_122_672_7,
        ];
        const B: [f64; 8] = [
            1.0,
            42.313_330_701_600_911_252,
            687.187_007_492_057_908_3,
            5_394.196_021_424_751_107_7,
            21_213.794_301_586_595_867,
            39_307.895_800_092_710_61,
            28_729.085_735_721_942_674,
            5_226.495_278_852_854_561,
        ];
        let r = 0.180_625 - q * q;
        return q * horner(&A, r) / horner(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let magnitude = if r <= 5.0 {
        const C: [f64; 8] = [
            1.423_437_110_749_683_577_34,
            4.630_337_846_156_545_295_9,
            5.769_497_221_460_691_405_5,
            3.647_848_324_763_204_605_04,
            1.270_458_252_452_368_382_58,
            0.241_780_725_177_450_611_77,
            0.022_723_844_989_269_184_583_3,
            7.745_450_142_783_414_076_4e-4,
        ];
        const D: [f64; 8] = [
            1.0,
            2.053_191_626_637_758_821_87,
            1.676_384_830_183_803_849_4,
            0.689_767_334_985_100_004_55,
            0.148_103_976_427_480_074_59,
            0.015_198_666_563_616_457_196_6,
            5.475_938_084_995_344_946e-4,
            1.050_750_071_644_416_843_24e-9,
        ];
        let s = r - 1.6;
        horner(&C, s) / horner(&D, s)
    } else {
        const E: [f64; 8] = [
            6.657_904_643_501_103_777_2,
            5.463_784_911_164_114_369_9,
            1.784_826_539_917_291_335_8,
            0.296_560_571_828_504_891_23,
            0.026_532_189_526_576_123_093,
            0.001_242_660_947_388_078_438_6,
            2.711_555_568_743_487_578_15e-5,
            2.010_334_399_292_288_132_65e-7,
        ];
        const F: [f64; 8] = [
            1.0,
            0.599_832_206_555_887_937_69,
            0.136_929_880_922_735_805_31,
            0.014_875_361_290_850_614_852_5,
            7.868_691_311_456_132_591e-4,
            1.846_318_317_510_054_681_8e-5,
            1.421_511_758_316_445_888_7e-7,
            2.044_263_103_389_939_785_64e-15,
        ];
        let s = r - 5.0;
        horner(&E, s) / horner(&F, s)
    };
    if q < 0.0 {
        -magnitude
    } else {
        magnitude
    }
}

/// c[0] + c[1] x + c[2] x^2 + ... by Horner's rule.
pub(crate) fn horner(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ck| acc * x + ck)
}

/// The two-sided normal p-value 2 Q(|z|) of a z statistic, capped at 1.
pub(crate) fn two_sided_p(z: f64) -> f64 {
    (2.0 * normal_sf(z.abs())).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    // (z, Q(z)) at 50 digits: mpmath 1.3.0 erfc(z / sqrt 2) / 2, printed by
    // scripts/reference/normality_reference.py (section "Standard normal upper tail").
    const SF: [(f64, f64); 26] = [
        (-8.0, 0.9999999999999993),
        (-3.0, 0.9986501019683699),
        (-1.0, 0.8413447460685429),
        (-0.5, 0.6914624612740131),
        (0.0, 0.5),
        (1e-10, 0.49999999996010575),
        (0.25, 0.4012936743170763),
        (0.5, 0.3085375387259869),
        (0.66, 0.25462691467133614),
        (0.67, 0.2514288950953101),
        (1.0, 0.15865525393145705),
        (1.5, 0.06680720126885807),
        (2.0, 0.02275013194817921),
        (3.0, 0.0013498980316300946),
        (4.0, 3.1671241833119924e-05),
        (5.0, 2.866515718791939e-07),
        (5.65, 8.022391850663497e-09),
        (5.66, 7.568649751997714e-09),
        (6.0, 9.86587645037698e-10),
        (8.0, 6.220960574271784e-16),
        (10.0, 7.619853024160525e-24),
        (15.0, 3.670966199312751e-51),
        (20.0, 2.7536241186062337e-89),
        (26.5, 4.8461626603033206e-155),
        (30.0, 4.906713927148187e-198),
        (37.0, 5.725571222524577e-300),
    ];

    // (p, Phi^{-1}(p)) at 50 digits: mpmath 1.3.0 sqrt(2) erfinv(2p - 1), same script
    // (section "Standard normal quantile").
    const QUANTILES: [(f64, f64); 23] = [
        (1e-300, -37.0470962993612),
        (1e-100, -21.273453560965326),
        (1e-20, -9.262340089798407),
        (1e-10, -6.361340902404057),
        (1e-05, -4.264890793922825),
        (0.001, -3.0902323061678136),
        (0.01, -2.326347874040841),
        (0.02, -2.053748910631823),
        (0.05, -1.6448536269514726),
        (0.07, -1.4757910281791706),
        (0.075, -1.439531470938456),
        (0.0751, -1.43882539275254),
        (0.1, -1.2815515655446004),
        (0.25, -0.6744897501960817),
        (0.4, -0.2533471031357997),
        (0.5, 0.0),
        (0.6, 0.2533471031357997),
        (0.9, 1.2815515655446006),
        (0.925, 1.4395314709384561),
        (0.93, 1.475791028179171),
        (0.99, 2.3263478740408408),
        (0.999, 3.090232306167813),
        (0.9999999, 5.199337582290661),
    ];

    #[test]
    fn upper_tail_matches_mpmath() {
        for &(z, q) in &SF {
            let e = rel(normal_sf(z), q);
            assert!(e < 5e-15, "Q({z}) = {} vs {q}: rel {e:e}", normal_sf(z));
        }
    }

    #[test]
    fn lower_tail_is_the_mirror_and_complements() {
        for &(z, q) in &SF {
            assert!(rel(normal_cdf(-z), q) < 5e-15, "Phi({})", -z);
            assert!((normal_cdf(z) + normal_sf(z) - 1.0).abs() < 2e-16);
        }
    }

    #[test]
    fn tails_at_the_edges() {
        assert_eq!(normal_sf(f64::INFINITY), 0.0);
        assert_eq!(normal_sf(f64::NEG_INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_sf(45.0), 0.0);
        assert!(normal_sf(f64::NAN).is_nan());
        assert_eq!(normal_sf(0.0), 0.5);
        assert_eq!(two_sided_p(0.0), 1.0);
    }

    #[test]
    fn quantile_matches_mpmath() {
        for &(p, z) in &QUANTILES {
            let got = normal_quantile(p);
            // Absolute 1e-16 where z is 0 or tiny, relative 4e-16 elsewhere.
            assert!(
                (got - z).abs() <= 4e-16 * z.abs() + 1e-16,
                "quantile({p}) = {got} vs {z}"
            );
        }
    }

    #[test]
    fn quantile_edges_and_round_trip() {
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(1.5).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
        for k in 1..1000 {
            let p = k as f64 / 1000.0;
            let z = normal_quantile(p);
            assert!(rel(normal_cdf(z), p) < 3e-15, "round trip at p = {p}");
        }
    }
}
