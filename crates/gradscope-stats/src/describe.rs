//! Descriptive statistics of a sample: mean, standard deviation, quantiles.
//!
//! The one place the tools take a mean +- sd or a median from (result tables, summaries,
//! repetitions of an experiment). Conventions, stated once:
//! - **sd is the sample standard deviation**, divisor `n - 1` (Bessel's correction; numpy's
//!   `std(ddof=1)`, R's `sd`): the tools summarise repetitions (runs, minibatches) drawn
//!   from a population whose spread is what the reader wants, and `n - 1` makes the
//!   variance unbiased for it.
//! - **n = 1 has no sd: NaN**, not 0. One value says nothing about the spread; 0 would
//!   read as "no variation" in a table. NaN prints as NaN (JSON null) and stays visible.
//!   numpy gives NaN too (with a warning). The mean of one value is the value; of none,
//!   NaN.
//! - **quantiles are Hyndman and Fan's type 7** (R. J. Hyndman and Y. Fan 1996, "Sample
//!   quantiles in statistical packages", The American Statistician 50(4), 361-365): for
//!   sorted `x[0..n]` and `h = (n - 1) q`, `x[floor h] + (h - floor h) (x[floor h + 1] -
//!   x[floor h])`. It is numpy's default (`method="linear"`) and R's; the median is
//!   `q = 0.5` (the mean of the two middle values for even n).
//!
//! Accuracy: the sums are plain left-to-right f64 sums and the sd is two-pass (mean
//! first, then the centred squares), which keeps the numbers bit for bit those the tools
//! printed before this module; numpy's pairwise sums differ from them by a few ulp
//! (tests: 4 ulp relative). numpy interpolates a quantile as `b - (b - a)(1 - g)` when
//! `g >= 0.5`, which can differ from `a + g (b - a)` in the last bit (tests: 2 ulp).
//! Use [`crate::summation`] where the last digits matter.
//!
//! Units: those of the data.

/// The arithmetic mean `sum x / n`; NaN for an empty sample (and when any value is NaN).
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sample standard deviation `sqrt(sum (x - mean)^2 / (n - 1))`; NaN when `n < 2`
/// (see the module's conventions).
pub fn sample_sd(x: &[f64]) -> f64 {
    mean_sd(x).1
}

/// [`mean`] and [`sample_sd`] together (one pass for the mean, one for the squares).
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let m = mean(x);
    if x.len() < 2 {
        return (m, f64::NAN);
    }
    let ss = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>();
    (m, (ss / (x.len() - 1) as f64).sqrt())
}

/// The type-7 quantile `q` (0 <= q <= 1) of values already sorted ascending (see the
/// module's conventions). NaN when `sorted` is empty or `q` is outside [0, 1] or NaN.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The type-7 quantiles `qs` of `x` (any order): one sort of a copy, then
/// [`quantile_sorted`] for each. Every result is NaN when `x` holds a NaN (numpy's
/// behaviour), or empty.
pub fn quantiles(x: &[f64], qs: &[f64]) -> Vec<f64> {
    if x.iter().any(|v| v.is_nan()) {
        return vec![f64::NAN; qs.len()];
    }
    let mut sorted = x.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    qs.iter().map(|&q| quantile_sorted(&sorted, q)).collect()
}

