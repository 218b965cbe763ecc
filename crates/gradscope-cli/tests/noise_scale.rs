//! `noise-scale`: NumPy's values on the same gradients through the whole tool (file and
//! stream, one pass and merged states of parts), the known noise scale of synthetic
//! Gaussian gradients, and bad input.

mod common;
use assert_cmd::Command;
use common::{assert_one_error_line, f, read_csv, synth};
use gradscope_io::grad_matrix::layout_from_shapes;
use gradscope_io::{GradWriter, Provenance, WriterOptions};
use std::path::Path;

const D: usize = 40;

/// The LCG minibatches of scripts/reference/noise_scale_reference.py, bit for bit:
/// mu_j + sigma_j sqrt(12/B) (u - 1/2) rounded to f32, written as two tensors `a` (25)
/// and `b` (15) at step 3, samples numbered on across the parts.
fn write_lcg(path: &Path, parts: &[(u32, u64, u32)]) {
    write_lcg_part(path, parts, |_| true);
}

/// [`write_lcg`]'s minibatches whose sample index passes `keep`, numbered as in the
/// whole matrix: one part of it, as a shard of `dump-grads` writes.
fn write_lcg_part(path: &Path, parts: &[(u32, u64, u32)], keep: impl Fn(u32) -> bool) {
    let mut meta = Provenance::new("gradient-matrix", "test 0");
    meta.layout = layout_from_shapes(&[("a", vec![25]), ("b", vec![15])]);
    let mut w = GradWriter::create(path, &meta, &WriterOptions::default()).unwrap();
    let mut sample = 0;
    for &(batch, seed, n) in parts {
        let mut s = seed;
        for _ in 0..n {
            let g: Vec<f32> = (0..D)
                .map(|j| {
                    s = (1664525 * s + 1013904223) % (1u64 << 32);
                    let u = s as f64 / (1u64 << 32) as f64;
                    let mu = ((j % 7) as f64 - 3.0) * 0.05;
                    let sigma = 0.5 + (j % 5) as f64 * 0.1;
                    (mu + sigma * (12.0 / batch as f64).sqrt() * (u - 0.5)) as f32
                })
                .collect();
            if keep(sample) {
                w.write_sample(3, sample, 0.0, batch, &g).unwrap();
            }
            sample += 1;
        }
    }
    w.finish().unwrap();
}

fn noise_scale() -> Command {
    Command::cargo_bin("noise-scale").unwrap()
}

const COLUMNS: [&str; 8] = [
    "grad_sq_norm",
    "trace_sigma",
    "b_simple",
    "grad_sq_norm_se",
    "trace_sigma_se",
    "b_simple_se",
    "b_simple_lo",
    "b_simple_hi",
];

/// NumPy/scipy's rows (the whole vector, tensor a, tensor b; in the order of [`COLUMNS`])
/// for one case of scripts/reference/noise_scale_reference.py, which computes them from the
/// gradients themselves and writes the file read here: `one-b8`, and
/// `two-4-32-numbered-on`, the batch sizes 4 and 32 with samples numbered on across them
/// (0-8, then 9-14) as dump-grads writes them and [`write_lcg`] does. Groups K = 4.
fn numpy(case: &str) -> [[f64; 8]; 3] {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gradscope-stats/src/noise_scale/testdata/reference.csv");
    let rows: Vec<_> = read_csv(&path)
        .into_iter()
        .filter(|r| r["case"] == case)
        .collect();
    assert_eq!(rows.len(), 3, "{case}");
    std::array::from_fn(|s| std::array::from_fn(|i| f(&rows[s], COLUMNS[i])))
}

fn assert_table(path: &Path, want: &[[f64; 8]; 3], estimator: &str, batch_sizes: &str) {
    let rows = read_csv(path);
    assert_eq!(rows.len(), 3);
    for (row, (scope, w)) in rows.iter().zip(["all", "a", "b"].iter().zip(want)) {
        assert_eq!(row["scope"], *scope);
        assert_eq!(row["step"], "3");
        assert_eq!(row["estimator"], estimator);
        assert_eq!(row["batch_sizes"], batch_sizes);
        for (c, v) in COLUMNS.iter().zip(w) {
            let got = f(row, c);
            assert!(
                (got - v).abs() <= 1e-11 * v.abs(),
                "{scope} {c}: {got} vs NumPy {v}"
            );
        }
    }
}

#[test]
fn one_batch_size_equals_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    write_lcg(&g, &[(8, 11, 13)]);
    let out = dir.path().join("ns.csv");
    noise_scale()
        .args(["--per-tensor", "--groups", "4", "-i"])
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_table(&out, &numpy("one-b8"), "one-batch-size", "8");
}

#[test]
fn two_batch_sizes_equal_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    write_lcg(&g, &[(4, 21, 9), (32, 22, 6)]);
    let out = dir.path().join("ns.csv");
    noise_scale()
        .args(["--per-tensor", "--groups", "4", "-i"])
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_table(&out, &numpy("two-4-32-numbered-on"), "batch-sizes", "4 32");
}

