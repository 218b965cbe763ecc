//! CLI tests of `powerlaw-fit`: the reference LCG sample through a CSV file, spectra of
//! synthetic gradient matrices (checked against the library on the same matrix), and
//! the error cases.

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, assert_usage_error_line, f, read_csv};
use gradscope_io::{GradReader, Sample};
use gradscope_stats::spectrum::{spectrum_of_rows, MatrixKind};
use std::path::Path;

fn powerlaw_fit() -> Command {
    Command::cargo_bin("powerlaw-fit").unwrap()
}

/// The references' uniforms: s <- (1664525 s + 1013904223) mod 2^32 from `seed`,
/// u = s / 2^32 after each step.
fn lcg_uniforms(seed: u64, n: usize) -> impl Iterator<Item = f64> {
    let mut s = seed;
    (0..n).map(move |_| {
        s = (1664525 * s + 1013904223) % (1u64 << 32);
        s as f64 / 4294967296.0
    })
}

/// The reference sample: x = (1 - u)^(-1/1.5), u from the LCG from 31337.
fn lcg_pareto(n: usize) -> Vec<f64> {
    lcg_uniforms(31337, n)
        .map(|u| (1.0 - u).powf(-1.0 / 1.5))
        .collect()
}

fn write_values(path: &Path, header: &str, values: &[f64]) {
    let mut text = format!("id,{header},label\n");
    for (i, v) in values.iter().enumerate() {
        // `{:?}` prints the shortest string that parses back to the same f64.
        text.push_str(&format!("{i},{v:?},x{i}\n"));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn reference_lcg_sample_through_a_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lcg.csv");
    write_values(&data, "x", &lcg_pareto(5000));
    let out = dir.path().join("fit.csv");
    let cmp = dir.path().join("fit-compare.csv");
    let plot = dir.path().join("fit.png");
    powerlaw_fit()
        .arg("-i")
        .arg(&data)
        .args(["--column", "x", "--compare", "--plot-kind", "ccdf", "-o"])
        .arg(&out)
        .arg("--plot")
        .arg(&plot)
        .assert()
        .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let close = |k: &str, want: f64| {
        let got = f(r, k);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs(),
            "{k}: {got} vs {want}"
        );
    };
    close("xmin", 1.7758679675670983);
    close("alpha", 2.4668739593926334);
    close("ks_d", 0.008996090844652721);
    close("sigma", (2.4668739593926334 - 1.0) / 2080f64.sqrt());
    close("ks_crit", 1.36 / 2080f64.sqrt());
    assert_eq!(r["n"], "5000");
    assert_eq!(r["n_tail"], "2080");
    assert_eq!(r["scope"], "x");
    assert_eq!(r["power_law"], "true");
    // The exact 5% point for n = 2080 lies just below the asymptotic 1.3581/sqrt(n).
    let exact = f(r, "ks_crit_exact");
    assert!(exact < 1.3581 / 2080f64.sqrt() && exact > 1.33 / 2080f64.sqrt());
    // The comparison table went next to the output: four alternatives.
    let c = read_csv(&cmp);
    assert_eq!(c.len(), 4);
    let alts: Vec<&str> = c.iter().map(|r| r["alt"].as_str()).collect();
    assert_eq!(
        alts,
        [
            "lognormal",
            "exponential",
            "truncated_power_law",
            "stretched_exponential"
        ]
    );
    // A Pareto sample beats the exponential decisively.
    let exp = c.iter().find(|r| r["alt"] == "exponential").unwrap();
    assert!(f(exp, "R") > 0.0 && f(exp, "p") < 1e-3);
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);
}

