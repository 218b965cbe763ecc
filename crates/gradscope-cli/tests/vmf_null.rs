//! `vmf-null`: its `--help` (and each subcommand's) and each subcommand's summary on a
//! small fixed run.

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
    let png = dir.path().join("f.png");
    let p = png.to_str().unwrap();
    let out = dir.path().join("f.csv");
    let o = out.to_str().unwrap();
    let summary = common::summary_of(
        "vmf-null",
        &[
            "figure8",
            "--dims",
            "100",
            "--samples",
            "50,80",
            "--max-exp",
            "2",
            "--runs",
            "2",
            "--threads",
            "1",
            "-o",
            o,
            "--plot",
            p,
        ],
    );
    insta::assert_snapshot!(
        "vmf-null figure8 summary",
        summary.replace(o, "OUT").replace(p, "OUT.png")
    );
}
