//! CLI tests of `vmf-kappa` (with `synth-grads` as the source of known truth).

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, f, read_csv, synth};
use std::path::Path;

#[test]
fn recovers_a_known_kappa_through_a_pipe() {
    // 1,500 vMF draws in d = 50,000 with kappa = 20,000: A_d(kappa) = 0.372, and the ML
    // estimate's sampling error is below 1 % (sd of r_bar ~ sqrt((1-r^2)/(n d))... tiny);
    // kappa-hat of uniform directions would be d/sqrt(n) = 1,291.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.csv");
    let synth = Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--dim",
            "50000",
            "-n",
            "1500",
            "--kappa",
            "20000",
            "--norm",
            "lognormal:0.5",
            "--seed",
            "3",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(synth.status.success());
    Command::cargo_bin("vmf-kappa")
        .unwrap()
        .args(["-i", "-", "-o"])
        .arg(&out)
        .write_stdin(synth.stdout)
        .assert()
        .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["n"], "1500");
    assert_eq!(r["dim"], "50000");
    let k = f(r, "kappa_ml");
    assert!((k / 20_000.0 - 1.0).abs() < 0.01, "kappa_ml {k}");
    // Uniformity is rejected; the null mean is d / sqrt(n) to within 1 %.
    assert!(f(r, "rayleigh_z") > 100.0);
    let null = f(r, "kappa_null_mean");
    assert!(
        (null / (50_000.0 / 1500f64.sqrt()) - 1.0).abs() < 0.01,
        "{null}"
    );
    // Log-normal norms with sigma 0.5: GNS = sqrt(exp(sigma^2) - 1) = 0.5329 (within 5 %).
    let gns = f(r, "gns");
    assert!((gns / 0.5329 - 1.0).abs() < 0.05, "gns {gns}");
}

#[test]
fn uniform_directions_look_uniform_in_every_scope() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    synth(
        &[
            "--layout",
            "a:30x100,b:2000",
            "-n",
            "403",
            "--steps",
            "2",
            "--seed",
            "1",
        ],
        &g,
    );
    let out = dir.path().join("k.csv");
    let hist = dir.path().join("h.csv");
    Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .arg("--per-tensor")
        .arg("--angles-hist")
        .arg(&hist)
        .args(["--angle-bins", "100", "--null-reps", "400"])
        .assert()
        .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 6);
    for r in &rows {
        // 403 gradients a step, not a multiple of the accumulator's blocks: every step's
        // last block is cut at the step boundary.
        assert_eq!(r["n"], "403", "{r:?}");
        // kappa-hat within 4 null standard deviations of the null mean; Rayleigh z ~ N(0,1).
        let z = (f(r, "kappa") - f(r, "kappa_null_mean")) / f(r, "kappa_null_sd");
        assert!(z.abs() < 4.0, "{r:?}");
        assert!(f(r, "rayleigh_z").abs() < 4.0, "{r:?}");
        assert!(f(r, "angle_ks") < 0.12, "{r:?}");
    }
    assert_eq!(rows.iter().filter(|r| r["scope"] == "a").count(), 2);
    let h = read_csv(&hist);
    assert_eq!(h.len(), 6 * 102);
    let total: u64 = h
        .iter()
        .filter(|r| r["step"] == "0" && r["scope"] == "all")
        .map(|r| r["count"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 403);
}

#[test]
fn same_seed_same_numbers_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let g1 = dir.path().join("g1.parquet");
    let g2 = dir.path().join("g2.parquet");
    for (g, threads) in [(&g1, "1"), (&g2, "2")] {
        synth(
            &[
                "--dim",
                "70000",
                "-n",
                "50",
                "--kappa",
                "100",
                "--seed",
                "9",
                "--threads",
                threads,
            ],
            g,
        );
    }
    let run = |g: &Path, threads: &str| {
        let o = Command::cargo_bin("vmf-kappa")
            .unwrap()
            .arg("-i")
            .arg(g)
            .args(["-o", "-", "--threads", threads])
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    let a = run(&g1, "1");
    assert_eq!(a, run(&g2, "2"));
    assert!(!a.is_empty());
}

#[test]
fn bad_inputs_give_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.csv");
    let check = |input: &Path, needle: &str| {
        let o = Command::cargo_bin("vmf-kappa")
            .unwrap()
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_one_error_line(&o, &[needle], &out);
    };
    // Not a file of ours.
    let junk = dir.path().join("junk.parquet");
    std::fs::write(&junk, "step,sample\n1,2\n").unwrap();
    check(&junk, "not a Parquet file or an Arrow IPC stream");
    check(
        &dir.path().join("absent.parquet"),
        "absent.parquet: cannot open",
    );
    // A Parquet file without the gradient-matrix columns or metadata.
    let other = dir.path().join("other.parquet");
    let kappa = dir.path().join("k2.parquet");
    let g = dir.path().join("g.parquet");
    synth(&["--dim", "10", "-n", "5"], &g);
    Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&kappa)
        .assert()
        .success();
    std::fs::copy(&kappa, &other).unwrap();
    check(&other, "missing column `sample`");
    // Unknown output extension: a usage error, refused while parsing the arguments.
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["-o", "x.txt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown output format"));
    // Usage errors exit 2, the argument parser's on one line too (clap prints usage and
    // a hint on 5 lines).
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .args(["--ouput", "k.csv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: unexpected argument '--ouput' found; tip: a similar argument exists: '--output' (see --help)\n"
    );
}

#[test]
fn broken_pipe_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    synth(&["--dim", "10", "-n", "5", "--steps", "3000"], &g);
    // `vmf-kappa -o - | head -c 1`: the reader goes away; vmf-kappa exits 0 silently.
    let sh = format!("set -o pipefail; {} -i {} -o - --null-reps 0 2>/tmp/gradscope-bp.err | head -c 1 >/dev/null; echo $?", env!("CARGO_BIN_EXE_vmf-kappa"), g.display());
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&sh)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0");
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("vmf-kappa --help", common::help_text("vmf-kappa", &[]));
    let dir = tempfile::tempdir().unwrap();
    let g = common::fixed_matrix(dir.path());
    let g = g.to_str().unwrap();
    insta::assert_snapshot!(
        "vmf-kappa summary",
        common::summary_of(
            "vmf-kappa",
            &[
                "-i",
                g,
                "--per-tensor",
                "--null-reps",
                "20",
                "--threads",
                "1"
            ]
        )
    );
}
