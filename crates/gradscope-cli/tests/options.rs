//! Options that a run would ignore or misread are refused before any work, each with one
//! error line: each of these was accepted before (an audit's findings, reproduced).

mod common;

use assert_cmd::Command;
use common::synth;

fn refused(tool: &str, args: &[&str], code: i32, needle: &str) {
    let o = Command::cargo_bin(tool)
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{tool} {args:?}: {err}");
    assert!(err.contains(needle), "{tool} {args:?}: {err}");
}

#[test]
fn ignored_or_misread_options() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    synth(&["--dim", "30", "-n", "40", "--seed", "3"], &g);
    let g = g.to_str().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    // --max-samples is iteration mode's; dimension mode draws --iter-samples.
    refused(
        "normtest",
        &[
            "-i",
            g,
            "--mode",
            "dimension",
            "--max-samples",
            "20",
            "-o",
            out,
        ],
        2,
        "--max-samples applies to --mode iteration",
    );
    // --mean-scale shapes --noise only; --norm shapes vMF norms only.
    refused(
        "synth-grads",
        &["--dim", "10", "-n", "5", "--mean-scale", "5", "-o", out],
        2,
        "--noise",
    );
    refused(
        "synth-grads",
        &[
            "--dim",
            "10",
            "-n",
            "5",
            "--noise",
            "gaussian:1",
            "--norm",
            "lognormal:1",
            "-o",
            out,
        ],
        2,
        "cannot be used with",
    );
    // A --dashed name that is no -y column dashed nothing.
    let table = dir.path().join("t.csv");
    std::fs::write(&table, "step,kappa\n0,1\n1,2\n").unwrap();
    let png = dir.path().join("p.png");
    refused(
        "plot",
        &[
            table.to_str().unwrap(),
            "-x",
            "step",
            "-y",
            "kappa",
            "--dashed",
            "nope",
            "-o",
            png.to_str().unwrap(),
        ],
        2,
        "--dashed nope: not one of the -y columns (kappa)",
    );
    // A header without rows said "no rows match " with nothing after it.
    std::fs::write(&table, "step,kappa\n").unwrap();
    refused(
        "plot",
        &[
            table.to_str().unwrap(),
            "-x",
            "step",
            "-y",
            "kappa",
            "-o",
            png.to_str().unwrap(),
        ],
        1,
        "t.csv: the table has no rows",
    );
    assert!(!png.exists());
    // Parquet on stdin was read as CSV ("stream did not contain valid UTF-8").
    let parquet = std::fs::read(g).unwrap();
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args(["-i", "-", "--column", "values", "-o", out])
        .write_stdin(parquet)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("<stdin> holds Parquet, which is read from a file"),
        "{err}"
    );
    assert!(!std::path::Path::new(out).exists());
}
