//! `train --loss-every K --target-loss L`: the tracked loss equals the full-batch loss that
//! `dump-grads --full-batch` computes at the same parameters (an independent forward pass
//! over the whole training split, at a checkpoint), tracking changes no bit of training,
//! the run stops at the first measurement at or below the target and leaves that
//! checkpoint, and bad settings are errors.

mod common;
use common::{assert_error_line, bin, step_columns};
use std::path::Path;

/// SGD of the walk MLP on the 512-image synthetic split, batch 64 (8 steps an epoch), 3
/// epochs, checkpoints after epochs 0 and 2; `extra` adds flags.
fn train(dir: &Path, extra: &[&str]) {
    bin("train")
        .args(["--model", "mlp", "--dataset", "synthetic", "-b", "64"])
        .args([
            "--lr",
            "0.05",
            "--epochs",
            "3",
            "--checkpoint-epochs",
            "0,2",
        ])
        .arg("--fresh")
        .args(extra)
        .arg("-o")
        .arg(dir)
        .assert()
        .success();
}

/// The mean loss over the whole training split at a checkpoint, by dump-grads.
fn full_batch_loss(ckpt: &Path, dir: &Path) -> f64 {
    let g = dir.join("full.parquet");
    bin("dump-grads")
        .arg("--checkpoint")
        .arg(ckpt)
        .args(["--full-batch", "-o"])
        .arg(&g)
        .assert()
        .success();
    step_columns(&g, &["loss"])[0].1[0]
}

#[test]
fn subset_loss_equals_the_full_batch_loss_and_the_target_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (with, without, stop) = (
        dir.path().join("with"),
        dir.path().join("without"),
        dir.path().join("stop"),
    );
    // every 4 steps over all 512 images (the subset is the training split)
    train(&with, &["--loss-every", "4", "--loss-samples", "100000"]);
    train(&without, &[]);
    let rows = step_columns(&with.join("subset_loss.parquet"), &["subset_loss"]);
    let steps: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(steps, vec![0, 4, 8, 12, 16, 20, 24]);
    for (step, ckpt) in [(0, "epoch-000"), (16, "epoch-002")] {
        let want = full_batch_loss(&with.join(format!("ckpt/{ckpt}.safetensors")), dir.path());
        let got = rows.iter().find(|r| r.0 == step).unwrap().1[0];
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "step {step}: tracked {got} vs dump-grads --full-batch {want}"
        );
    }
    // Tracking the loss changes no step: the same epoch metrics to the last bit.
    let m = |d: &Path| step_columns(&d.join("metrics.parquet"), &["train_loss", "val_loss"]);
    assert_eq!(m(&with), m(&without));
    // The target: the loss measured at step 12 stops a run at step 12 (the first
    // measurement at or below it, the loss falling here), with its checkpoint.
    let at12 = rows.iter().find(|r| r.0 == 12).unwrap().1[0];
    assert!(rows.iter().filter(|r| r.0 < 12).all(|r| r.1[0] > at12));
    let target = format!("{at12:.17e}");
    train(
        &stop,
        &[
            "--loss-every",
            "4",
            "--loss-samples",
            "100000",
            "--target-loss",
            &target,
        ],
    );
    let stopped = step_columns(&stop.join("subset_loss.parquet"), &["subset_loss"]);
    assert_eq!(stopped, rows[..4].to_vec());
    let ckpt = stop.join("ckpt/target.safetensors");
    assert!(ckpt.is_file());
    let want = full_batch_loss(&ckpt, dir.path());
    assert!((at12 - want).abs() <= 1e-6 * want, "{at12} vs {want}");
}

#[test]
fn bad_loss_settings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // K = 0, and a target without --loss-every, are usage errors (exit 2).
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (flags, want) in [
        (
            &["--loss-every", "0"][..],
            "invalid value '0' for '--loss-every <K>'",
        ),
        (
            &["--target-loss", "0.5"][..],
            "required arguments were not provided: --loss-every",
        ),
    ] {
        let o = bin("train")
            .args(["--model", "mlp", "--dataset", "synthetic", "--epochs", "1"])
            .args(flags)
            .arg("-o")
            .arg(&a)
            .output()
            .unwrap();
        assert_error_line(&o, 2, &[want], &[&a]);
    }
    let o = bin("train")
        .args(["--model", "mlp", "--dataset", "synthetic", "--epochs", "1"])
        .args(["--loss-every", "1", "--loss-samples", "0", "-o"])
        .arg(&b)
        .output()
        .unwrap();
    assert_error_line(&o, 2, &["--loss-samples 0"], &[&b]);
}
