//! The structure study's two element views of a Gradient History Matrix (Xie et al.,
//! appendix A.1 and B; Tables 2 and 3).
//!
//! With the `n` gradients as rows of `X` (`n x d`):
//! - **dimension-wise** gradients are the `d` elements of one gradient `g_t` (a row of
//!   `X`, a column of the study's `d x T` matrix): how the gradient is spread over
//!   parameters at one iteration;
//! - **iteration-wise** gradients are the `n` values of one coordinate `i` over the
//!   iterations (a column of `X`): how one parameter's gradient fluctuates.
//!
//! The study tests each such set for a power law with the top-`k` rule (`k = 1000`,
//! `d_c = 1.36/sqrt(k)`) and reports the mean `d_ks` and the fraction of sets accepted
//! (the "power-law rate"). A power law lives on `x > 0`, so the tested values are
//! magnitudes `|g|`; the appendix does not say whether the mean gradient is removed
//! first, so both are offered: `centre = true` tests the gradient *noise*
//! `|g_t,i - g_bar_i|` (`g_bar` the mean over the `n` gradients), `false` the raw
//! `|g_t,i|`. This is our reading; the study's text fixes neither choice.

use crate::powerlaw::fit_spectrum_top_k;

/// Per-coordinate means of the `n x d` row-major matrix `x` (f64 accumulation).
pub fn coordinate_means(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut m = vec![0.0f64; d];
    for row in x.chunks_exact(d).take(n) {
        for (a, &v) in m.iter_mut().zip(row) {
            *a += v as f64;
        }
    }
    for a in &mut m {
        *a /= n as f64;
    }
    m
}

/// Dimension-wise view of gradient `t`: `|x[t, i] - mean_i|` for `i = 0..d`, with
/// `means` from [`coordinate_means`] (or `None` for the raw magnitudes).
pub fn dimension_wise(x: &[f32], d: usize, t: usize, means: Option<&[f64]>) -> Vec<f64> {
    let row = &x[t * d..(t + 1) * d];
    match means {
        Some(m) => row
            .iter()
            .zip(m)
            .map(|(&v, &mu)| (v as f64 - mu).abs())
            .collect(),
        None => row.iter().map(|&v| (v as f64).abs()).collect(),
    }
}

/// Iteration-wise view of coordinate `i`: `|x[t, i] - mean_i|` for `t = 0..n`
/// (`centre = false`: `|x[t, i]|`).
pub fn iteration_wise(x: &[f32], n: usize, d: usize, i: usize, centre: bool) -> Vec<f64> {
    let col: Vec<f64> = (0..n).map(|t| x[t * d + i] as f64).collect();
    let mu = if centre {
        col.iter().sum::<f64>() / n as f64
    } else {
        0.0
    };
    col.iter().map(|&v| (v - mu).abs()).collect()
}

/// Power-law statistics of many element sets, as the study's Tables 2 and 3 report them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewFits {
    /// Sets fitted (those with at least `k` positive values).
    pub tested: usize,
    /// Sets skipped for having fewer than `k` positive values.
    pub skipped: usize,
    /// Sets whose top-`k` fit has `d_ks < 1.36/sqrt(k)`.
    pub accepted: usize,
    /// Mean `d_ks` over the tested sets (the study's `d_ks` bar); NaN if none.
    pub mean_ks: f64,
    /// Mean exponent `alpha` over the tested sets; NaN if none.
    pub mean_alpha: f64,
}

impl ViewFits {
    /// The power-law rate `accepted / tested` (NaN when nothing was tested).
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.tested as f64
    }
}

/// Top-`k` power-law tests of each set in `sets` (non-positive values are dropped, as
/// [`fit_spectrum_top_k`] does).
pub fn view_fits<I>(sets: I, k: usize) -> ViewFits
where
    I: IntoIterator<Item = Vec<f64>>,
{
    let mut out = ViewFits {
        tested: 0,
        skipped: 0,
        accepted: 0,
        mean_ks: 0.0,
        mean_alpha: 0.0,
    };
    for set in sets {
        match fit_spectrum_top_k(&set, k) {
            Ok(f) => {
                out.tested += 1;
                out.accepted += usize::from(f.power_law);
                out.mean_ks += f.fit.ks_distance;
                out.mean_alpha += f.fit.alpha;
            }
            Err(_) => out.skipped += 1,
        }
    }
    out.mean_ks /= out.tested as f64;
    out.mean_alpha /= out.tested as f64;
    out
}
