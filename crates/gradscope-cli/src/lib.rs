//! gradscope's statistics tools, one module per command (documented arguments, then
//! `run`), and what they share. The binaries in `src/bin/` only parse arguments and call
//! `run`. Nothing here links libtorch.

pub mod app;
pub mod grad_spectrum;
pub mod normtest;
pub mod plot;
pub mod powerlaw_fit;
pub mod read_column;
pub mod read_table;
pub mod summary;
pub mod synth_grads;
pub mod table;
pub mod vmf_kappa;
pub mod vmf_null;
pub mod weight_spectra;
