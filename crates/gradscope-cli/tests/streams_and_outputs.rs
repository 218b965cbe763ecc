//! Regression tests for the states of stdout and of the output files that once made the
//! statistics tools panic or leave partial results (the reliability issue's reproductions):
//! a reader that goes away (`| true`, `| head -c 1`), a full stdout (`> /dev/full`), one
//! failing output among several (nothing of the run is committed), `plot` replacing a
//! valid PNG on bad arguments, and stdout asked to hold two things at once.

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, synth};
use std::path::Path;
use std::process::Output;

fn bin(name: &str) -> String {
    assert_cmd::cargo::cargo_bin(name).display().to_string()
}

/// Runs `sh` in bash; returns (exit status of the tool: the first command of the pipeline,
/// stderr of the tool).
fn pipeline(sh: &str, err: &Path) -> (String, String) {
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("{sh} 2>{}; echo ${{PIPESTATUS[0]}}", err.display()))
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
        std::fs::read_to_string(err).unwrap_or_default(),
    )
}

fn no_panic(err: &str) {
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
}

fn small_matrix(dir: &Path) -> std::path::PathBuf {
    let g = dir.join("g.parquet");
    synth(
        &[
            "--noise",
            "gaussian:1",
            "--dim",
            "40",
            "-n",
            "30",
            "--steps",
            "2",
        ],
        &g,
    );
    g
}

/// The commands with `--json` of the three statistics tools on one small matrix.
fn json_commands(g: &Path) -> Vec<String> {
    let g = g.display();
    vec![
        format!("{} -i {g} --json --null-reps 0", bin("vmf-kappa")),
        format!("{} -i {g} --json --coords 20", bin("normtest")),
        format!(
            "{} -i {g} --json --spectrum covariance --step 0",
            bin("powerlaw-fit")
        ),
    ]
}

#[test]
fn a_reader_that_goes_away_is_a_quiet_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let err = dir.path().join("err.txt");
    for cmd in json_commands(&g) {
        for tail in ["| true", "| head -c 1 >/dev/null"] {
            let (code, e) = pipeline(&format!("{cmd} {tail}"), &err);
            assert_eq!(code, "0", "{cmd} {tail}: {e}");
            no_panic(&e);
            assert!(!e.contains("error:"), "{cmd} {tail}: {e}");
        }
    }
    // A long table on `-o -` into `head`: the pipe closes while it is written.
    let long = dir.path().join("long.parquet");
    synth(&["--dim", "10", "-n", "5", "--steps", "3000"], &long);
    let (code, e) = pipeline(
        &format!(
            "{} -i {} -o - --null-reps 0 | head -c 1 >/dev/null",
            bin("vmf-kappa"),
            long.display()
        ),
        &err,
    );
    assert_eq!(code, "0", "{e}");
    no_panic(&e);
}

/// Every statistics tool's stdout output (`--json`, a table on `-o -`, synth-grads'
/// stream) into a reader that goes away: exit 0, no panic, no error line.
#[test]
fn every_stdout_output_into_a_closed_pipe_is_a_quiet_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let err = dir.path().join("err.txt");
    let weights =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weight_spectra.safetensors");
    let (g, w) = (g.display(), weights.display());
    let cmds = [
        format!("{} -i {g} -o - --null-reps 0", bin("vmf-kappa")),
        format!("{} -i {g} --json", bin("noise-scale")),
        format!("{} -i {g} -o -", bin("noise-scale")),
        format!("{} -i {g} -o - --coords 20", bin("normtest")),
        format!(
            "{} -i {g} -o - --spectrum covariance --step 0",
            bin("powerlaw-fit")
        ),
        format!("{} -i {w} --json --threads 1", bin("weight-spectra")),
        format!("{} -i {w} -o - --threads 1", bin("weight-spectra")),
        format!("{} --dim 2000 -n 500 -o -", bin("synth-grads")),
    ];
    for cmd in &cmds {
        for tail in ["| true", "| head -c 100 >/dev/null"] {
            let (code, e) = pipeline(&format!("{cmd} {tail}"), &err);
            assert_eq!(code, "0", "{cmd} {tail}: {e}");
            no_panic(&e);
            assert!(!e.contains("error:"), "{cmd} {tail}: {e}");
        }
    }
}

