//! gradscope's file formats.
//!
//! - [`provenance`]: the JSON every gradient matrix and result table carries under the
//!   key `gradscope` (format version, model, data, seed, parameter layout, command line);
//! - [`grad_matrix`]: the gradient matrix: its Arrow schema and the checks that turn a
//!   wrong file into one clear error;
//! - [`grad_writer`] and [`grad_reader`]: streaming writer and reader, Parquet on disk and
//!   an Arrow IPC stream when the path is `-`, in memory bounded by one row group;
//! - [`grad_parts`]: a matrix in parts (a directory, hive partitions, a glob, several
//!   files) read as one by a k-way merge on (step, sample);
//! - [`pipe`]: 1 MiB pipe buffers for gradient streams;
//! - [`result_table`]: result tables as Parquet, CSV or JSON chosen by extension;
//! - [`values_chunk_writer`] and [`values_page_decoder`]: the Parquet `values` column
//!   written, and decoded, page by page without per-value level bookkeeping;
//! - [`decoder_guard`]: panics inside arrow-rs and parquet on corrupt input, as errors;
//! - [`state_file`]: state files, the sufficient statistics of a run over one part of
//!   the data, and the checks that let only parts of the same run merge;
//! - [`safetensors_file`]: tensors of a safetensors file (weights, checkpoints), read one
//!   at a time with the header checked against the file;
//! - [`atomic`]: outputs are written to a temporary file and renamed, so a failed run
//!   never leaves a half-written result.
//!
//! This crate uses arrow-rs and parquet only (no polars, no libtorch).

pub mod atomic;
pub mod decoder_guard;
pub mod grad_matrix;
pub mod grad_parts;
pub mod grad_reader;
pub mod grad_writer;
pub mod ipc_stream;
pub mod pipe;
pub mod provenance;
pub mod result_table;
pub mod safetensors_file;
pub mod state_file;
pub mod values_chunk_writer;
pub mod values_page_decoder;

pub use grad_matrix::{TensorLayout, GRAD_COLUMNS};
pub use grad_reader::{GradReader, PartReader, Sample};
pub use grad_writer::{check_matrix_path, GradWriter, WriterOptions};
pub use provenance::Provenance;
pub use result_table::{write_table, TableFormat};

/// The key of the provenance JSON in Parquet key-value metadata and Arrow schema metadata.
pub const METADATA_KEY: &str = "gradscope";

/// The version of the gradient-matrix format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How a path names standard input or output.
pub fn is_stdio(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}
