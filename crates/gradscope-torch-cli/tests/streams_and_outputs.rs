//! Regression tests of the libtorch tools for the reliability issue's reproductions: a
//! reader that goes away or a full stdout (`train --list-models | true`,
//! `train --describe --json | head -c 100`, `interp-loss`/`hessian-align --json | true`,
//! each `> /dev/full`), a checkpoint on a full disk, `--checkpoint <dir>`, gradients of a
//! NaN checkpoint, `train --epochs 0`, and outputs that name one file or the checkpoint.

mod common;

use common::{assert_error_line, bin};
use std::path::{Path, PathBuf};

fn exe(name: &str) -> String {
    assert_cmd::cargo::cargo_bin(name).display().to_string()
}

/// Runs `sh` in bash with the tool first in the pipeline: (its exit code, its stderr).
fn pipeline(sh: &str, dir: &Path) -> (String, String) {
    let err = dir.join("err.txt");
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("{sh} 2>{}; echo ${{PIPESTATUS[0]}}", err.display()))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
        std::fs::read_to_string(err).unwrap_or_default(),
    )
}

fn no_panic(what: &str, err: &str) {
    assert!(!err.contains("panicked"), "{what}: {err}");
}

fn has_dev_full() -> bool {
    Path::new("/dev/full").exists()
}

/// fnn on the synthetic data, one epoch of 8 steps, checkpoints at 0 and 1.
fn trained(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    bin("train")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "-b",
            "64",
            "--epochs",
            "1",
        ])
        .args(["--checkpoint-epochs", "0,1", "--seed", "1", "-o"])
        .arg(&run)
        .assert()
        .success();
    run.join("ckpt/epoch-000.safetensors")
}

#[test]
fn train_listings_survive_any_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let train = exe("train");
    for cmd in [
        format!("{train} --list-models"),
        format!("{train} --list-models --json"),
        format!("{train} --model fnn --describe --json"),
        format!("{train} --model fnn --describe"),
    ] {
        for tail in ["| true", "| head -c 100 >/dev/null"] {
            let (code, err) = pipeline(&format!("{cmd} {tail}"), dir.path());
            assert_eq!(code, "0", "{cmd} {tail}: {err}");
            no_panic(&cmd, &err);
            assert!(err.is_empty(), "{cmd} {tail}: {err}");
        }
        if has_dev_full() {
            let (code, err) = pipeline(&format!("{cmd} >/dev/full"), dir.path());
            assert_eq!(code, "1", "{cmd} >/dev/full: {err}");
            no_panic(&cmd, &err);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with("error: cannot write to stdout: "), "{err}");
        }
    }
}

#[test]
fn walk_tools_json_into_a_closed_or_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let ck = trained(dir.path());
    let out = dir.path().join("out.csv");
    let cmds = [
        format!(
            "{} --threads 1 --checkpoint {} --steps 1 --points 3 --json -o {}",
            exe("interp-loss"),
            ck.display(),
            out.display()
        ),
        format!(
            "{} --threads 1 --checkpoint {} -b 8 -n 2 -k 1 --hessian-samples 64 --json -o {}",
            exe("hessian-align"),
            ck.display(),
            out.display()
        ),
    ];
    for cmd in &cmds {
        // The reader went away: a quiet success, and the results are written.
        let (code, err) = pipeline(&format!("{cmd} | true"), dir.path());
        assert_eq!(code, "0", "{cmd} | true: {err}");
        no_panic(cmd, &err);
        assert!(!err.contains("error:"), "{err}");
        assert!(out.exists(), "{cmd} | true: no table");
        std::fs::remove_file(&out).unwrap();
        // A full stdout: the one-line error, exit 1, no table.
        if has_dev_full() {
            let (code, err) = pipeline(&format!("{cmd} >/dev/full"), dir.path());
            assert_eq!(code, "1", "{cmd} >/dev/full: {err}");
            no_panic(cmd, &err);
            let last = err.lines().last().unwrap_or_default();
            assert!(last.starts_with("error: cannot write to stdout: "), "{err}");
            assert!(!out.exists(), "{cmd} >/dev/full left its table");
        }
    }
}