#[test]
fn a_full_stdout_is_one_error_line_and_exit_1() {
    if !Path::new("/dev/full").exists() {
        eprintln!("note: no /dev/full here; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let err = dir.path().join("err.txt");
    for cmd in json_commands(&g) {
        let (code, e) = pipeline(&format!("{cmd} >/dev/full"), &err);
        assert_eq!(code, "1", "{cmd}: {e}");
        no_panic(&e);
        let last = e.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: cannot write to stdout: "),
            "{cmd}: {e}"
        );
    }
    // A table on stdout, and with the results file: nothing committed when stdout fails.
    let out = dir.path().join("k.csv");
    let (code, e) = pipeline(
        &format!(
            "{} -i {} --null-reps 0 -o - --angles-hist {} >/dev/full",
            bin("vmf-kappa"),
            g.display(),
            out.display()
        ),
        &err,
    );
    assert_eq!(code, "1", "{e}");
    assert!(!out.exists(), "a failed run left its other output");
}

#[test]
fn one_failing_output_commits_none() {
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let d = dir.path().join("d.csv");
    let missing = dir.path().join("nodir");
    // vmf-kappa: the table and a histogram into a missing directory.
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["--null-reps", "0", "-o"])
        .arg(&d)
        .arg("--angles-hist")
        .arg(missing.join("h.csv"))
        .output()
        .unwrap();
    assert_one_error_line(&o, &["nodir", "does not exist"], &d);
    // ... and into a full disk (a link to /dev/full, written in place): the table is
    // still not committed.
    if Path::new("/dev/full").exists() {
        let full = dir.path().join("full.csv");
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let o = Command::cargo_bin("vmf-kappa")
            .unwrap()
            .arg("-i")
            .arg(&g)
            .args(["--null-reps", "0", "-o"])
            .arg(&d)
            .arg("--angles-hist")
            .arg(&full)
            .output()
            .unwrap();
        assert_one_error_line(&o, &["full.csv", "No space left"], &d);
        std::fs::remove_file(&full).unwrap();
    }
    // powerlaw-fit: the fits and a comparison or a plot into a missing directory.
    for extra in [
        vec![
            "--compare".to_string(),
            "--compare-output".into(),
            missing.join("c.csv").display().to_string(),
        ],
        vec![
            "--plot".to_string(),
            missing.join("c.png").display().to_string(),
        ],
    ] {
        let o = Command::cargo_bin("powerlaw-fit")
            .unwrap()
            .arg("-i")
            .arg(&g)
            .args(["--spectrum", "covariance", "--step", "0", "-o"])
            .arg(&d)
            .args(&extra)
            .output()
            .unwrap();
        // (powerlaw-fit notes on stderr that it fits the top 29 eigenvalues first.)
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ") && last.contains("does not exist"),
            "{err}"
        );
        assert!(!d.exists(), "{extra:?}: a failed run left its table");
    }
    // No temporary file is left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.contains(".tmp."))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn errors_name_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let out = dir.path().join("nodir/k.csv");
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["--null-reps", "0", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("cannot write").count(), 1, "{err}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn plot_never_replaces_a_good_png_with_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t.csv");
    std::fs::write(&table, "step,kappa\n0,1.5\n10,2.5\n").unwrap();
    let png = dir.path().join("p.png");
    Command::cargo_bin("plot")
        .unwrap()
        .arg(&table)
        .args(["-x", "step", "-y", "kappa", "-o"])
        .arg(&png)
        .assert()
        .success();
    let good = std::fs::read(&png).unwrap();
    assert!(good.starts_with(b"\x89PNG\r\n\x1a\n"));
    for bad in [["--width", "0"], ["--height", "0"], ["--width", "100000"]] {
        let o: Output = Command::cargo_bin("plot")
            .unwrap()
            .arg(&table)
            .args(["-x", "step", "-y", "kappa", "-o"])
            .arg(&png)
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert_eq!(
            std::fs::read(&png).unwrap(),
            good,
            "{bad:?} touched the PNG"
        );
    }
    // Into a missing directory: one error, no file.
    let o = Command::cargo_bin("plot")
        .unwrap()
        .arg(&table)
        .args(["-x", "step", "-y", "kappa", "-o"])
        .arg(dir.path().join("nodir/p.png"))
        .output()
        .unwrap();
    assert_one_error_line(&o, &["does not exist"], &dir.path().join("nodir/p.png"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "temporaries left"
    );
}