#[test]
fn recovers_the_noise_scale_of_synthetic_gaussian_gradients() {
    // synth-grads --noise gaussian:SD --mean-scale M: g = M u + N(0, SD^2 I) with
    // batch_size 1, so |G|^2 = M^2, tr Sigma = d SD^2 and B_simple = d SD^2 / M^2 =
    // 2000 * 0.04 / 4 = 20 exactly.
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    synth(
        &[
            "--dim",
            "2000",
            "-n",
            "400",
            "--noise",
            "gaussian:0.2",
            "--mean-scale",
            "2",
            "--seed",
            "5",
        ],
        &g,
    );
    let out = dir.path().join("ns.csv");
    noise_scale()
        .arg("-i")
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let rows = read_csv(&out);
    let r = &rows[0];
    let (b, lo, hi) = (f(r, "b_simple"), f(r, "b_simple_lo"), f(r, "b_simple_hi"));
    assert!(
        lo <= 20.0 && 20.0 <= hi,
        "20 outside [{lo}, {hi}] (estimate {b})"
    );
    assert!((b - 20.0).abs() < 1.0, "{b}");
    // The same gradients as an Arrow IPC stream on stdin give the same table.
    let stream = Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--dim",
            "2000",
            "-n",
            "400",
            "--noise",
            "gaussian:0.2",
            "--mean-scale",
            "2",
            "--seed",
            "5",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(stream.status.success());
    let out2 = dir.path().join("ns2.csv");
    noise_scale()
        .args(["-i", "-", "-o"])
        .arg(&out2)
        .write_stdin(stream.stdout)
        .assert()
        .success();
    assert_eq!(read_csv(&out2), rows);
}

#[test]
fn bad_input_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ns.csv");
    // One minibatch: nothing to estimate a covariance from.
    let one = dir.path().join("one.parquet");
    write_lcg(&one, &[(8, 11, 1)]);
    let o = noise_scale()
        .arg("-i")
        .arg(&one)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_one_error_line(
        &o,
        &["one.parquet", "step 3", "at least 2 minibatches"],
        &out,
    );
    // Two batch sizes required, one present.
    let g = dir.path().join("g.parquet");
    write_lcg(&g, &[(8, 11, 13)]);
    let o = noise_scale()
        .args(["--estimator", "batch-sizes", "-i"])
        .arg(&g)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_one_error_line(
        &o,
        &["g.parquet", "two or more different batch sizes"],
        &out,
    );
    // One jackknife group is a usage error.
    noise_scale()
        .args(["--groups", "1", "-i"])
        .arg(&g)
        .assert()
        .code(2);
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("noise-scale --help", common::help_text("noise-scale", &[]));
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    write_lcg(&g, &[(4, 21, 9), (32, 22, 6)]);
    let g = g.to_str().unwrap();
    insta::assert_snapshot!(
        "noise-scale summary",
        common::summary_of(
            "noise-scale",
            &["-i", g, "--per-tensor", "--groups", "4", "--threads", "1"]
        )
    );
}

/// Every column of two CSV tables agrees: text columns exactly, numbers to `rel`.
fn assert_same_tables(a: &Path, b: &Path, rel: f64) {
    let (x, y) = (read_csv(a), read_csv(b));
    assert_eq!(x.len(), y.len());
    for (r, s) in x.iter().zip(&y) {
        assert_eq!(r.len(), s.len());
        for (k, v) in r {
            match (v.parse::<f64>(), s[k].parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= rel * p.abs().max(q.abs()) || (p.is_nan() && q.is_nan()),
                    "{k}: {p} merged vs {q} in one pass"
                ),
                _ => assert_eq!(v, &s[k], "{k}"),
            }
        }
    }
}

/// Minibatch parts, the case of NumPy's rows (see [`numpy`]), estimator, batch sizes.
type Case<'a> = (&'a [(u32, u64, u32)], &'a str, &'a str, &'a str);

