//! End-to-end tests of the walk study's tools, `interp-loss` and `hessian-align`, on the
//! synthetic dataset: exact replay of `train`, the tables' internal consistency, and the
//! one-line error contract.

mod common;

use common::{assert_error_line, bin, read_csv};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn col(h: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let i = h
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.iter()
        .map(|r| {
            let v = &r[i];
            match v.as_str() {
                "" => f64::NAN,
                "true" => 1.0,
                "false" => 0.0,
                _ => v.parse().unwrap(),
            }
        })
        .collect()
}

/// Trains fnn-bn (BatchNorm buffers, momentum, weight decay, clipping and a fractional
/// learning-rate decay: every setting the checkpoint must carry) for 3 epochs of 8 steps.
fn trained(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    bin("train")
        .args([
            "--model",
            "fnn-bn",
            "--dataset",
            "synthetic",
            "-b",
            "64",
            "--lr",
            "0.05",
            "--optimizer",
            "momentum",
            "--weight-decay",
            "1e-3",
            "--clip-grad-norm",
            "5",
            "--lr-decay-at",
            "0.5",
            "--seed",
            "5",
            "--epochs",
            "3",
            "--checkpoint-epochs",
            "0,1,3",
            "-o",
        ])
        .arg(&run)
        .assert()
        .success();
    run
}

fn tensors(p: &Path) -> Vec<(String, tch::Tensor)> {
    let mut v = tch::Tensor::read_safetensors(p).unwrap();
    v.retain(|x| x.0 != "__state__");
    v.sort_by(|x, y| x.0.cmp(&y.0));
    v
}

#[test]
fn interp_loss_replays_train_bit_for_bit_and_its_tables_agree() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let pts = dir.path().join("pts.csv");
    let steps = dir.path().join("steps.csv");
    let epochs = dir.path().join("epochs.csv");
    let fin = dir.path().join("final.safetensors");
    let png = dir.path().join("fig1.png");
    let out = bin("interp-loss")
        .arg("--checkpoint")
        .arg(run.join("ckpt/epoch-001.safetensors"))
        .args([
            "--epochs",
            "2..3",
            "-k",
            "4",
            "--eval-samples",
            "100",
            "--json",
        ])
        .arg("-o")
        .arg(&pts)
        .arg("--steps-output")
        .arg(&steps)
        .arg("--epochs-output")
        .arg(&epochs)
        .arg("--final-checkpoint")
        .arg(&fin)
        .arg("--plot")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the replay ends where train's epoch 3 ended, bit for bit (parameters, BatchNorm
    // buffers and the momentum buffers)
    let a = tensors(&run.join("ckpt/epoch-003.safetensors"));
    let b = tensors(&fin);
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().any(|x| x.0.contains("running_var"))
            && a.iter().any(|x| x.0.starts_with("optim."))
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert!(x.1.equal(&y.1), "{} differs after the replay", x.0);
    }
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["updates_interpolated"], 16);
    // 16 updates x 6 points, each update's alphas 0, 0.2, ..., 1
    let (h, rows) = read_csv(&pts);
    assert_eq!(h, ["step", "alpha", "loss", "accuracy"]);
    assert_eq!(rows.len(), 16 * 6);
    let alpha = col(&h, &rows, "alpha");
    let step = col(&h, &rows, "step");
    assert_eq!(step[0], 9.0);
    assert_eq!(step[rows.len() - 1], 24.0);
    for (i, a) in alpha.iter().enumerate() {
        assert!((a - (i % 6) as f64 / 5.0).abs() < 1e-15);
    }
    let (h, srows) = read_csv(&steps);
    assert_eq!(srows.len(), 16);
    let (ls, le, lmin, lmax) = (
        col(&h, &srows, "loss_start"),
        col(&h, &srows, "loss_end"),
        col(&h, &srows, "loss_min"),
        col(&h, &srows, "loss_max"),
    );
    let (bar, height, moved) = (
        col(&h, &srows, "barrier"),
        col(&h, &srows, "barrier_height"),
        col(&h, &srows, "moved_over"),
    );
    let lr = col(&h, &srows, "lr");
    // the fractional decay at 0.5 x 3 epochs = 1.5, rounded to 2: from 0-based epoch 2
    // (the third) on, lr 0.05 x 0.1
    assert!(lr[..8].iter().all(|&l| l == 0.05), "{lr:?}");
    assert!(lr[8..].iter().all(|&l| (l - 0.005).abs() < 1e-15), "{lr:?}");
    let mut barriers = 0;
    for i in 0..16 {
        // consecutive interpolations share their end points
        if i > 0 {
            assert_eq!(ls[i], le[i - 1]);
            assert_eq!(moved[i] == 1.0, lmin[i] > lmin[i - 1]);
        }
        assert!(lmin[i] <= ls[i].min(le[i]));
        assert_eq!(bar[i] == 1.0, lmax[i] > ls[i].max(le[i]));
        if bar[i] == 1.0 {
            barriers += 1;
            assert!((height[i] - (ls[i] + le[i] - 2.0 * lmin[i]) / 2.0).abs() < 1e-12);
        } else {
            assert!(height[i].is_nan());
        }
    }
    let (h, erows) = read_csv(&epochs);
    assert_eq!(col(&h, &erows, "epoch"), [2.0, 3.0]);
    assert_eq!(col(&h, &erows, "step"), [16.0, 24.0]);
    assert_eq!(col(&h, &erows, "steps"), [8.0, 8.0]);
    assert_eq!(
        col(&h, &erows, "barriers").iter().sum::<f64>(),
        barriers as f64
    );
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
}