#[test]
fn fixed_and_top_k_rules_bootstrap_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lcg.csv");
    write_values(&data, "x", &lcg_pareto(2000));
    let run = |extra: &[&str]| {
        let o = powerlaw_fit()
            .arg("-i")
            .arg(&data)
            .args(["--column", "x", "--json", "--threads", "2"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["fits"][0].clone()
    };
    // Fixed xmin = 1: the whole sample, alpha = 1 + n / sum ln x.
    let x = lcg_pareto(2000);
    let want = 1.0 + 2000.0 / x.iter().map(|v| v.ln()).sum::<f64>();
    let fixed = run(&["--xmin", "fixed:1"]);
    assert_eq!(fixed["n_tail"], 2000);
    assert!((fixed["alpha"].as_f64().unwrap() - want).abs() < 1e-12 * want);
    let top = run(&["--top-k", "500"]);
    assert_eq!(top["n_tail"], 500);
    assert_eq!(top["xmin_rule"], "top-k:500");
    // The bootstrap p-value is seeded: same seed, same p; a true power law is not rejected.
    let a = run(&["--bootstrap", "40", "--seed", "3"]);
    let b = run(&["--bootstrap", "40", "--seed", "3"]);
    assert_eq!(a["p_gof"], b["p_gof"]);
    assert!(a["p_gof"].as_f64().unwrap() > 0.1);
}

/// `scripts/reference/powerlaw_discrete_compare.py`'s `geometric` sample: a discrete
/// exponential, x = 1 + floor(-ln(1 - u) / 0.25), u from the LCG from 2024.
fn lcg_geometric(n: usize) -> Vec<f64> {
    lcg_uniforms(2024, n)
        .map(|u| 1.0 + (-(1.0 - u).ln() / 0.25).floor())
        .collect()
}

#[test]
fn discrete_compare_uses_the_discrete_alternatives() {
    use gradscope_stats::powerlaw::{
        fit, likelihood_ratio_test, Alternative, FitOptions, Support, XminRule,
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("counts.csv");
    let x = lcg_geometric(2000);
    write_values(&data, "k", &x);
    let out = dir.path().join("fit.csv");
    let cmp = dir.path().join("fit-compare.csv");
    powerlaw_fit()
        .arg("-i")
        .arg(&data)
        .args([
            "--column",
            "k",
            "--discrete",
            "--xmin",
            "fixed:1",
            "--compare",
            "-o",
        ])
        .arg(&out)
        .assert()
        .success();
    let c = read_csv(&cmp);
    assert_eq!(c.len(), 4);
    // The table holds the library's discrete comparisons, digit for digit.
    let f_lib = fit(
        &x,
        &FitOptions {
            support: Support::Discrete(Default::default()),
            xmin: XminRule::Fixed(1.0),
        },
    )
    .unwrap();
    for row in &c {
        let alt = match row["alt"].as_str() {
            "lognormal" => Alternative::Lognormal,
            "exponential" => Alternative::Exponential,
            "truncated_power_law" => Alternative::TruncatedPowerLaw,
            "stretched_exponential" => Alternative::StretchedExponential,
            other => panic!("unexpected alternative {other}"),
        };
        let t = likelihood_ratio_test(&x, &f_lib, alt).unwrap();
        for (k, want) in [("R", t.r), ("R_norm", t.normalized_r), ("p", t.p_value)] {
            let got = f(row, k);
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{alt:?} {k}: {got} vs {want}"
            );
        }
        assert_eq!(row["n_tail"], "2000");
    }
    // Counts from a discrete exponential: the power law loses to the geometric law
    // decisively, R = -613.9274360187824 (the script's
    // geometric.exponential.polished.R, powerlaw 2.0.0 and mpmath; the package's own
    // Nelder-Mead fit reports -613.9274362756267), p = 2.5e-109.
    let exp = c.iter().find(|r| r["alt"] == "exponential").unwrap();
    let r = f(exp, "R");
    let want = -613.9274360187824;
    assert!((r - want).abs() < 1e-10 * want.abs(), "R = {r}");
    assert!(f(exp, "R_norm") < -20.0 && f(exp, "p") < 1e-100);
}

/// `n x d` gradients of a `synth-grads` file, row-major.
fn read_matrix(path: &Path) -> (Vec<f32>, usize, usize) {
    let mut r = GradReader::open(path).unwrap();
    let d = r.dim();
    let mut s = Sample::default();
    let mut x = Vec::new();
    let mut n = 0;
    while r.next_sample(&mut s).unwrap() {
        x.extend_from_slice(&s.values);
        n += 1;
    }
    (x, n, d)
}

#[test]
fn spectrum_of_a_synthetic_matrix() {
    // g = 10 u + 0.1 z (u a unit vector, z ~ N(0, I)), n = 300, d = 1300: the Gram route
    // for `all` and `a` (1200), the direct one for `b` (100). The covariance has trace
    // 0.01 d and no trace of the mean; the second moment's top eigenvalue is about
    // |mean|^2 + 0.01 d/n = 100.04.
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--layout",
            "a:30x40,b:100",
            "-n",
            "300",
            "--noise",
            "gaussian:0.1",
            "--mean-scale",
            "10",
            "--seed",
            "5",
            "-o",
        ])
        .arg(&g)
        .assert()
        .success();
    let (x, n, d) = read_matrix(&g);
    assert_eq!((n, d), (300, 1300));
    let out = dir.path().join("fits.csv");
    let spec = dir.path().join("spec.csv");
    let spec_blocks = dir.path().join("spec-blocks.csv");
    powerlaw_fit()
        .arg("-i")
        .arg(&g)
        .args([
            "--spectrum",
            "covariance",
            "--per-tensor",
            "--eigengaps",
            "--top-k",
            "50",
            "-o",
        ])
        .arg(&out)
        .arg("--spectrum-output")
        .arg(&spec)
        .assert()
        .success();
    let rows = read_csv(&out);
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["scope"].clone(), r["series"].clone()))
        .collect();
    let want: Vec<(String, String)> = ["all", "a", "b"]
        .iter()
        .flat_map(|s| {
            ["eigenvalues", "eigengaps"]
                .iter()
                .map(move |t| (s.to_string(), t.to_string()))
        })
        .collect();
    assert_eq!(keys, want);
    for r in &rows {
        assert_eq!(r["n_tail"], "50");
        assert!(f(r, "ks_d") >= 0.0 && f(r, "alpha") > 1.0);
    }
    // The covariance of 300 samples has rank 299 in `all`: one eigenvalue dropped.
    assert_eq!(rows[0]["n"], "299");
    assert_eq!(rows[0]["dropped"], "1");

    // Eigenvalues equal the library's on the same matrix, and the trace is 0.01 d.
    let s = read_csv(&spec);
    let all: Vec<f64> = s
        .iter()
        .filter(|r| r["scope"] == "all")
        .map(|r| f(r, "eigenvalue"))
        .collect();
    let lib = spectrum_of_rows(&x, n, d, MatrixKind::Covariance, 97).unwrap();
    assert_eq!(all.len(), 300);
    for (a, b) in all.iter().zip(&lib.eigenvalues) {
        assert!((a - b).abs() < 1e-10 * lib.eigenvalues[0], "{a} vs {b}");
    }
    let trace: f64 = all.iter().sum();
    assert!((trace / 13.0 - 1.0).abs() < 0.02, "trace {trace}");
    assert!(
        all[0] < 0.2,
        "the mean leaked into the covariance: {}",
        all[0]
    );
    assert_eq!(s.iter().filter(|r| r["scope"] == "b").count(), 100);
    assert!(s
        .iter()
        .filter(|r| r["scope"] == "b")
        .all(|r| r["route"] == "direct"));

    // 0.75 MiB of memory forces the multi-pass route (1.56 MB of f32 gradients): the
    // same eigenvalues. The second moment sees the mean.
    powerlaw_fit()
        .arg("-i")
        .arg(&g)
        .args([
            "--spectrum",
            "second-moment",
            "--block-mb",
            "0.75",
            "--top-k",
            "50",
        ])
        .arg("--spectrum-output")
        .arg(&spec_blocks)
        .assert()
        .success();
    let sm: Vec<f64> = read_csv(&spec_blocks)
        .iter()
        .map(|r| f(r, "eigenvalue"))
        .collect();
    let lib = spectrum_of_rows(&x, n, d, MatrixKind::SecondMoment, 1300).unwrap();
    for (a, b) in sm.iter().zip(&lib.eigenvalues) {
        assert!((a - b).abs() < 1e-10 * lib.eigenvalues[0], "{a} vs {b}");
    }
    assert!((sm[0] / 100.04 - 1.0).abs() < 0.01, "top {}", sm[0]);
}

