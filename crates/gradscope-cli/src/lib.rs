//! gradscope's statistics tools, one module per command (documented arguments, then
//! `run`), and what they share. The binaries in `src/bin/` only parse arguments and call
//! `run`; the skeleton around each `run` (exit codes, the stdout/stderr writer, shared
//! flags, output sets, result tables) is the `gradscope-tool` crate. Nothing here links
//! libtorch.

pub mod noise_scale;
pub mod normtest;
pub mod plot;
pub mod powerlaw_fit;
pub mod read_column;
pub mod read_table;
pub mod spectra_from_file;
pub mod synth_grads;
pub mod vmf_kappa;
pub mod vmf_null;
pub mod vmf_state;
pub mod weight_spectra;
