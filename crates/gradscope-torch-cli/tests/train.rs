//! `train`: a snapshot of its `--help` (its behaviour is tested in cli.rs and walk.rs) and of its
//! stderr summary on a fixed input.

mod common;

#[test]
fn help_snapshot() {
    insta::assert_snapshot!("train --help", common::help_text("train"));
}

/// The stderr summary of a tiny fixed run (fnn on the synthetic data, two epochs of 8
/// steps at lr 0.05, seed 1, one thread): one line per epoch from metrics.parquet's description,
/// then the closing line (its seconds masked, decimals at 4 significant digits:
/// [`common::round_floats`]).
#[test]
fn summary_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let summary = common::summary_of(
        "train",
        &[
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "-b",
            "64",
            "--epochs",
            "2",
            "--lr",
            "0.05",
            "--seed",
            "1",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    insta::assert_snapshot!("train summary", common::round_floats(&summary, 4));
}
