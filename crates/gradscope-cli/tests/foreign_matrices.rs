//! Gradient matrices written by other Arrow producers (pyarrow, polars, DuckDB; with and
//! without `gradscope` metadata; int32/int64/uint16 indices, utf8, large_utf8, utf8_view
//! and dictionary names, list, large_list and fixed_size_list of float32 and float64),
//! read by `vmf-kappa` and `normtest`, against NumPy and scipy on the same numbers.
//!
//! Files and reference values: scripts/reference/foreign_matrices.py (its docstring says
//! what each file holds and how each reference is computed). The references are computed
//! on the values rounded to float32, as the reader holds them; the tools accumulate in
//! float64, so they agree to about 1e-12 relative (the tolerances below).

mod common;

use assert_cmd::Command;
use common::{f, read_csv, Row};
use std::path::{Path, PathBuf};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/foreign")
        .join(name)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Runs vmf-kappa --per-tensor on `input`; the rows, and stderr.
fn vmf_kappa(input: &Path, out: &Path) -> (Vec<Row>, String) {
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .args(["--per-tensor", "--null-reps", "0", "-i"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{}: {err}", input.display());
    (read_csv(out), err)
}

fn check_vmf(rows: &[Row], reference: &[Row], scopes: &[(&str, &str)], what: &str) {
    for r in reference {
        // (scope in the reference, scope in the tool's output)
        let Some(&(_, scope)) = scopes.iter().find(|(s, _)| *s == r["scope"]) else {
            continue;
        };
        let got = rows
            .iter()
            .find(|g| g["step"] == r["step"] && g["scope"] == scope)
            .unwrap_or_else(|| panic!("{what}: no row step {} scope {scope}", r["step"]));
        assert_eq!(got["n"], r["n"], "{what}");
        for (col, tol) in [
            ("r_bar", 1e-12),
            ("kappa", 1e-10),
            ("mean_norm", 1e-12),
            ("std_norm", 1e-10),
            ("gs", 1e-10),
        ] {
            let (a, b) = (f(got, col), f(r, col));
            assert!(
                rel(a, b) < tol,
                "{what}: step {} scope {scope} {col}: {a} vs NumPy {b}",
                r["step"]
            );
        }
    }
}

#[test]
fn vmf_kappa_on_every_producers_file_equals_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let reference = read_csv(&testdata("vmf-reference.csv"));
    let all = [("all", "all"), ("w", "w"), ("b", "b")];
    for file in [
        "pyarrow-nometa-f64.parquet",
        "pyarrow-nometa-f64.arrows",
        "pyarrow-meta-f32.parquet",
        "pyarrow-plain-f32.parquet",
        "polars.parquet",
        "polars.arrows",
        "duckdb.parquet",
        "duckdb-meta-f32.parquet",
    ] {
        let out = dir.path().join(format!("{file}.csv"));
        let (rows, _) = vmf_kappa(&testdata(file), &out);
        assert_eq!(rows.len(), 6, "{file}: 2 steps x 3 scopes");
        check_vmf(&rows, &reference, &all, file);
    }
    // One tensor `w` as fixed_size_list: its scope `all` is the reference's `w`.
    let out = dir.path().join("fixed.csv");
    let (rows, _) = vmf_kappa(&testdata("pyarrow-fixed.parquet"), &out);
    check_vmf(&rows, &reference, &[("w", "all")], "pyarrow-fixed.parquet");
}

#[test]
fn float64_values_cost_what_float32_rounding_costs() {
    // The reader converts float64 gradients to float32 (README, "The gradient matrix").
    // On these numbers that moves r_bar by under 1e-9 and kappa by under 3e-8 relative
    // against NumPy on the unrounded float64 values (the reference's *_f64 columns).
    let dir = tempfile::tempdir().unwrap();
    let reference = read_csv(&testdata("vmf-reference.csv"));
    let out = dir.path().join("k.csv");
    let (rows, _) = vmf_kappa(&testdata("pyarrow-nometa-f64.parquet"), &out);
    for r in &reference {
        let got = rows
            .iter()
            .find(|g| g["step"] == r["step"] && g["scope"] == r["scope"])
            .unwrap();
        let (dr, dk) = (
            rel(f(got, "r_bar"), f(r, "r_bar_f64")),
            rel(f(got, "kappa"), f(r, "kappa_f64")),
        );
        assert!(
            dr < 1e-9 && dk < 3e-8,
            "step {} {}: {dr:e} {dk:e}",
            r["step"],
            r["scope"]
        );
    }
}

#[test]
fn normtest_on_every_producers_file_equals_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let reference = read_csv(&testdata("normtest-reference.csv"));
    for file in [
        "pyarrow-nometa-f64.parquet",
        "pyarrow-meta-f32.parquet",
        "polars.arrows",
        "duckdb.parquet",
    ] {
        let per = dir.path().join(format!("{file}.per.csv"));
        let o = Command::cargo_bin("normtest")
            .unwrap()
            .arg("-i")
            .arg(testdata(file))
            .arg("--per-coordinate")
            .arg(&per)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rows = read_csv(&per);
        assert_eq!(rows.len(), reference.len(), "{file}");
        for r in &reference {
            let got = rows
                .iter()
                .find(|g| {
                    g["step"] == r["step"] && g["tensor"] == r["tensor"] && g["index"] == r["index"]
                })
                .unwrap_or_else(|| panic!("{file}: no row {r:?}"));
            // scipy 1.17's Shapiro-Wilk uses AS 111 / AS 66 normal approximations where
            // gradscope uses full-precision ones: about 1e-10 apart (normality_reference.py).
            for (col, tol) in [
                ("shapiro_w", 1e-9),
                ("shapiro_p", 1e-7),
                ("k2", 1e-10),
                ("k2_p", 1e-10),
            ] {
                let (a, b) = (f(got, col), f(r, col));
                assert!(
                    (a - b).abs() < tol * b.abs().max(1.0),
                    "{file}: step {} {} [{}] {col}: {a} vs scipy {b}",
                    r["step"],
                    r["tensor"],
                    r["index"]
                );
            }
        }
    }
}

#[test]
fn inferred_layouts_are_said_in_the_results_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.parquet");
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .args(["--null-reps", "0", "-i"])
        .arg(testdata("duckdb.parquet"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&out).unwrap(),
    )
    .unwrap();
    let json = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|k| k.key == "gradscope")
        .and_then(|k| k.value.clone())
        .unwrap();
    let p: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(p["source"]["layout_inferred"], true, "{json}");
    let reader = gradscope_io::GradReader::open(&testdata("duckdb.parquet")).unwrap();
    assert!(reader.meta().layout_inferred());
    assert_eq!(
        reader
            .meta()
            .layout
            .iter()
            .map(|t| (t.name.as_str(), t.numel))
            .collect::<Vec<_>>(),
        [("w", 12), ("b", 5)]
    );
    assert!(!reader.has_loss() && !reader.has_batch_size());
    let with_meta = gradscope_io::GradReader::open(&testdata("duckdb-meta-f32.parquet")).unwrap();
    assert!(!with_meta.meta().layout_inferred());
    assert_eq!(with_meta.meta().layout[0].shape, [3, 4]);
}