/// The median, type 7 at `q = 0.5`: the middle value, or the mean of the two middle
/// values `a + (b - a) / 2` for even n. NaN for an empty sample or one holding NaN.
pub fn median(x: &[f64]) -> f64 {
    quantiles(x, &[0.5])[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every reference below is printed by scripts/reference/describe_reference.py
    // (numpy 2.4.6: np.mean, np.std(ddof=1), np.quantile(method="linear")).
    const QS: [f64; 9] = [0.0, 0.05, 0.25, 1.0 / 3.0, 0.5, 0.75, 0.95, 0.99, 1.0];

    fn mod1009() -> Vec<f64> {
        (0..1000u64)
            .map(|k| ((k * 7919) % 1009) as f64 / 17.0 - 20.0)
            .collect()
    }

    fn ties() -> Vec<f64> {
        vec![
            0.3, -1.7, 2.9, 4.4, 0.05, 10.0, -3.25, 7.125, 2.9, 2.9, -1.7,
        ]
    }

    fn close(got: f64, want: f64, ulps: f64) -> bool {
        (got - want).abs() <= ulps * f64::EPSILON * want.abs().max(f64::MIN_POSITIVE)
    }

    fn check(x: &[f64], mean_ref: f64, sd_ref: f64, q_ref: [f64; 9]) {
        let (m, sd) = mean_sd(x);
        assert!(close(m, mean_ref, 4.0), "mean {m:e} vs numpy {mean_ref:e}");
        assert!(close(sd, sd_ref, 4.0), "sd {sd:e} vs numpy {sd_ref:e}");
        for ((got, want), q) in quantiles(x, &QS).into_iter().zip(q_ref).zip(QS) {
            assert!(close(got, want, 2.0), "q {q}: {got:e} vs numpy {want:e}");
        }
    }

    #[test]
    fn matches_numpy_on_an_irregular_sample_with_ties() {
        check(
            &ties(),
            2.1750000000000003,
            3.996920689731033,
            [
                -3.25,
                -2.475,
                -0.825,
                0.13333333333333325,
                2.9,
                3.6500000000000004,
                8.5625,
                9.7125,
                10.0,
            ],
        );
    }

    #[test]
    fn matches_numpy_on_a_thousand_values() {
        check(
            &mod1009(),
            9.686941176470588,
            17.14734470545655,
            [
                -20.0,
                -17.061764705882354,
                -5.13235294117647,
                -0.1764705882352935,
                9.73529411764706,
                24.485294117647058,
                36.35588235294117,
                38.70647058823529,
                39.294117647058826,
            ],
        );
    }

    #[test]
    // numpy's sd of [1, 2] is 1/sqrt(2); quoted as numpy printed it.
    #[allow(clippy::approx_constant)]
    fn two_values() {
        check(
            &[2.0, 1.0],
            1.5,
            0.7071067811865476,
            [
                1.0,
                1.05,
                1.25,
                1.3333333333333333,
                1.5,
                1.75,
                1.95,
                1.99,
                2.0,
            ],
        );
        assert_eq!(median(&[2.0, 1.0]), 1.5);
    }

    #[test]
    fn one_value_has_a_mean_and_no_sd() {
        // numpy: mean 2.5, std(ddof=1) nan, every quantile 2.5.
        let (m, sd) = mean_sd(&[2.5]);
        assert_eq!(m, 2.5);
        assert!(sd.is_nan());
        assert!(sample_sd(&[2.5]).is_nan());
        assert!(quantiles(&[2.5], &QS).iter().all(|&q| q == 2.5));
        assert_eq!(median(&[2.5]), 2.5);
    }

    #[test]
    fn empty_and_invalid_inputs_are_nan() {
        let (m, sd) = mean_sd(&[]);
        assert!(m.is_nan() && sd.is_nan());
        assert!(median(&[]).is_nan());
        assert!(quantile_sorted(&[1.0, 2.0], 1.5).is_nan());
        assert!(quantile_sorted(&[1.0, 2.0], -0.1).is_nan());
        assert!(quantile_sorted(&[1.0, 2.0], f64::NAN).is_nan());
        assert!(quantiles(&[1.0, f64::NAN, 3.0], &[0.0, 0.5])
            .iter()
            .all(|q| q.is_nan()));
    }

    #[test]
    fn equals_the_formulas_the_tools_used_bit_for_bit() {
        // vmf-null's mean_sd (n - 1, NaN for n = 1) and normtest's quantile were these
        // formulas; moving to this module must not change a printed digit.
        let x = mod1009();
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt();
        assert_eq!(mean_sd(&x), (m, sd));
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.05, 0.5, 0.95] {
            let h = (sorted.len() - 1) as f64 * q;
            let lo = h.floor() as usize;
            let want = sorted[lo] + (h - lo as f64) * (sorted[lo + 1] - sorted[lo]);
            assert_eq!(quantile_sorted(&sorted, q).to_bits(), want.to_bits());
        }
    }
}
