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

#[test]
fn figure8_draws_beside_its_table_and_needs_two_samples() {
    // Without --plot the PNG goes beside the table (it went to results/figure8.png, which
    // failed anywhere but the repository's root).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f8.csv");
    let run = |samples: &str| {
        assert_cmd::Command::cargo_bin("vmf-null")
            .unwrap()
            .args([
                "figure8",
                "--dims",
                "50",
                "--samples",
                samples,
                "--max-exp",
                "1",
                "--runs",
                "1",
                "-o",
            ])
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run("20");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(dir.path().join("f8.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::remove_file(&out).unwrap();
    // One sample is its own mean direction (kappa-hat infinite): refused, nothing written.
    let o = run("20,1");
    common::assert_usage_error_line(&o, &["--samples: 1 sample(s) is too few"], &out);
}