/// `--state-out` on parts of the matrix (samples split by index, as `dump-grads --shard`
/// does, and unevenly), then `--merge`: the table of one pass to 1e-12 relative, jackknife
/// intervals included, and NumPy's values (scripts/reference/noise_scale_reference.py, see
/// [`numpy`]) to 1e-11 as the one pass; in any order of the states, for both
/// estimators.
#[test]
fn merged_states_equal_one_pass_and_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [Case; 2] = [
        (&[(8, 11, 13)], "one-b8", "one-batch-size", "8"),
        (
            &[(4, 21, 9), (32, 22, 6)],
            "two-4-32-numbered-on",
            "batch-sizes",
            "4 32",
        ),
    ];
    for (i, (parts, case, estimator, sizes)) in cases.into_iter().enumerate() {
        let whole = dir.path().join(format!("whole{i}.parquet"));
        write_lcg(&whole, parts);
        let one = dir.path().join(format!("one{i}.csv"));
        noise_scale()
            .args(["--per-tensor", "--groups", "4", "-i"])
            .arg(&whole)
            .arg("-o")
            .arg(&one)
            .assert()
            .success();
        // three parts: samples 0 mod 3, 1 mod 3 and 2 mod 3 except 5, which joins the first
        let keeps: [Box<dyn Fn(u32) -> bool>; 3] = [
            Box::new(|j| j % 3 == 0 || j == 5),
            Box::new(|j| j % 3 == 1),
            Box::new(|j| j % 3 == 2 && j != 5),
        ];
        let mut states = Vec::new();
        for (k, keep) in keeps.iter().enumerate() {
            let part = dir.path().join(format!("part{i}-{k}.parquet"));
            write_lcg_part(&part, parts, keep);
            let state = dir.path().join(format!("state{i}-{k}.parquet"));
            noise_scale()
                .args(["--per-tensor", "--groups", "4", "-i"])
                .arg(&part)
                .arg("--state-out")
                .arg(&state)
                .assert()
                .success();
            states.push(state);
        }
        for order in [[0, 1, 2], [2, 0, 1]] {
            let merged = dir.path().join(format!("merged{i}.csv"));
            let mut c = noise_scale();
            c.arg("--merge");
            for k in order {
                c.arg(&states[k]);
            }
            c.arg("-o").arg(&merged).assert().success();
            assert_same_tables(&merged, &one, 1e-12);
            assert_table(&merged, &numpy(case), estimator, sizes);
        }
    }
}

/// A merge of states taken with other options or layouts, or of a file that is no
/// noise-scale state, is one error line naming the file, and leaves no table.
#[test]
fn bad_merges_are_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.csv");
    let g = dir.path().join("g.parquet");
    write_lcg(&g, &[(4, 21, 9), (32, 22, 6)]);
    let state = |name: &str, extra: &[&str], input: &Path| {
        let p = dir.path().join(name);
        noise_scale()
            .args(extra)
            .arg("-i")
            .arg(input)
            .arg("--state-out")
            .arg(&p)
            .assert()
            .success();
        p
    };
    let s4 = state("s4.parquet", &["--groups", "4"], &g);
    let s5 = state("s5.parquet", &["--groups", "5"], &g);
    let tensors = state("t4.parquet", &["--groups", "4", "--per-tensor"], &g);
    let sizes = state(
        "b4.parquet",
        &["--groups", "4", "--estimator", "batch-sizes"],
        &g,
    );
    // another layout: one tensor of 40 coordinates
    let other = dir.path().join("other.parquet");
    {
        let mut meta = Provenance::new("gradient-matrix", "test 0");
        meta.layout = layout_from_shapes(&[("w", vec![D])]);
        let mut w = GradWriter::create(&other, &meta, &WriterOptions::default()).unwrap();
        for j in 0..6u32 {
            let v: Vec<f32> = (0..D).map(|c| (c as f32 + j as f32) * 0.01).collect();
            w.write_sample(3, j, 0.0, 8, &v).unwrap();
        }
        w.finish().unwrap();
    }
    let other_state = state("o4.parquet", &["--groups", "4"], &other);
    let table = dir.path().join("table.parquet");
    noise_scale()
        .args(["--groups", "4", "-i"])
        .arg(&g)
        .arg("-o")
        .arg(&table)
        .assert()
        .success();
    let cases: [(&Path, &[&str]); 6] = [
        (
            &s5,
            &["s5.parquet", "--groups 5", "s4.parquet", "--groups 4"],
        ),
        (&tensors, &["t4.parquet", "--per-tensor true"]),
        (
            &sizes,
            &["b4.parquet", "--estimator batch-sizes", "--estimator auto"],
        ),
        (
            &other_state,
            &["o4.parquet", "1 tensors, 40 coordinates", "2 tensors"],
        ),
        (
            &g,
            &["g.parquet", "a gradient matrix, not a noise-scale state"],
        ),
        (
            &table,
            &[
                "table.parquet",
                "a noise-scale table, not a noise-scale state",
            ],
        ),
    ];
    for (second, needles) in cases {
        let o = noise_scale()
            .arg("--merge")
            .arg(&s4)
            .arg(second)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_one_error_line(&o, needles, &out);
    }
    // The same state twice, or a copy of it: the same minibatches counted twice (before,
    // exit 0 with n doubled and B_simple moved). vmf-kappa refuses the same.
    let copy = dir.path().join("copy.parquet");
    std::fs::copy(&s4, &copy).unwrap();
    for second in [&s4, &copy] {
        let o = noise_scale()
            .arg("--merge")
            .arg(&s4)
            .arg(second)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_one_error_line(
            &o,
            &[
                "step 3, batch size 4: its minibatches start at sample 0 as",
                "s4.parquet's do",
                "disjoint parts",
            ],
            &out,
        );
    }
    // More than 1,000 groups is refused before any work (10,000,000 asked for 160 GB).
    for k in ["1", "1001"] {
        let o = noise_scale()
            .args(["--groups", k, "-i"])
            .arg(&g)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("from 2 to 1000 jackknife groups"));
    }
    // --merge takes its options from the states
    noise_scale()
        .args(["--groups", "4", "--merge"])
        .arg(&s4)
        .assert()
        .code(2);
}
