//! gradscope's libtorch tools, one module per command (documented arguments, then `run`):
//! [`train`] and [`dump_grads`]. The binaries in `src/bin/` only parse arguments and call
//! `run`; [`common`] holds the options they share (data, device, threads).

pub mod common;
pub mod dump_grads;
pub mod train;
