//! The one writer for stdout and stderr.
//!
//! std's `print!` and `eprint!` panic when a write fails ("failed printing to stdout:
//! Broken pipe"), so no tool uses them. Instead:
//!
//! - stdout carries results (CSV for `-o -`, `--json`, listings). [`out`] and [`outln!`]
//!   return the write error, with its `io::Error` kept as the cause, so that
//!   [`crate::exit::main_with`] turns a closed pipe (EPIPE: `| head`, `| true`) into a
//!   quiet exit 0 and any other failure (`> /dev/full`) into the one-line error and exit 1.
//! - stderr carries the summary, notes and the error line. [`err`] and [`errln!`] write
//!   as much as they can and never fail the run: a run whose stderr is closed or full
//!   still writes its results (the summary is a courtesy; the results are the output).
//!
//! Both are unbuffered beyond one call: each call is written and flushed whole.

use anyhow::{Context, Result};
use std::io::Write;

/// Writes `text` to stdout and flushes it. The error keeps the `io::Error` as its cause.
pub fn out(text: &str) -> Result<()> {
    out_bytes(text.as_bytes())
}

/// Writes `bytes` to stdout and flushes them.
pub fn out_bytes(bytes: &[u8]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(bytes)
        .and_then(|()| lock.flush())
        .context("cannot write to stdout")
}

/// Writes `text` to stderr, best effort: a closed or full stderr is ignored.
pub fn err(text: &str) {
    let stderr = std::io::stderr();
    let mut lock = stderr.lock();
    let _ = lock.write_all(text.as_bytes()).and_then(|()| lock.flush());
}

/// `println!` through [`out`]: evaluates to `anyhow::Result<()>`.
#[macro_export]
macro_rules! outln {
    () => { $crate::console::out("\n") };
    ($($arg:tt)*) => { $crate::console::out(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` through [`err`]: best effort, never panics.
#[macro_export]
macro_rules! errln {
    () => { $crate::console::err("\n") };
    ($($arg:tt)*) => { $crate::console::err(&format!("{}\n", format_args!($($arg)*))) };
}

/// Pretty-printed JSON and a newline on stdout (the `--json` output of every tool).
pub fn out_json(value: &serde_json::Value) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    out(&s)
}
