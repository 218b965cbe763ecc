//! The statistics of gradscope.
//!
//! Everything here is pure Rust with no libtorch dependency, so the statistics tools
//! (`vmf-kappa`, `normtest`, `powerlaw-fit`) build in seconds and run anywhere.
//! Every estimator documents its formula and the reference it follows; every test
//! compares against published or independently computed values and says where each
//! value came from.
//!
//! Accumulations are in `f64` throughout, whatever the storage type of the data.

pub mod barrier;
pub mod describe;
pub mod lanczos_quadrature;
pub mod noise_scale;
pub mod normality;
pub mod powerlaw;
pub mod rng;
pub mod spectrum;
pub mod summation;
pub mod vmf;
pub mod weight_spectrum;
