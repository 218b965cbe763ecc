//! Normality tests, moments and tail indices of gradient coordinates.
//!
//! The Gaussianity study (Wu et al.) asks, per coordinate of every layer, whether the
//! minibatch gradient noise is Gaussian: Shapiro-Wilk (AS R94), the Berry-Esseen ratio
//! beta / sigma^3 and its bound, and the tail index of Simsekli et al. The structure study
//! (Xie et al.) uses the D'Agostino-Pearson K^2 ("chi-square") test. This module provides
//! each, matched to the implementations those studies ran (R's swilk.c and scipy.stats),
//! plus [`CoordinateTests`], which runs a selection of them on one coordinate's samples
//! with precomputed per-n constants and a reusable [`Workspace`], for the normtest tool's
//! parallel loop over ~1e6 coordinates.
//!
//! Conventions: inputs are `f64` slices (`CoordinateTests::run_f32` widens gradient
//! storage); a constant sample is an error ([`NormalityError::Constant`]) or a flagged
//! report, never W = 1; p-values are two-sided where the statistic is a z; all
//! statistics are unitless unless documented otherwise. The reference values in the
//! tests come from R 4.2.2, from scipy 1.17.1 / numpy 2.4.6 and from a 50-digit mpmath
//! evaluation, printed by `scripts/reference/normality_reference.py`.
//!
//! Files: `normal` (full-precision normal tail and quantile), `shapiro_wilk`, `dagostino`,
//! `moments`, `tail_index`, `coordinate`, `error`; the compensated sums are
//! [`crate::summation`]'s.

mod coordinate;
mod dagostino;
mod error;
mod moments;
mod normal;
mod shapiro_wilk;
mod tail_index;
#[cfg(test)]
mod test_data;

pub use coordinate::{CoordinateReport, CoordinateTests, TestSelection, Workspace};
pub use dagostino::{
    dagostino_pearson, dagostino_pearson_from_moments, kurtosis_test, kurtosis_test_from_moments,
    skew_test, skew_test_from_moments, DagostinoPearson, ZTest, KURTOSIS_TEST_MIN_N,
    KURTOSIS_TEST_RELIABLE_N, SKEW_TEST_MIN_N,
};
pub use error::NormalityError;
pub use moments::{Moments, MOMENTS_MIN_N};
pub use normal::{normal_cdf, normal_quantile, normal_sf};
pub use shapiro_wilk::{
    shapiro_wilk, shapiro_wilk_subsample, ShapiroWilk, ShapiroWilkCoefficients, SHAPIRO_WILK_MAX_N,
    SHAPIRO_WILK_MIN_N,
};
pub use tail_index::{default_block_length, tail_index, tail_index_with_block, TailIndex};
