//! Regression tests: arguments that cannot be honoured are errors before any work, and a
//! producer never writes non-finite gradients with exit code 0 (the reliability issue's
//! reproductions: runs that never finished, overflowing layouts, NaN and infinite values).

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, assert_usage_error_line};

/// synth-grads refuses `args`: a usage error (exit 2) when the command line alone is
/// wrong, an error of the run (exit 1) when only drawing the gradients shows it.
fn synth_fails(usage: bool, args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.parquet");
    let o = Command::cargo_bin("synth-grads")
        .unwrap()
        .args(args)
        .arg("-o")
        .arg(&out)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    if usage {
        assert_usage_error_line(&o, needles, &out);
    } else {
        assert_one_error_line(&o, needles, &out);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{args:?} left a temporary file"
    );
}

#[test]
fn synth_grads_refuses_what_it_cannot_draw_or_store() {
    // Wood's sampler never returned for kappa = 1e19 in d = 10.
    synth_fails(
        true,
        &["--dim", "10", "-n", "5", "--kappa", "1e19"],
        &["--kappa", "too large for dimension 10"],
    );
    // Non-finite or negative norm parameters.
    synth_fails(
        true,
        &[
            "--dim",
            "10",
            "-n",
            "5",
            "--kappa",
            "5",
            "--norm",
            "lognormal:nan",
        ],
        &["lognormal:nan"],
    );
    synth_fails(
        true,
        &[
            "--dim",
            "10",
            "-n",
            "5",
            "--kappa",
            "5",
            "--norm",
            "lognormal:-1",
        ],
        &["lognormal:-1"],
    );
    // Noise that overflows f32: refused when the gradient is made, not written.
    synth_fails(
        false,
        &["--dim", "10", "-n", "5", "--noise", "gaussian:1e300"],
        &["non-finite"],
    );
    synth_fails(
        true,
        &["--dim", "10", "-n", "5", "--noise", "gaussian:inf"],
        &["gaussian:inf"],
    );
    // A layout whose size overflows (it once wrapped to 0).
    synth_fails(
        true,
        &["--layout", "a:4294967296x4294967296", "-n", "5"],
        &["a:4294967296x4294967296"],
    );
    synth_fails(
        true,
        &["--layout", "a:65536x65536", "-n", "5"],
        &["a:65536x65536", "values"],
    );
}

#[test]
fn a_large_kappa_that_fits_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.parquet");
    Command::cargo_bin("synth-grads")
        .unwrap()
        .args(["--dim", "10", "-n", "5", "--kappa", "1e12", "-o"])
        .arg(&out)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
}

#[test]
fn vmf_null_exponents_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("vmf-null")
        .unwrap()
        .args(["figure8", "--max-exp", "19", "-o"])
        .arg(dir.path().join("f.csv"))
        .arg("--plot")
        .arg(dir.path().join("f.png"))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-exp"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn outputs_never_create_directories() {
    // One rule for every tool: a result file's directory must exist.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nodir/t.csv");
    let o = Command::cargo_bin("vmf-null")
        .unwrap()
        .args([
            "table1",
            "--networks",
            "cnn",
            "--runs",
            "1",
            "--expected-runs",
            "0",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_one_error_line(&o, &["does not exist"], &out);
    assert!(!dir.path().join("nodir").exists());
}
