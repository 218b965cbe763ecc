//! The skeleton every gradscope tool shares, so that a tool's own module holds only its
//! arguments, its plan, its measurement and the description of its result rows.
//!
//! - [`exit`]: a binary's `main` (parse the arguments, run, map the result to an exit code;
//!   every error one line, clap's included);
//! - [`console`]: the one writer for stdout and stderr: a closed pipe is a quiet exit 0,
//!   any other write error the one-line error and exit 1, never a panic;
//! - [`args`]: argument groups shared by the tools (`--threads`, `--json`, `--device`) and
//!   the value parser of result-table paths (format checked once, when parsing);
//! - [`coord_split`]: a run split by coordinate (`--coords START:END`, `--shard I/N`);
//! - [`threads`]: rayon's pool from `--threads`, within a cap;
//! - [`progress`]: progress bars on stderr, hidden when it is not a terminal;
//! - [`outputs`]: the files of one run, written to temporaries and renamed together only
//!   when every one of them succeeded;
//! - [`table_builder`]: result tables built column by column;
//! - [`report`]: a tool's result rows described once (name, unit, format, summary label,
//!   JSON), from which the table, the stderr summary and `--json` are all produced;
//! - [`text_table`]: the aligned text table of the stderr summary and its number format.

pub mod args;
pub mod console;
pub mod coord_split;
pub mod exit;
pub mod outputs;
pub mod progress;
pub mod report;
pub mod table_builder;
pub mod text_table;
pub mod threads;

pub use exit::{main_with, parse, tool_name, usage_error, UsageError};
pub use outputs::OutputSet;
