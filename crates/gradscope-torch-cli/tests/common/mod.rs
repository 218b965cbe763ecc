//! Helpers shared by the CLI tests: the tools run single-threaded, and CSV result tables
//! as a header and rows.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::Path;
use std::process::Output;

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

/// The contract every tool keeps on bad input: exit code `code` (1 for bad input, 2 for a
/// command line wrong in itself, as clap's own errors), exactly one stderr line that
/// starts with `error: ` and contains every needle, and none of `absent` written.
/// Returns the line, for checks of its own.
#[track_caller]
pub fn assert_error_line(o: &Output, code: i32, needles: &[&str], absent: &[&Path]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err:?} lacks {n:?}");
    }
    for p in absent {
        assert!(!p.exists(), "a failed run left {}", p.display());
    }
    err
}

/// A tool's `--help` as clap renders it 100 columns wide (the width it uses when stdout is
/// not a terminal), for snapshots.
pub fn help_text(tool: &str) -> String {
    let o = Command::cargo_bin(tool)
        .unwrap()
        .env_remove("LD_LIBRARY_PATH")
        .env("COLUMNS", "100")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
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

/// The stderr of a successful run of `tool` (one thread), for snapshots of its summary,
/// with `dir` written as `DIR` and timings masked (see [`mask_times`]).
pub fn summary_of(tool: &str, args: &[&str], dir: &Path) -> String {
    let o = bin(tool).args(args).output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(o.status.success(), "{err}");
    mask_times(&err.replace(dir.to_str().unwrap(), "DIR"))
}

/// `text` with every decimal number (a word with a point that parses as a finite f64) at
/// `sig` significant digits, right-aligned in its original width so the columns stay put.
///
/// Why: the torch tools' numbers come from float32 kernels that libtorch picks per
/// instruction set, so the same run on two CPUs differs in the seventh or eighth digit, and
/// a six-digit summary can flip its last digit (hessian-align's top-k share 0.17538450 prints
/// 0.175384 on one Xeon and 0.175385 on another). The snapshots hold the layout and the
/// numbers to `sig` digits; the values themselves are tested against references elsewhere.
pub fn round_floats(text: &str, sig: i32) -> String {
    map_words(text, |w, _| match w.parse::<f64>() {
        Ok(x) if x.is_finite() && x != 0.0 && w.contains('.') => {
            let decimals = (sig - 1 - x.abs().log10().floor() as i32).max(0) as usize;
            format!("{:>width$}", format!("{x:.decimals$}"), width = w.len())
        }
        _ => w.to_string(),
    })
}

/// `T` for every number of seconds (a number followed by `s`) and `R` for every rate
/// (a number followed by `gradients/s`): the parts of a summary that measure the machine.
pub fn mask_times(text: &str) -> String {
    map_words(text, |w, next| {
        let number = w.trim_start_matches('(').parse::<f64>().is_ok();
        match (number, next) {
            (true, "s" | "s," | "s)") => "T",
            (true, n) if n.starts_with("gradients/s") => "(R",
            _ => w,
        }
        .to_string()
    })
}

/// `text` with each word (split at single spaces, so runs of spaces that align columns
/// stay) replaced by `f(word, the word after it or "")`, line by line.
fn map_words(text: &str, f: impl Fn(&str, &str) -> String) -> String {
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mapped: Vec<String> = (0..words.len())
                .map(|i| f(words[i], words.get(i + 1).copied().unwrap_or("")))
                .collect();
            mapped.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// fnn on the synthetic data (512 images), one epoch of 8 steps of batch 64, seed 1,
/// checkpoints at 0 and 1, in `dir/run`; the initial checkpoint.
pub fn tiny_run(dir: &Path) -> std::path::PathBuf {
    let run = dir.join("run");
    bin("train")
        .args(["--model", "fnn", "--dataset", "synthetic", "-b", "64"])
        .args([
            "--epochs",
            "1",
            "--checkpoint-epochs",
            "0,1",
            "--seed",
            "1",
            "-o",
        ])
        .arg(&run)
        .assert()
        .success();
    run.join("ckpt/epoch-000.safetensors")
}

/// The u64 column `step` and the f64 columns `cols` of a Parquet table the tools wrote
/// (metrics, subset losses, sharpness), row by row.
pub fn step_columns(path: &Path, cols: &[&str]) -> Vec<(u64, Vec<f64>)> {
    use arrow::array::{Array, Float64Array, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let b = batch.unwrap();
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let step = col("step");
        let step = step.as_any().downcast_ref::<UInt64Array>().unwrap();
        let values: Vec<_> = cols.iter().map(|c| col(c)).collect();
        for i in 0..b.num_rows() {
            let v = values
                .iter()
                .map(|a| a.as_any().downcast_ref::<Float64Array>().unwrap().value(i))
                .collect();
            out.push((step.value(i), v));
        }
    }
    out
}