#[test]
fn a_stream_on_stdin_and_several_steps() {
    let synth = Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--dim",
            "400",
            "-n",
            "60",
            "--steps",
            "2",
            "--noise",
            "gaussian:1",
            "--seed",
            "2",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(synth.status.success());
    // Two parameter points: the tool asks which.
    powerlaw_fit()
        .args(["-i", "-", "--spectrum", "covariance"])
        .write_stdin(synth.stdout.clone())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--step"))
        .stderr(predicates::str::contains("steps 0, 1"));
    let o = powerlaw_fit()
        .args([
            "-i",
            "-",
            "--spectrum",
            "covariance",
            "--step",
            "1",
            "--json",
        ])
        .write_stdin(synth.stdout)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 60 samples: 59 positive covariance eigenvalues, all fitted (fewer than 1000).
    assert_eq!(v["fits"][0]["n"], 59);
    assert_eq!(v["fits"][0]["n_tail"], 59);
}

fn fit_output(args: &[&str], input: &Path, out: &Path) -> std::process::Output {
    powerlaw_fit()
        .arg("-i")
        .arg(input)
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// An error of the input: exit 1.
fn fails_with(args: &[&str], input: &Path, out: &Path, message: &[&str]) {
    assert_one_error_line(&fit_output(args, input, out), message, out);
}

/// A command line wrong in itself: exit 2.
fn usage_fails_with(args: &[&str], input: &Path, out: &Path, message: &[&str]) {
    assert_usage_error_line(&fit_output(args, input, out), message, out);
}

#[test]
fn a_scan_with_no_valid_candidate_says_so() {
    // Pareto values with alpha = 5: every candidate's alpha is above the default bound 3.
    // The fit then minimises KS over all candidates; before, it said nothing, and a table
    // with alpha 5.16 looked like a fit within --alpha-max 3.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("steep.csv");
    let steep: Vec<f64> = lcg_uniforms(11, 3000)
        .map(|u| (1.0 - u).powf(-1.0 / 4.0))
        .collect();
    write_values(&data, "x", &steep);
    let run = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let o = powerlaw_fit()
            .arg("-i")
            .arg(&data)
            .args(["--column", "x"])
            .args(extra)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success());
        let alpha = f(&read_csv(&out)[0], "alpha");
        (String::from_utf8_lossy(&o.stderr).to_string(), alpha)
    };
    let (err, bounded) = run(&[], "a.csv");
    assert!(
        err.contains("no xmin candidate fits an alpha below --alpha-max 3;"),
        "{err}"
    );
    let (err, free) = run(&["--alpha-max", "inf"], "b.csv");
    assert!(!err.contains("note:"), "{err}");
    // Every candidate is valid without the bound, so the two scans pick the same xmin.
    assert_eq!(bounded, free);
    assert!((free - 5.0).abs() < 0.3, "alpha {free}");
    for bad in ["1", "0.5", "nan"] {
        usage_fails_with(
            &["--column", "x", "--alpha-max", bad],
            &data,
            &dir.path().join("c.csv"),
            &["must exceed 1"],
        );
    }
    // A rule that does not scan has no candidates to bound: the option is refused, not
    // ignored (it was accepted and changed nothing).
    for rule in [["--xmin", "fixed:2"], ["--top-k", "100"]] {
        let mut args = vec!["--column", "x", "--alpha-max", "inf"];
        args.extend(rule);
        usage_fails_with(
            &args,
            &data,
            &dir.path().join("c.csv"),
            &["--alpha-max inf bounds the xmin scan", "add --xmin scan"],
        );
    }
}