#[test]
fn interpolated_first_layer_agrees_with_full_forward_passes() {
    // fnn-bn's first layer is linear in its weights, so interior points come from
    // interpolated first-layer outputs; --full-forward runs every point in full. Ends
    // bit for bit, interior losses to f32 rounding (1e-5 relative), same accuracies.
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let table = |extra: &[&str]| {
        let out = dir.path().join(format!("p{}.csv", extra.len()));
        bin("interp-loss")
            .arg("--checkpoint")
            .arg(run.join("ckpt/epoch-001.safetensors"))
            .args(["--steps", "4", "-k", "4", "-o"])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        let (h, rows) = read_csv(&out);
        (
            col(&h, &rows, "alpha"),
            col(&h, &rows, "loss"),
            col(&h, &rows, "accuracy"),
        )
    };
    let (alpha, fast, acc_fast) = table(&[]);
    let (alpha_full, full, acc_full) = table(&["--full-forward"]);
    assert_eq!(alpha, alpha_full);
    assert_eq!(fast.len(), 4 * 6);
    for i in 0..fast.len() {
        if alpha[i] == 0.0 || alpha[i] == 1.0 {
            assert_eq!(fast[i], full[i], "row {i}");
        } else {
            assert!(
                ((fast[i] - full[i]) / full[i]).abs() < 1e-5,
                "row {i}: {} vs {}",
                fast[i],
                full[i]
            );
        }
    }
    assert_eq!(acc_fast, acc_full);
}

#[test]
fn interp_loss_window_of_steps_and_the_full_training_set() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let pts = dir.path().join("p.parquet");
    bin("interp-loss")
        .arg("--checkpoint")
        .arg(run.join("ckpt/epoch-000.safetensors"))
        .args(["--steps", "3", "-k", "2", "--eval-batch", "100", "-o"])
        .arg(&pts)
        .assert()
        .success()
        .stderr(predicate::str::contains("on 512 examples"));
    let f = std::fs::File::open(&pts).unwrap();
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let n: usize = r.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(n, 3 * 4);
}

