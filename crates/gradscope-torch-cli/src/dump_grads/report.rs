//! What a `dump-grads` run wrote, described once: the stderr summary comes from it.

use gradscope_tool::report::{Column, Report};

/// The run's one row.
#[derive(Debug, Clone)]
pub struct Written {
    /// Gradients (rows of the gradient matrix per tensor) written.
    pub gradients: u64,
    /// Values per gradient (the parameters chosen).
    pub dim: u64,
    pub model: String,
    /// The data and its preprocessing (as the provenance records it).
    pub data: String,
    /// The output file, or `stdout`.
    pub output: String,
}

/// The summary's columns.
pub fn written() -> Report<Written> {
    Report::new(vec![
        Column::u64("gradients", |r: &Written| r.gradients).summary("gradients"),
        Column::u64("dim", |r: &Written| r.dim).summary("values each"),
        Column::str("model", |r: &Written| r.model.as_str()).summary("model"),
        Column::str("data", |r: &Written| r.data.as_str()).summary("data"),
        Column::str("output", |r: &Written| r.output.as_str()).summary("output"),
    ])
}