#[test]
fn options_of_another_input_are_refused() {
    // --block-mb bounds the gradients read for --spectrum; on a column it was accepted
    // and did nothing.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    write_values(&data, "x", &[1.0, 2.0, 3.0, 4.0, 5.0]);
    usage_fails_with(
        &["--column", "x", "--block-mb", "8"],
        &data,
        &dir.path().join("o.csv"),
        &["--block-mb bounds the gradients read for --spectrum"],
    );
}

#[test]
fn errors_are_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let data = dir.path().join("d.csv");
    write_values(&data, "x", &[1.0, 2.0, 3.0, -4.0, 5.0]);
    // A column that does not exist: the ones that do are named.
    fails_with(
        &["--column", "y"],
        &data,
        &out,
        &["no column 'y'", "id, x, label"],
    );
    // A column of text.
    fails_with(
        &["--column", "label"],
        &data,
        &out,
        &["'label'", "not numbers"],
    );
    // A non-positive value.
    fails_with(&["--column", "x"], &data, &out, &["-4", "not positive"]);
    // Fewer than two tail points.
    let ok = dir.path().join("ok.csv");
    write_values(&ok, "x", &[1.0, 2.0, 3.0, 4.0, 5.0]);
    fails_with(
        &["--column", "x", "--xmin", "fixed:4.5"],
        &ok,
        &out,
        &["only 1 point(s) at or above xmin = 4.5"],
    );
    // A bad rule and a file that is not a table.
    usage_fails_with(
        &["--column", "x", "--xmin", "best"],
        &ok,
        &out,
        &["--xmin best"],
    );
    // A row of another length than the header, past the first rows: named by its line
    // (it was reported as an unreadable header).
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "x,y\n1,2\n3,4\n5\n6,7\n").unwrap();
    fails_with(
        &["--column", "x"],
        &ragged,
        &out,
        &[
            "ragged.csv: cannot read the CSV table",
            "Expected 2",
            "found 1",
            "line 4",
        ],
    );
    let txt = dir.path().join("d.txt");
    std::fs::write(&txt, "1\n2\n").unwrap();
    fails_with(&["--column", "x"], &txt, &out, &[".parquet or .csv"]);
    // A Parquet table: the result of a fit is one; its text column is not numeric.
    let table = dir.path().join("t.parquet");
    powerlaw_fit()
        .arg("-i")
        .arg(&ok)
        .args(["--column", "x", "--xmin", "fixed:1", "-o"])
        .arg(&table)
        .assert()
        .success();
    fails_with(&["--column", "scope"], &table, &out, &["not numbers"]);
    fails_with(&["--column", "nope"], &table, &out, &["alpha", "ks_d"]);
    // Neither --column nor --spectrum: a usage error.
    powerlaw_fit().arg("-i").arg(&ok).assert().code(2);
}

