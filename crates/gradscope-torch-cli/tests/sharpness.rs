//! `train --sharpness-every`: the tracked sharpness equals the top eigenvalue that
//! `hessian-align` finds at the same parameters (an independent Lanczos run, from a random
//! start, on a checkpoint), tracking changes no bit of the training, and bad settings are
//! errors.

mod common;
use common::{assert_error_line, bin, read_csv, step_columns};
use std::path::Path;

fn train(dir: &Path, sharpness: bool) {
    let mut c = bin("train");
    c.args([
        "--model",
        "mlp",
        "--dataset",
        "synthetic",
        "-b",
        "512",
        "--lr",
        "0.1",
    ])
    .args([
        "--epochs",
        "4",
        "--checkpoint-epochs",
        "0,4",
        "--fresh",
        "-o",
    ])
    .arg(dir);
    if sharpness {
        c.args(["--sharpness-every", "2", "--sharpness-samples", "100000"])
            .args(["--sharpness-tol", "1e-9", "--sharpness-max-iter", "300"]);
    }
    c.assert().success();
}

/// The top eigenvalue of the training loss's Hessian at a checkpoint, by hessian-align.
fn top_eigenvalue(ckpt: &Path, dir: &Path) -> (f64, Vec<String>) {
    let eig = dir.join("eig.csv");
    let align = dir.join("align.csv");
    bin("hessian-align")
        .arg("--checkpoint")
        .arg(ckpt)
        .args(["-b", "full", "-n", "1", "-k", "1", "--tol", "1e-10", "-o"])
        .arg(&align)
        .arg("--eigen-output")
        .arg(&eig)
        .assert()
        .success();
    let (h, rows) = read_csv(&eig);
    let col = h.iter().position(|c| c == "eigenvalue").unwrap();
    (rows[0][col].parse().unwrap(), read_csv(&align).1[0].clone())
}

/// (step, sharpness, two_over_lr) of train's sharpness.parquet.
fn sharpness_rows(path: &Path) -> Vec<(u64, f64, f64)> {
    step_columns(path, &["sharpness", "two_over_lr"])
        .into_iter()
        .map(|(step, v)| (step, v[0], v[1]))
        .collect()
}

#[test]
fn tracked_sharpness_equals_hessian_align_and_changes_no_step() {
    let dir = tempfile::tempdir().unwrap();
    let (with, without) = (dir.path().join("with"), dir.path().join("without"));
    train(&with, true);
    train(&without, false);
    let rows = sharpness_rows(&with.join("sharpness.parquet"));
    // Steps 0, 2, 4 (one step per epoch: the batch is the whole 512-image split).
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 2, 4]);
    assert!(rows.iter().all(|r| r.2 == 20.0), "2/lr column");
    for (step, ckpt) in [(0, "epoch-000"), (4, "epoch-004")] {
        let (lambda, _) =
            top_eigenvalue(&with.join(format!("ckpt/{ckpt}.safetensors")), dir.path());
        let tracked = rows.iter().find(|r| r.0 == step).unwrap().1;
        assert!(
            (tracked - lambda).abs() <= 1e-7 * lambda,
            "step {step}: tracked {tracked} vs hessian-align {lambda}"
        );
    }
    // The same parameters after 4 steps with and without tracking: hessian-align's
    // gradient norm and alignment at both final checkpoints agree to the last digit.
    let a = top_eigenvalue(&with.join("ckpt/epoch-004.safetensors"), dir.path());
    let b = top_eigenvalue(&without.join("ckpt/epoch-004.safetensors"), dir.path());
    assert_eq!(a, b);
}

#[test]
fn bad_sharpness_settings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // K = 0 is a usage error (exit 2).
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let o = bin("train")
        .args([
            "--model",
            "mlp",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--sharpness-every",
            "0",
            "-o",
        ])
        .arg(&a)
        .output()
        .unwrap();
    assert_error_line(
        &o,
        2,
        &["invalid value '0' for '--sharpness-every <K>'"],
        &[&a],
    );
    let o = bin("train")
        .args([
            "--model",
            "mlp",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--sharpness-every",
            "1",
        ])
        .args(["--sharpness-samples", "0", "-o"])
        .arg(&b)
        .output()
        .unwrap();
    assert_error_line(&o, 2, &["--sharpness-samples 0"], &[&b]);
}
