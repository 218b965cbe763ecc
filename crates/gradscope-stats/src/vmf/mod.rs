//! Directional statistics of gradients: the von Mises-Fisher (vMF) study's estimators
//! (Lee, Cho and Kang, ICLR 2020), their null distributions, and the samplers behind the
//! synthetic gradient matrices and the reproductions.
//!
//! - [`bessel_ratio`]: A_d(kappa) = I_{d/2}/I_{d/2-1}, stable for d to 1e8 and beyond;
//! - [`kappa`]: Banerjee's approximation and the maximum-likelihood kappa;
//! - [`wood`]: Wood's (1994) sampler for vMF vectors in any dimension;
//! - [`null_walk`]: |x_1 + ... + x_n| simulated exactly without the d-dimensional vectors;
//! - [`uniformity`]: the Rayleigh test and kappa-hat's law under uniformity;
//! - [`angles`]: angles to a random direction (the study's Figure 3);
//! - [`directional`]: the one-pass accumulator that `vmf-kappa` runs over a gradient stream.

pub mod angles;
pub mod bessel_ratio;
pub mod directional;
pub mod kappa;
pub mod null_walk;
pub mod uniformity;
pub mod wood;

pub use bessel_ratio::{bessel_ratio, bessel_ratio_complement, mean_resultant_length};
pub use directional::{
    DirectionalAccumulator, DirectionalState, Scope, ScopeMoments, ScopeStats, StateError,
    MAX_BLOCK,
};
pub use kappa::{banerjee, maximum_likelihood, maximum_likelihood_from_complement};
