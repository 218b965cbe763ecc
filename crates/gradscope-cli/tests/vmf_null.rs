//! `vmf-null`: its `--help` (and each subcommand's) and its summary on a small fixed run.

mod common;

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("vmf-null --help", common::help_text("vmf-null", &[]));
    insta::assert_snapshot!(
        "vmf-null table1 --help",
        common::help_text("vmf-null", &["table1"])
    );
    insta::assert_snapshot!(
        "vmf-null figure8 --help",
        common::help_text("vmf-null", &["figure8"])
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let o = out.to_str().unwrap();
    let summary = common::summary_of(
        "vmf-null",
        &[
            "table1",
            "--networks",
            "cnn",
            "--runs",
            "2",
            "--expected-runs",
            "0",
            "--threads",
            "1",
            "-o",
            o,
        ],
    );
    insta::assert_snapshot!("vmf-null table1 summary", summary.replace(o, "OUT"));
}
