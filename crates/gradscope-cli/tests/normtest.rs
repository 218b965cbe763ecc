//! CLI tests of `normtest` (with `synth-grads` and hand-written matrices as known truth).

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, assert_usage_error_line, f, read_csv, synth, Row};
use gradscope_io::grad_matrix::layout_from_shapes;
use gradscope_io::{GradReader, GradWriter, Provenance, Sample, WriterOptions};
use gradscope_stats::normality::{dagostino_pearson, shapiro_wilk, tail_index, Moments};
use rand::Rng as _;
use rand_distr::StandardNormal;
use std::collections::HashMap;
use std::path::Path;

fn find<'a>(rows: &'a [Row], tensor: &str, test: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["tensor"] == tensor && r["test"] == test)
        .unwrap_or_else(|| panic!("no row {tensor} {test}"))
}

/// Writes a one-step gradient matrix with tensors `w` (`dim` values) from `value(sample, j)`.
fn write_matrix(path: &Path, dim: usize, n: u32, mut value: impl FnMut(u32, usize) -> f32) {
    let mut meta = Provenance::new("gradient-matrix", "test 0");
    meta.layout = layout_from_shapes(&[("w", vec![dim])]);
    let mut w = GradWriter::create(path, &meta, &WriterOptions::default()).unwrap();
    for s in 0..n {
        let v: Vec<f32> = (0..dim).map(|j| value(s, j)).collect();
        w.write_sample(0, s, 0.0, 1, &v).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn gaussian_coordinates_pass_and_student_t_coordinates_fail() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let out = dir.path().join("s.csv");
    // 3,000 coordinates of 200 Gaussian samples: the acceptance rate at alpha = 0.05 is
    // 95 % with binomial sd 0.40 % (tensor a, 2,000) and 0.69 % (tensor b, 1,000).
    synth(
        &[
            "--layout",
            "a:40x50,b:1000",
            "-n",
            "200",
            "--noise",
            "gaussian:1",
            "--mean-scale",
            "3",
            "--seed",
            "1",
        ],
        &g,
    );
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(
            (r["n"].as_str(), r["coords_constant"].as_str()),
            ("200", "0")
        );
        let pct = f(r, "gaussian_pct");
        assert!((pct - 95.0).abs() < 3.0, "{r:?}");
        // Gaussian: E|Z|^3 = 2 sqrt(2/pi) = 1.596; tail index 2.
        assert!((f(r, "beta_sigma3_q50") - 1.596).abs() < 0.1, "{r:?}");
        assert!((f(r, "tail_index_q50") - 2.0).abs() < 0.3, "{r:?}");
        assert!(
            f(r, "beta_sigma3_q05") < f(r, "beta_sigma3_q50")
                && f(r, "beta_sigma3_q50") < f(r, "beta_sigma3_q95")
        );
        assert!((f(r, "mean_p") - 0.5).abs() < 0.05, "{r:?}");
    }
    assert_eq!(find(&rows, "a", "shapiro")["coords_tested"], "2000");
    // Student-t with 3 degrees of freedom: heavy tails, rejected far more often.
    synth(
        &[
            "--layout",
            "a:40x50,b:1000",
            "-n",
            "200",
            "--noise",
            "student-t:3",
            "--seed",
            "2",
        ],
        &g,
    );
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    for r in &read_csv(&out) {
        assert!(f(r, "gaussian_pct") < 60.0, "{r:?}");
    }
}

#[test]
fn per_coordinate_values_equal_the_statistics_library() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let pc = dir.path().join("pc.csv");
    synth(
        &[
            "--layout",
            "a:6x5,b:20",
            "-n",
            "60",
            "--steps",
            "2",
            "--noise",
            "student-t:5",
            "--seed",
            "4",
        ],
        &g,
    );
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("--per-coordinate")
        .arg(&pc)
        .assert()
        .success();
    let rows = read_csv(&pc);
    assert_eq!(rows.len(), 2 * 50);
    let text = std::fs::read_to_string(&pc).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "step,tensor,index,n,shapiro_w,shapiro_p,skew_z,kurt_z,k2,k2_p,beta_sigma3,tail_index"
    );
    // The values of coordinate (step 1, b, 7) and (step 0, a, 13), read back directly.
    let mut reader = GradReader::open(&g).unwrap();
    let mut s = Sample::default();
    let mut cols: HashMap<(u64, usize), Vec<f64>> = HashMap::new();
    while reader.next_sample(&mut s).unwrap() {
        for (step, global) in [(1u64, 30 + 7), (0, 13)] {
            if s.step == step {
                cols.entry((step, global))
                    .or_default()
                    .push(f64::from(s.values[global]));
            }
        }
    }
    for (step, tensor, index, global) in [(1u64, "b", 7u64, 37usize), (0, "a", 13, 13)] {
        let r = rows
            .iter()
            .find(|r| {
                r["step"] == step.to_string()
                    && r["tensor"] == tensor
                    && r["index"] == index.to_string()
            })
            .unwrap();
        let x = &cols[&(step, global)];
        assert_eq!((r["n"].as_str(), x.len()), ("60", 60));
        let sw = shapiro_wilk(x).unwrap();
        let dp = dagostino_pearson(x).unwrap();
        let m = Moments::new(x).unwrap();
        let expected = [
            ("shapiro_w", sw.w),
            ("shapiro_p", sw.p),
            ("skew_z", dp.skew.z),
            ("kurt_z", dp.kurtosis.z),
            ("k2", dp.k2),
            ("k2_p", dp.p),
            ("beta_sigma3", m.beta_over_sigma3().unwrap()),
            ("tail_index", tail_index(&centred(x, m.mean)).unwrap().alpha),
        ];
        for (col, want) in expected {
            let got = f(r, col);
            assert!(
                (got - want).abs() <= 1e-14 * want.abs().max(1e-300),
                "{col}: {got} vs {want}"
            );
        }
    }
    // --test shapiro leaves the D'Agostino columns null; --coords picks K per tensor.
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["--test", "shapiro", "--coords", "10"])
        .arg("--per-coordinate")
        .arg(&pc)
        .assert()
        .success();
    let rows = read_csv(&pc);
    assert_eq!(rows.len(), 2 * 20);
    assert!(rows
        .iter()
        .all(|r| r["k2"].is_empty() && r["skew_z"].is_empty() && !r["shapiro_p"].is_empty()));
}