#[test]
fn stdout_holds_one_output() {
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    // CSV and JSON on one stdout would interleave: a usage error, exit 2, nothing printed.
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["-o", "-", "--json", "--null-reps", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("stdout can hold one output"));
}

#[test]
fn outputs_naming_one_file_or_an_input_are_refused_before_any_work() {
    // Each pair was accepted before, and one of the two results silently lost (the file
    // held whichever was renamed into place last).
    let dir = tempfile::tempdir().unwrap();
    let g = small_matrix(dir.path());
    let w = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weight_spectra.safetensors");
    // State files are Parquet, so every pair is spelled as one Parquet file twice.
    let same = dir.path().join("same.parquet");
    let spelled = dir.path().join(".").join("same.parquet");
    let cases: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        (
            "vmf-kappa",
            vec![
                "-i".into(),
                g.clone().into(),
                "-o".into(),
                same.clone().into(),
                "--state-out".into(),
                spelled.clone().into(),
            ],
        ),
        (
            "normtest",
            vec![
                "-i".into(),
                g.clone().into(),
                "-o".into(),
                same.clone().into(),
                "--per-coordinate".into(),
                spelled.clone().into(),
            ],
        ),
        (
            "noise-scale",
            vec![
                "-i".into(),
                g.clone().into(),
                "-o".into(),
                same.clone().into(),
                "--state-out".into(),
                spelled.clone().into(),
            ],
        ),
        (
            "powerlaw-fit",
            vec![
                "-i".into(),
                g.clone().into(),
                "--spectrum".into(),
                "covariance".into(),
                "-o".into(),
                same.clone().into(),
                "--spectrum-output".into(),
                spelled.clone().into(),
            ],
        ),
        (
            "weight-spectra",
            vec![
                "-i".into(),
                w.clone().into(),
                "-o".into(),
                same.clone().into(),
                "--spectrum-output".into(),
                spelled.clone().into(),
            ],
        ),
    ];
    for (tool, args) in cases {
        let o = Command::cargo_bin(tool)
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{tool}: {err}");
        assert!(
            err.starts_with("error: two outputs name the same file") && err.lines().count() == 1,
            "{tool}: {err}"
        );
        assert!(!same.exists(), "{tool} wrote {}", same.display());
    }
    // An output that is the input replaced the gradients by their table before.
    let before = std::fs::read(&g).unwrap();
    let g_spelled = g.parent().unwrap().join(".").join(g.file_name().unwrap());
    for (tool, extra) in [
        ("vmf-kappa", vec![]),
        ("normtest", vec![]),
        ("noise-scale", vec![]),
        ("powerlaw-fit", vec!["--spectrum", "covariance"]),
    ] {
        let o = Command::cargo_bin(tool)
            .unwrap()
            .arg("-i")
            .arg(&g)
            .args(&extra)
            .arg("-o")
            .arg(&g_spelled)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{tool}: {err}");
        assert!(
            err.contains("is the input") && err.lines().count() == 1,
            "{tool}: {err}"
        );
        assert_eq!(
            std::fs::read(&g).unwrap(),
            before,
            "{tool} changed its input"
        );
    }
}

#[test]
fn thread_counts_beyond_the_cap_are_refused() {
    for (tool, args) in [
        ("vmf-kappa", vec!["-i", "x.parquet"]),
        ("synth-grads", vec!["-o", "x.parquet"]),
        ("normtest", vec!["-i", "x.parquet"]),
    ] {
        for t in ["5000", "100000"] {
            let o = Command::cargo_bin(tool)
                .unwrap()
                .args(&args)
                .args(["--threads", t])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2), "{tool} --threads {t}");
            assert!(String::from_utf8_lossy(&o.stderr).contains("at most 1024"));
        }
    }
    let o = Command::cargo_bin("vmf-null")
        .unwrap()
        .args(["figure8", "--threads", "5000"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
