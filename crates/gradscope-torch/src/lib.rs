//! gradscope's libtorch engine (through the `tch` crate): datasets in their original
//! formats, the studies' models, gradient extraction and training.
//!
//! - [`datasets`]: MNIST / Fashion-MNIST (IDX), CIFAR-10/100 (binary tarballs), a tiny
//!   synthetic classification set, preprocessing; checksums verified on load;
//! - [`models`]: every network of the four studies by name, with the papers' parameter
//!   counts; a model is a [`params::ParamStore`] (ordered, named tensors) plus a forward
//!   function;
//! - [`grads`]: minibatch gradients flattened in layout order, for `dump-grads`;
//! - [`inputs`], [`losses`], [`torchscript`]: a user's own data (`x`, `y` from
//!   safetensors, `.npz` or Parquet), loss (cross-entropy, mse, next-token) and network
//!   (a TorchScript module taking any input), for `dump-grads --inputs`;
//! - [`optim`], [`checkpoint`], [`sampler`], [`trainer`]: what `train` needs to take
//!   exactly the same steps after a resume or a replay ([`trainer`] holds the one training
//!   step that `train`, `interp-loss` and `hessian-align` share);
//! - [`point`]: parameter points (snapshots, linear interpolation between iterates) and
//!   evaluating a model on a fixed set, for `interp-loss`;
//! - [`hessian`], [`hessian_spectrum`]: exact Hessian-vector products (Pearlmutter 1994)
//!   ([`hessian_rop`]: by hand for plain ReLU networks) and, from them, Lanczos, power
//!   iteration with deflation and Hutchinson's trace, for `hessian-align`;
//!   [`hessian_blocks`]: the same on the Hessian's diagonal blocks (per layer, per tensor).
//!
//! Every operation that user input reaches (shapes, files) uses tch's fallible `f_*`
//! functions, so bad input is an error message, never a panic.

pub mod checkpoint;
pub mod cuda_backend;
pub mod datasets;
pub mod device;
pub mod grads;
pub mod hessian;
pub mod hessian_blocks;
pub mod hessian_rop;
pub mod hessian_spectrum;
pub mod inputs;
pub mod losses;
pub mod models;
pub mod optim;
pub mod params;
pub mod point;
pub mod sampler;
pub mod sharpness;
pub mod subset_loss;
pub mod torchscript;
pub mod trainer;

pub use datasets::{Dataset, DatasetName, Preprocess, Split};
pub use models::Model;
pub use params::ParamStore;
