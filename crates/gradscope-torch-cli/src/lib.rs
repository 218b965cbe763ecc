//! gradscope's libtorch tools, one module per command (documented arguments, then `run`):
//! [`train`], [`dump_grads`], and the walk study's [`interp_loss`] and [`hessian_align`].
//! The binaries in `src/bin/` only parse arguments and call `run`; [`common`] holds the
//! options they share (data, device, threads); [`checkpoint_run`] opens a `train`
//! checkpoint with its data for the tools that measure at one.

pub mod checkpoint_run;
pub mod common;
pub mod dump_grads;
pub mod hessian_align;
pub mod interp_loss;
pub mod shard;
pub mod train;
pub mod training_data;