/// The libtorch tools' streams and tables on `-o -` into a reader that goes away:
/// exit 0, no panic, no error line.
#[test]
fn tables_and_streams_on_stdout_into_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let ck = trained(dir.path());
    let cmds = [
        format!(
            "{} --threads 1 --checkpoint {} --steps 2 --points 3 -o -",
            exe("interp-loss"),
            ck.display()
        ),
        format!(
            "{} --threads 1 --checkpoint {} -b 4 -n 50 -o -",
            exe("dump-grads"),
            ck.display()
        ),
    ];
    for cmd in &cmds {
        for tail in ["| true", "| head -c 100 >/dev/null"] {
            let (code, err) = pipeline(&format!("{cmd} {tail}"), dir.path());
            assert_eq!(code, "0", "{cmd} {tail}: {err}");
            no_panic(cmd, &err);
            assert!(!err.contains("error:"), "{cmd} {tail}: {err}");
        }
    }
}

#[test]
fn a_checkpoint_on_a_full_disk_is_one_clear_error() {
    if !has_dev_full() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.safetensors");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let t = vec![("w".to_string(), tch::Tensor::from_slice(&[1.0f32; 1024]))];
    let e =
        gradscope_torch::checkpoint::save(&full, &t, &serde_json::json!({"step": 0})).unwrap_err();
    let line = format!("{e:#}");
    assert!(line.contains("cannot write checkpoint"), "{line}");
    assert!(line.contains("No space left on device"), "{line}");
    assert!(
        !line.contains("IoError") && !line.contains("Os {"),
        "{line}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
}

#[test]
fn checkpoints_that_are_directories_or_not_finite() {
    let dir = tempfile::tempdir().unwrap();
    let ck = trained(dir.path());
    let out = dir.path().join("g.parquet");
    // A directory where a checkpoint file is expected.
    let o = bin("dump-grads")
        .arg("--checkpoint")
        .arg(dir.path().join("run/ckpt"))
        .args(["-n", "2", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(!out.exists());
    // A checkpoint whose parameters hold a NaN: its gradients are refused, not written.
    let nan = dir.path().join("nan.safetensors");
    let mut t = tch::Tensor::read_safetensors(&ck).unwrap();
    let i = t.iter().position(|x| x.0 != "__state__").unwrap();
    t[i].1 = t[i].1.full_like(f64::NAN);
    tch::Tensor::write_safetensors(&t, &nan).unwrap();
    let o = bin("dump-grads")
        .arg("--checkpoint")
        .arg(&nan)
        .args(["-n", "2", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not finite"), "{err}");
    assert!(!out.exists(), "NaN gradients were written");
}

#[test]
fn train_epochs_0_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = bin("train")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--epochs",
            "0",
            "-o",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--epochs 0 trains nothing"));
    let o = bin("train")
        .args(["--model", "fnn", "--dataset", "synthetic", "--epochs", "0"])
        .args(["--checkpoint-epochs", "0", "-o"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote the initial parameters"));
    assert!(run.join("ckpt/epoch-000.safetensors").is_file());
}

#[test]
fn outputs_naming_one_file_or_the_checkpoint_are_refused_before_any_work() {
    // Before, `-o a.csv --steps-output a.csv` exited 0 with only the interpolation table,
    // and an output on the checkpoint would have replaced it. Refused while parsing the
    // arguments: the checkpoint here need not even exist.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let ckpt = dir.path().join("epoch-001.safetensors");
    let ckpt_as_png = dir.path().join("x.png");
    let cases: Vec<(&str, Vec<std::ffi::OsString>, &str)> = vec![
        (
            "interp-loss",
            vec![
                "--checkpoint".into(),
                ckpt.clone().into(),
                "-o".into(),
                a.clone().into(),
                "--epochs-output".into(),
                dir.path().join("./a.csv").into(),
            ],
            "two outputs name the same file",
        ),
        (
            "hessian-align",
            vec![
                "--checkpoint".into(),
                ckpt.clone().into(),
                "-o".into(),
                a.clone().into(),
                "--eigen-output".into(),
                a.clone().into(),
            ],
            "two outputs name the same file",
        ),
        (
            "interp-loss",
            vec![
                "--checkpoint".into(),
                ckpt_as_png.clone().into(),
                "-o".into(),
                a.clone().into(),
                "--plot".into(),
                ckpt_as_png.clone().into(),
            ],
            "is the input",
        ),
    ];
    for (tool, args, want) in cases {
        let o = bin(tool).args(&args).output().unwrap();
        assert_error_line(&o, 2, &[want], &[&a]);
    }
}
