//! Helpers shared by the CLI tests: the tools run single-threaded, and CSV result tables
//! as a header and rows.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::Path;

/// The tool `name`, run with one thread and without the caller's LD_LIBRARY_PATH.
pub fn bin(name: &str) -> Command {
    bin_threads(name, 1)
}

/// The tool `name` with `--threads threads`, without the caller's LD_LIBRARY_PATH.
pub fn bin_threads(name: &str, threads: usize) -> Command {
    let mut c = Command::cargo_bin(name).unwrap();
    c.env_remove("LD_LIBRARY_PATH")
        .arg("--threads")
        .arg(threads.to_string());
    c
}

/// A CSV file as a header and rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}
