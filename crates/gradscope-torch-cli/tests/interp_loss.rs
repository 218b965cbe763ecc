//! `interp-loss`: a snapshot of its `--help` (its behaviour is tested in cli.rs and walk.rs) and of its
//! stderr summary on a fixed input.

mod common;

#[test]
fn help_snapshot() {
    insta::assert_snapshot!("interp-loss --help", common::help_text("interp-loss"));
}

/// The stderr summary on a fixed input: three updates from the initial checkpoint of the
/// tiny run, 3 interior points, 128 evaluation examples (seconds masked, decimals at 4
/// significant digits: [`common::round_floats`]).
#[test]
fn summary_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let ck = common::tiny_run(dir.path());
    let out = dir.path().join("interp.csv");
    let summary = common::summary_of(
        "interp-loss",
        &[
            "--checkpoint",
            ck.to_str().unwrap(),
            "--steps",
            "3",
            "--points",
            "3",
            "--eval-samples",
            "128",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    insta::assert_snapshot!("interp-loss summary", common::round_floats(&summary, 4));
}
