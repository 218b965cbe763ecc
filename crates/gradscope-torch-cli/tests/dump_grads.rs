//! `dump-grads`: a snapshot of its `--help` (its behaviour is tested in cli.rs and walk.rs) and of its
//! stderr summary on a fixed input.

mod common;

#[test]
fn help_snapshot() {
    insta::assert_snapshot!("dump-grads --help", common::help_text("dump-grads"));
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
