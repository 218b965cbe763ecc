//! `plot`: figures from result tables, and its errors.

mod common;

use assert_cmd::Command;
use common::assert_one_error_line;

fn plot(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("plot")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn draws_series_per_file_column_and_group() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(
        &a,
        "step,scope,kappa,kappa_null_mean\n0,all,900,50\n10,all,300,50\n0,fc1,800,40\n10,fc1,,40\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "step,scope,kappa,kappa_null_mean\n0,all,700,50\n10,all,200,50\n",
    )
    .unwrap();
    let png = dir.path().join("k.png");
    let o = plot(&[
        &format!("{}=seed 1", a.display()),
        &format!("{}=seed 2", b.display()),
        "-x",
        "step",
        "-y",
        "kappa,kappa_null_mean",
        "--dashed",
        "kappa_null_mean",
        "--group",
        "scope",
        "--log-y",
        "--hline",
        "100=floor",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // The empty kappa field of fc1 at step 10 is left out and counted.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 points left out"), "{err}");
}

#[test]
fn bad_input_is_one_error_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "step,scope,kappa\n0,all,900\n10,all,300\n").unwrap();
    let png = dir.path().join("k.png");
    let (a, p) = (a.to_str().unwrap(), png.to_str().unwrap());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![a, "-x", "step", "-y", "gns", "-o", p],
            vec!["a.csv", "no column 'gns'", "step, scope, kappa"],
        ),
        (
            vec![a, "-x", "scope", "-y", "kappa", "-o", p],
            vec!["a.csv", "'scope'", "not numbers"],
        ),
        (
            vec![
                a,
                "-x",
                "step",
                "-y",
                "kappa",
                "--where",
                "scope=fc9",
                "-o",
                p,
            ],
            vec!["a.csv", "no rows match scope=fc9"],
        ),
        (
            vec!["missing.csv", "-x", "step", "-y", "kappa", "-o", p],
            vec!["cannot open missing.csv"],
        ),
    ];
    for (args, needles) in cases {
        let o = plot(&args);
        assert_one_error_line(&o, &needles, &png);
    }
    // A wrong output format is a usage error (exit 2), found while parsing the arguments.
    let o = plot(&[a, "-x", "step", "-y", "kappa", "-o", "k.svg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be a .png"));
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("plot --help", common::help_text("plot", &[]));
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.csv");
    std::fs::write(&t, "step,kappa\n0,1.5\n10,\n20,2.5\n").unwrap();
    let png = dir.path().join("p.png");
    let summary = common::summary_of(
        "plot",
        &[
            t.to_str().unwrap(),
            "-x",
            "step",
            "-y",
            "kappa",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    insta::assert_snapshot!(
        "plot summary",
        summary.replace(png.to_str().unwrap(), "OUT.png")
    );
}