#[test]
fn same_output_for_any_thread_count_block_size_and_for_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let args = [
        "--layout",
        "a:500,b:10x30",
        "-n",
        "100",
        "--steps",
        "2",
        "--noise",
        "student-t:8",
        "--seed",
        "7",
    ];
    synth(&args, &g);
    let run = |extra: &[&str], stdin: Option<Vec<u8>>| {
        let mut c = Command::cargo_bin("normtest").unwrap();
        c.args(["-o", "-"]).args(extra);
        match stdin {
            Some(bytes) => c.args(["-i", "-"]).write_stdin(bytes),
            None => c.arg("-i").arg(&g),
        };
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (o.stdout, String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (a, _) = run(&["--threads", "1"], None);
    assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 1 + 2 * 2 * 2);
    // About 97 coordinates per block: 9 blocks, the file read 10 times.
    let (b, err) = run(&["--threads", "2", "--block-mb", "0.05"], None);
    assert!(err.contains("9 blocks"), "{err}");
    assert_eq!(a, b);
    let stream = Command::cargo_bin("synth-grads")
        .unwrap()
        .args(args)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(stream.status.success());
    let (c, err) = run(&["--threads", "2"], Some(stream.stdout));
    assert!(err.contains("stdin: copied the stream"), "{err}");
    assert_eq!(a, c);
}

#[test]
fn dimension_wise_and_iteration_wise_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let out = dir.path().join("d.csv");
    // i.i.d. N(0, 1) coordinates: Gaussian read either way. 300 gradients: the
    // dimension-wise rate has binomial sd 1.26 %.
    synth(
        &[
            "--layout",
            "a:2000,b:500",
            "-n",
            "300",
            "--noise",
            "gaussian:1",
            "--seed",
            "3",
        ],
        &g,
    );
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .args(["--mode", "dimension", "--test", "dagostino"])
        .assert()
        .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 3 * 2);
    for r in &rows {
        assert_eq!(r["n"], "100");
        assert!((f(r, "gaussian_pct") - 95.0).abs() < 6.0, "{r:?}");
    }
    let dim_all = rows
        .iter()
        .find(|r| r["tensor"] == "all" && r["wise"] == "dimension")
        .unwrap();
    assert_eq!(dim_all["sets_tested"], "300");
    let it_all = rows
        .iter()
        .find(|r| r["tensor"] == "all" && r["wise"] == "iteration")
        .unwrap();
    assert_eq!(it_all["sets_tested"], "2500");
    // Coordinates with different scales (sd 1 in a, 10^3 in b): each coordinate is still
    // Gaussian over the iterations, but a gradient read across a and b is a scale mixture,
    // far from Gaussian (the structure study's finding, in miniature): a 50/50 mixture of
    // N(0, 1) and N(0, 10^6) has excess kurtosis 3.
    let mut rng = gradscope_stats::rng::seeded(5);
    write_matrix(&g, 400, 120, |_, j| {
        let z: f32 = rng.sample(StandardNormal);
        if j % 2 == 0 {
            z
        } else {
            1000.0 * z
        }
    });
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .args(["--mode", "dimension", "--test", "dagostino"])
        .assert()
        .success();
    let rows = read_csv(&out);
    let dim = rows
        .iter()
        .find(|r| r["tensor"] == "all" && r["wise"] == "dimension")
        .unwrap();
    // Excess kurtosis 3 at K = 100: K^2 rejects most gradients (6 of 120 pass here).
    assert!(
        f(dim, "gaussian_pct") < 20.0 && f(dim, "mean_p") < 0.05,
        "{dim:?}"
    );
    let it = rows
        .iter()
        .find(|r| r["tensor"] == "all" && r["wise"] == "iteration")
        .unwrap();
    assert!(f(it, "gaussian_pct") > 85.0, "{it:?}");
}

