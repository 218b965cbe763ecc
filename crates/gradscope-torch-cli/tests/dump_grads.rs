//! `dump-grads`: a snapshot of its `--help` (its behaviour is tested in cli.rs and walk.rs) and of its
//! stderr summary on a fixed input.

mod common;

#[test]
fn help_snapshot() {
    let o = assert_cmd::Command::cargo_bin("dump-grads")
        .unwrap()
        .env_remove("LD_LIBRARY_PATH")
        .env("COLUMNS", "100")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    insta::assert_snapshot!("dump-grads --help", String::from_utf8(o.stdout).unwrap());
}

/// The stderr summary on a fixed input: 10 gradients of batch 4 of fnn at its seed-0
/// initialisation on the synthetic data (seconds and rate masked).
#[test]
fn summary_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.parquet");
    let summary = common::summary_of(
        "dump-grads",
        &[
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "0",
            "-b",
            "4",
            "-n",
            "10",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    // The output column is as wide as the temporary path: spaces collapsed.
    let summary: Vec<String> = summary
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    insta::assert_snapshot!("dump-grads summary", summary.join("\n"));
}