#[test]
fn bad_input_is_one_error_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let ck = run.join("ckpt/epoch-001.safetensors");
    let out = dir.path().join("x.csv");
    // Runs `TOOL --checkpoint CKPT ARGS -o OUT` and requires the bad-input contract.
    let refused = |tool: &str, ckpt: &Path, args: &[&str], out: &Path, code, needles: &[&str]| {
        let o = bin(tool)
            .arg("--checkpoint")
            .arg(ckpt)
            .args(args)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        assert_error_line(&o, code, needles, &[out]);
    };
    // an epoch that began before the checkpoint
    refused(
        "interp-loss",
        &ck,
        &["--epochs", "1"],
        &out,
        1,
        &["before checkpoint", "epoch-000"],
    );
    // an unknown output format: a usage error (exit 2), found while parsing the arguments
    let txt = dir.path().join("x.txt");
    refused(
        "interp-loss",
        &ck,
        &["--steps", "1"],
        &txt,
        2,
        &["unknown output format"],
    );
    refused(
        "interp-loss",
        &ck,
        &["--steps", "1", "--eval-samples", "100000"],
        &out,
        1,
        &["exceeds the 512 training examples"],
    );
    // a checkpoint written before train stored its settings
    let old = dir.path().join("old.safetensors");
    let mut t = tch::Tensor::read_safetensors(&ck).unwrap();
    let i = t.iter().position(|x| x.0 == "__state__").unwrap();
    let bytes = Vec::<u8>::try_from(&t[i].1).unwrap();
    let mut state: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    state.as_object_mut().unwrap().remove("config");
    t[i].1 = tch::Tensor::from_slice(&serde_json::to_vec(&state).unwrap());
    tch::Tensor::write_safetensors(&t, &old).unwrap();
    refused(
        "interp-loss",
        &old,
        &["--steps", "1"],
        &out,
        1,
        &["old.safetensors", "does not record its optimiser settings"],
    );
    // not a checkpoint at all
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors").unwrap();
    refused("hessian-align", &junk, &[], &out, 1, &["junk.safetensors"]);
    refused(
        "hessian-align",
        &ck,
        &["-b", "1000"],
        &out,
        1,
        &["between 1 and the 512 training examples"],
    );
}

#[test]
fn hessian_align_alignment_is_a_rayleigh_quotient_and_the_solvers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let al = dir.path().join("al.csv");
    let eig = dir.path().join("eig.csv");
    let s = dir.path().join("s.csv");
    let cos = dir.path().join("cos.csv");
    let out = bin("hessian-align")
        .arg("--checkpoint")
        .arg(run.join("ckpt/epoch-003.safetensors"))
        .args([
            "-b",
            "8,64,full",
            "-n",
            "6",
            "--hessian-samples",
            "256",
            "-k",
            "3",
            "--method",
            "both",
            "--tol",
            "1e-6",
            "--max-iter",
            "500",
            "--trace-probes",
            "10",
            "--cosine-batch-sizes",
            "64,full",
            "--cosine-steps",
            "5",
            "--json",
            "-o",
        ])
        .arg(&al)
        .arg("--eigen-output")
        .arg(&eig)
        .arg("--samples-output")
        .arg(&s)
        .arg("--cosine-output")
        .arg(&cos)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (h, rows) = read_csv(&eig);
    let v = col(&h, &rows, "eigenvalue");
    assert_eq!(rows.len(), 6);
    // Lanczos and power iteration find the same top eigenvalue (tolerance 1e-6)
    assert!((v[0] - v[3]).abs() < 1e-3 * v[0].abs(), "{v:?}");
    let lanczos_hvps = j["eigen"][0]["hvps"].as_u64().unwrap();
    let power_hvps = j["eigen"][1]["hvps"].as_u64().unwrap();
    assert!(lanczos_hvps < power_hvps, "{lanczos_hvps} vs {power_hvps}");
    // g'Hg/|g|^2 is a Rayleigh quotient: never above the largest eigenvalue
    let (h, rows) = read_csv(&s);
    assert_eq!(rows.len(), 6 + 6 + 1);
    let a = col(&h, &rows, "alignment");
    let share = col(&h, &rows, "topk_share");
    for (x, t) in a.iter().zip(&share) {
        assert!(*x <= v[0] * (1.0 + 1e-6), "{x} > {}", v[0]);
        assert!((0.0..=1.0 + 1e-9).contains(t), "{t}");
    }
    let (h, rows) = read_csv(&al);
    assert_eq!(col(&h, &rows, "batch_size"), [8.0, 64.0, 512.0]);
    assert_eq!(col(&h, &rows, "step"), [24.0; 3]);
    // One full-batch gradient: its sd is undefined, NaN (null in the table), the one
    // convention for n = 1 (gradscope_stats::describe).
    assert!(col(&h, &rows, "alignment_sd")[2].is_nan());
    // the cosine table: 5 updates per batch size, the first without a predecessor
    let (h, rows) = read_csv(&cos);
    assert_eq!(rows.len(), 10);
    let c = col(&h, &rows, "cosine");
    assert!(c[0].is_nan() && c[5].is_nan());
    assert!(c
        .iter()
        .filter(|x| !x.is_nan())
        .all(|x| (-1.0..=1.0).contains(x)));
    // the run's own batch size continues train's steps: 25..29
    assert_eq!(col(&h, &rows, "step")[..5], [25.0, 26.0, 27.0, 28.0, 29.0]);
}
