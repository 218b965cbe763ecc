//! gradscope's libtorch tools, one module per command (documented arguments, then `run`):
//! [`train`], [`dump_grads`], and the walk study's [`interp_loss`] and [`hessian_align`].
//! The binaries in `src/bin/` only parse arguments and call `run`; [`common`] holds the
//! options they share (data, device, threads).

pub mod common;
pub mod dump_grads;
pub mod hessian_align;
pub mod interp_loss;
pub mod shard;
pub mod train;
pub mod training_data;
