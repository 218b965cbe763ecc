//! Helpers shared by the CLI tests: synthetic matrices from `synth-grads`, CSV result
//! tables as rows, and the contract every tool keeps on bad input.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use assert_cmd::Command;
use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

/// One CSV row, column name to text.
pub type Row = HashMap<String, String>;

/// Runs `synth-grads ARGS -o OUT` and requires success.
pub fn synth(args: &[&str], out: &Path) {
    Command::cargo_bin("synth-grads")
        .unwrap()
        .args(args)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

/// A CSV table written by a tool (no quoted fields: the tools write none here).
pub fn read_csv(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

/// A numeric cell.
pub fn f(row: &Row, k: &str) -> f64 {
    row[k]
        .parse()
        .unwrap_or_else(|_| panic!("column {k}: {:?}", row.get(k)))
}

/// The bad-input contract: exit code 1, exactly one stderr line, starting with
/// `error: ` and containing every needle, and nothing written at `out`.
pub fn assert_one_error_line(o: &Output, needles: &[&str], out: &Path) {
    assert_error_line(o, 1, needles, out);
}

/// The same contract for a command line wrong in itself (a value out of range, a
/// malformed list): exit code 2, as clap's own errors.
pub fn assert_usage_error_line(o: &Output, needles: &[&str], out: &Path) {
    assert_error_line(o, 2, needles, out);
}

fn assert_error_line(o: &Output, code: i32, needles: &[&str], out: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err:?} lacks {n:?}");
    }
    assert!(!out.exists(), "a failed run left {}", out.display());
}

/// A tool's `--help` as clap renders it 100 columns wide (the width it uses when stdout
/// is not a terminal), for snapshots.
pub fn help_text(tool: &str, sub: &[&str]) -> String {
    let o = Command::cargo_bin(tool)
        .unwrap()
        .args(sub)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

/// The stderr of a successful run, for snapshots of a tool's summary.
pub fn summary_of(tool: &str, args: &[&str]) -> String {
    let o = Command::cargo_bin(tool)
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(o.status.success(), "{err}");
    err
}

/// The fixed input of the summary snapshots: 40 Gaussian gradients of 30 values at 2 steps
/// in two tensors, seed 7.
pub fn fixed_matrix(dir: &Path) -> std::path::PathBuf {
    let g = dir.join("fixed.parquet");
    synth(
        &[
            "--noise",
            "gaussian:1",
            "--mean-scale",
            "2",
            "--layout",
            "a:4x5,b:10",
            "-n",
            "40",
            "--steps",
            "2",
            "--seed",
            "7",
            "--threads",
            "1",
        ],
        &g,
    );
    g
}