#[test]
fn constant_coordinates_are_reported_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let out = dir.path().join("s.csv");
    // 40 coordinates, 3 of them (5, 6, 30) dead: always 0.
    write_matrix(&g, 40, 50, |s, j| {
        if [5, 6, 30].contains(&j) {
            0.0
        } else {
            (((s * 40) as usize + j) as f32 * 0.618).fract()
        }
    });
    let o = Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("constant coordinates") && err.contains("w at step 0: 3 of 40"),
        "{err}"
    );
    for r in &read_csv(&out) {
        assert_eq!(
            (r["coords_tested"].as_str(), r["coords_constant"].as_str()),
            ("40", "3")
        );
        let gaussian: u64 = r["gaussian"].parse().unwrap();
        let undefined: u64 = r["coords_undefined"].parse().unwrap();
        assert!(
            (f(r, "gaussian_pct") - 100.0 * gaussian as f64 / (37 - undefined) as f64).abs() < 1e-9
        );
    }
}

#[test]
fn bad_inputs_give_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let run = |input: &Path, extra: &[&str]| {
        Command::cargo_bin("normtest")
            .unwrap()
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let check = |input: &Path, extra: &[&str], needle: &str| {
        assert_one_error_line(&run(input, extra), &[needle], &out);
    };
    let g = dir.path().join("g.parquet");
    synth(&["--dim", "10", "-n", "2", "--noise", "gaussian:1"], &g);
    check(&g, &[], "Shapiro-Wilk needs at least 3 samples");
    synth(&["--dim", "10", "-n", "5", "--noise", "gaussian:1"], &g);
    check(&g, &[], "use --test shapiro");
    Command::cargo_bin("normtest")
        .unwrap()
        .arg("-i")
        .arg(&g)
        .args(["--test", "shapiro"])
        .assert()
        .success();
    // NaN.
    write_matrix(&g, 10, 20, |s, j| {
        if s == 7 && j == 3 {
            f32::NAN
        } else {
            (s + j as u32) as f32
        }
    });
    check(&g, &[], "step 0 sample 7 tensor `w`: value NaN at index 3");
    // Every coordinate constant: nothing to test.
    write_matrix(&g, 10, 20, |_, _| 0.0);
    check(&g, &[], "every tested coordinate is constant");
    check(
        &dir.path().join("absent.parquet"),
        &[],
        "absent.parquet: cannot open",
    );
    // Usage errors exit 2: a value out of its range, as an option clap cannot parse.
    assert_usage_error_line(
        &run(&g, &["--alpha", "1.5"]),
        &["--alpha 1.5 must lie strictly between 0 and 1"],
        &out,
    );
    Command::cargo_bin("normtest")
        .unwrap()
        .args(["--test", "ks"])
        .assert()
        .code(2);
}

#[test]
fn one_group_per_step_and_batch_size() {
    // dump-grads -b 8,64 writes both batch sizes at one step: they are tested apart, and
    // a spectrum refuses the mixture.
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    let mut meta = Provenance::new("gradient-matrix", "test 0");
    meta.layout = layout_from_shapes(&[("w", vec![30])]);
    let mut w = GradWriter::create(&g, &meta, &WriterOptions::default()).unwrap();
    for s in 0..80u32 {
        let bs = if s < 40 { 8 } else { 64 };
        let v: Vec<f32> = (0..30)
            .map(|j| ((s * 31 + j) as f32 * 0.618).fract())
            .collect();
        w.write_sample(0, s, 0.0, bs, &v).unwrap();
    }
    w.finish().unwrap();
    let out = dir.path().join("s.csv");
    let o = Command::cargo_bin("normtest")
        .unwrap()
        .args([
            "-i",
            g.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--test",
            "shapiro",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = read_csv(&out);
    let mut groups: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r["tensor"] == "w")
        .map(|r| (r["batch_size"].clone(), r["n"].clone()))
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        vec![("64".into(), "40".into()), ("8".into(), "40".into())]
    );
    let png = dir.path().join("fits.csv");
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args([
            "-i",
            g.to_str().unwrap(),
            "--spectrum",
            "covariance",
            "-o",
            png.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    common::assert_one_error_line(&o, &["g.parquet", "mix batch sizes (8, 64)"], &png);
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("normtest --help", common::help_text("normtest", &[]));
    let dir = tempfile::tempdir().unwrap();
    let g = common::fixed_matrix(dir.path());
    let g = g.to_str().unwrap();
    insta::assert_snapshot!(
        "normtest summary",
        common::summary_of("normtest", &["-i", g, "--threads", "1"])
    );
}

/// The coordinate's noise: its samples minus their mean (what the tail index reads).
fn centred(x: &[f64], mean: f64) -> Vec<f64> {
    x.iter().map(|v| v - mean).collect()
}
