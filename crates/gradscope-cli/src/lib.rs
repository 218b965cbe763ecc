//! gradscope's statistics tools, one module per command (documented arguments, then
//! `run`), and what they share. The binaries in `src/bin/` only parse arguments and call
//! `run`. Nothing here links libtorch.

pub mod app;
pub mod summary;
pub mod table;
pub mod normtest;
pub mod synth_grads;
pub mod vmf_kappa;
pub mod vmf_null;
pub mod grad_spectrum;
pub mod powerlaw_fit;
pub mod read_column;
