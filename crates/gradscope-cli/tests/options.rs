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
    assert_eq!(err.lines().count(), 1, "{tool} {args:?}: {err}");
}

#[test]
fn ignored_or_misread_options() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    synth(&["--dim", "30", "-n", "40", "--seed", "3"], &g);
    let g = g.to_str().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    let matrix = dir.path().join("m.parquet");
    let matrix = matrix.to_str().unwrap();
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
        &["--dim", "10", "-n", "5", "--mean-scale", "5", "-o", matrix],
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
            matrix,
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

/// A second audit's findings: counts whose allocation overflowed (a panic, exit 101),
/// names and settings that were misread or ignored, and outputs that replaced an input.
/// Each is now one line, exit 2 (the command line alone is wrong), and nothing written.
#[test]
fn command_lines_that_panicked_or_were_misread() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let g = p("g.parquet");
    synth(
        &["--dim", "30", "-n", "40", "--seed", "3"],
        std::path::Path::new(&g),
    );
    std::fs::write(p("x.csv"), "x\n1\n2\n3\n4\n5\n").unwrap();
    std::fs::write(p("k.csv"), "step,kappa\n0,1\n1,2\n").unwrap();
    let huge = "18446744073709551615";
    let (m, x, k, png) = (p("m.parquet"), p("x.csv"), p("k.csv"), p("p.png"));
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        // capacity overflow panics before
        (
            "vmf-kappa",
            vec!["-i", &g, "--null-reps", huge],
            "is not in 0..=1000000",
        ),
        (
            "powerlaw-fit",
            vec!["-i", &x, "--column", "x", "--bootstrap", huge],
            "is not in 0..=1000000",
        ),
        (
            "vmf-null",
            vec!["table1", "--runs", huge, "-o", &m],
            "is not in 0..=1000000",
        ),
        (
            "vmf-null",
            vec!["figure8", "--samples", huge, "-o", &m],
            "is not in 0..=10000000",
        ),
        // a name that promises another format (a.csv failed after the run began; a.txt
        // is still a Parquet file by that name)
        (
            "synth-grads",
            vec!["--dim", "5", "-n", "2", "-o", &k],
            "a gradient matrix file is Parquet",
        ),
        (
            "powerlaw-fit",
            vec![
                "-i",
                &g,
                "--spectrum",
                "covariance",
                "--step",
                "0",
                "--gram-out",
                &x,
            ],
            "name it .parquet",
        ),
        (
            "synth-grads",
            vec!["-n", "2", "--layout", "a:3,a:4", "-o", &m],
            "tensor `a` is named twice",
        ),
        // an empty matrix, which every reader refuses, was written with exit 0
        (
            "synth-grads",
            vec!["--dim", "5", "-n", "0", "-o", &m],
            "is not in 1..",
        ),
        (
            "synth-grads",
            vec!["--dim", "5", "--steps", "0", "-o", &m],
            "is not in 1..",
        ),
        // settings that the run would ignore
        (
            "synth-grads",
            vec!["--dim", "5", "-n", "2", "--zstd", "-o", "-"],
            "the stream on stdout (-o -) has neither",
        ),
        (
            "vmf-kappa",
            vec!["-i", &g, "--angle-bins", "100"],
            "--angles-hist",
        ),
        (
            "powerlaw-fit",
            vec!["-i", &x, "--column", "x", "--views-raw"],
            "--views-raw applies to --views",
        ),
        (
            "powerlaw-fit",
            vec!["-i", &x, "--column", "x", "--compare-output", &k],
            "--compare",
        ),
        (
            "normtest",
            vec!["-i", &g, "--test", "shapiro", "--max-samples", "6000"],
            "validated for at most 5000 samples",
        ),
        // dimension mode's draws, ignored by iteration mode
        (
            "normtest",
            vec!["-i", &g, "--dim-coords", "5"],
            "apply to --mode dimension",
        ),
        (
            "normtest",
            vec!["-i", &g, "--iter-samples", "5"],
            "apply to --mode dimension",
        ),
        // plot: an empty column name, a line at NaN, the output as an input
        (
            "plot",
            vec![&k, "-x", "step", "-y", "kappa,", "-o", &png],
            "an empty name",
        ),
        (
            "plot",
            vec![
                &k, "-x", "step", "-y", "kappa", "--hline", "NaN", "-o", &png,
            ],
            "a finite value",
        ),
        (
            "plot",
            vec![&png, "-x", "step", "-y", "kappa", "-o", &png],
            "is the input",
        ),
    ];
    for (tool, args, needle) in &cases {
        refused(tool, args, 2, needle);
    }
    assert!(!dir.path().join("m.parquet").exists() && !dir.path().join("p.png").exists());
    assert_eq!(
        std::fs::read_to_string(&k).unwrap(),
        "step,kappa\n0,1\n1,2\n"
    );
}

#[test]
fn a_stream_on_stdin_that_is_no_matrix_fails_on_one_line() {
    // normtest copies stdin to a temporary file; its note on that came before the error
    // of a stream that is no gradient matrix, making the failure two lines.
    for input in [&b"garbage\n"[..], &b""[..]] {
        let o = Command::cargo_bin("normtest")
            .unwrap()
            .args(["-i", "-"])
            .write_stdin(input)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: stdin: "), "{err}");
    }
}