#[test]
fn element_views_equal_the_library() {
    // --views on a synthetic matrix (n = 300, d = 1300; top-50 fits): the counts, rates and
    // mean d_ks of both views equal gradscope_stats::spectrum::view_fits on the same matrix,
    // for the noise |g - g_bar| (default) and the raw |g| (--views-raw).
    use gradscope_stats::spectrum::views::coordinate_means;
    use gradscope_stats::spectrum::{dimension_wise, iteration_wise, view_fits};
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--layout",
            "a:30x40,b:100",
            "-n",
            "300",
            "--noise",
            "student-t:3",
        ])
        .args(["--mean-scale", "1", "--seed", "9", "-o"])
        .arg(&g)
        .assert()
        .success();
    let (x, n, d) = read_matrix(&g);
    for raw in [false, true] {
        let out = dir.path().join(format!("views-{raw}.csv"));
        let mut cmd = powerlaw_fit();
        cmd.arg("-i")
            .arg(&g)
            .args(["--views", "dimension,iteration", "--top-k", "50", "-o"])
            .arg(&out);
        if raw {
            cmd.arg("--views-raw");
        }
        cmd.assert().success();
        let rows = read_csv(&out);
        assert_eq!(rows.len(), 2);
        let means = (!raw).then(|| coordinate_means(&x, n, d));
        let dim = view_fits(
            (0..n).map(|t| dimension_wise(&x, d, t, means.as_deref())),
            50,
        );
        let it = view_fits((0..d).map(|i| iteration_wise(&x, n, d, i, !raw)), 50);
        for (r, lib, view) in [(&rows[0], dim, "dimension"), (&rows[1], it, "iteration")] {
            assert_eq!(r["view"], view);
            assert_eq!(r["sets_tested"], lib.tested.to_string());
            assert_eq!(r["accepted"], lib.accepted.to_string());
            assert!((f(r, "power_law_rate") - lib.rate()).abs() < 1e-12);
            assert!((f(r, "mean_ks_d") - lib.mean_ks).abs() < 1e-12);
            assert!((f(r, "ks_crit") - 1.36 / 50f64.sqrt()).abs() < 1e-15);
        }
    }
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!(
        "powerlaw-fit --help",
        common::help_text("powerlaw-fit", &[])
    );
    let dir = tempfile::tempdir().unwrap();
    let g = common::fixed_matrix(dir.path());
    let g = g.to_str().unwrap();
    insta::assert_snapshot!(
        "powerlaw-fit summary",
        common::summary_of(
            "powerlaw-fit",
            &[
                "-i",
                g,
                "--spectrum",
                "covariance",
                "--step",
                "1",
                "--threads",
                "1"
            ]
        )
    );
}
