//! CLI tests of `weight-spectra`. The reference weights and values come from
//! `scripts/reference/weight_spectra_reference.py` (numpy 2.4.6, weightwatcher 0.7.7):
//! tests/data/weight_spectra.safetensors and tests/data/weight_spectra_reference.json.

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, f, read_csv, Row};
use std::path::{Path, PathBuf};

fn weight_spectra() -> Command {
    Command::cargo_bin("weight-spectra").unwrap()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(data("weight_spectra_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Runs the tool on the reference file; returns the layer rows and the eigenvalue rows.
fn run_reference(dir: &Path) -> (Vec<Row>, Vec<Row>) {
    let out = dir.join("layers.csv");
    let ev = dir.join("eigenvalues.csv");
    weight_spectra()
        .arg("-i")
        .arg(data("weight_spectra.safetensors"))
        .arg("-o")
        .arg(&out)
        .arg("--spectrum-output")
        .arg(&ev)
        .assert()
        .success();
    (read_csv(&out), read_csv(&ev))
}

fn layer<'a>(rows: &'a [Row], name: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["layer"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

fn eigenvalues_of(ev: &[Row], name: &str) -> Vec<f64> {
    ev.iter()
        .filter(|r| r["layer"] == name)
        .map(|r| f(r, "eigenvalue"))
        .collect()
}

#[test]
fn eigenvalues_and_norms_match_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, ev) = run_reference(dir.path());
    let refs = reference();
    let layers = refs["layers"].as_object().unwrap();
    // Rank-1 tensors are not matrices; tiny.weight has one eigenvalue (< --min-evals 8).
    let mut names: Vec<&str> = rows.iter().map(|r| r["layer"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "brain.weight",
            "conv1.weight",
            "conv1d.weight",
            "double.weight",
            "fc1.weight",
            "fc2.weight",
            "half.weight"
        ]
    );
    for (name, r) in layers {
        if name == "tiny.weight" {
            continue;
        }
        let row = layer(&rows, name);
        assert_eq!(f(row, "N"), r["N"].as_f64().unwrap(), "{name}");
        assert_eq!(f(row, "M"), r["M"].as_f64().unwrap(), "{name}");
        assert_eq!(f(row, "slices"), r["slices"].as_f64().unwrap(), "{name}");
        let ours = eigenvalues_of(&ev, name);
        let lmax = ours[0];
        for key in ["eigenvalues_svd", "eigenvalues_eigh"] {
            let want = floats(&r[key]);
            assert_eq!(ours.len(), want.len(), "{name}");
            // The Gram route's error is about M eps lambda_max in absolute terms (the
            // smallest eigenvalues here are >= 1e-3 lambda_max, so <= 1e-11 relative).
            for (o, w) in ours.iter().zip(&want) {
                assert!(
                    (o - w).abs() <= 1e-13 * lmax + 1e-12 * w.abs(),
                    "{name} {key}: {o} vs {w}"
                );
            }
        }
        for key in ["spectral_norm", "stable_rank"] {
            let w = r[key].as_f64().unwrap();
            assert!((f(row, key) - w).abs() <= 1e-12 * w, "{name} {key}");
        }
        let w = r["spectral_norm"].as_f64().unwrap();
        assert!((f(row, "log10_spectral_norm") - w.log10()).abs() < 1e-12);
        assert!((f(row, "lambda_max") - lmax).abs() <= 1e-15 * lmax);
    }
}

#[test]
fn fits_equal_powerlaw_fit_on_the_same_eigenvalues() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, ev) = run_reference(dir.path());
    for row in &rows {
        let name = &row["layer"];
        let values = eigenvalues_of(&ev, name);
        let csv = dir.path().join("one.csv");
        let mut text = String::from("x\n");
        for v in &values {
            text.push_str(&format!("{v:?}\n"));
        }
        std::fs::write(&csv, text).unwrap();
        let fit = dir.path().join("fit.csv");
        Command::cargo_bin("powerlaw-fit")
            .unwrap()
            .arg("-i")
            .arg(&csv)
            .args(["--column", "x", "--alpha-max", "inf", "-o"])
            .arg(&fit)
            .assert()
            .success();
        let p = &read_csv(&fit)[0];
        for (ours, theirs) in [
            ("alpha", "alpha"),
            ("xmin", "xmin"),
            ("ks_d", "ks_d"),
            ("n_tail", "n_tail"),
        ] {
            assert_eq!(f(row, ours), f(p, theirs), "{name} {ours}");
        }
        assert_eq!(f(row, "num_positive"), values.len() as f64);
    }
}

/// weightwatcher 0.7.7's analyze() on the same weights: its eigenvalues are sigma^2
/// (Conv2D: sigma^2 / 2), ours sigma^2 / N; the exponent and the KS distance do not
/// depend on the scale. Every layer here has at least 20 eigenvalues, so its fit is
/// the standard one (see the tool's documentation for where the two differ).
#[test]
fn alpha_agrees_with_weightwatcher() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = run_reference(dir.path());
    let refs = reference();
    let mut compared = 0;
    for (name, r) in refs["layers"].as_object().unwrap() {
        let Some(w) = r.get("weightwatcher") else {
            continue;
        };
        let row = layer(&rows, name);
        let n = f(row, "N");
        let scale = if row["kind"] == "conv2d" { n / 2.0 } else { n };
        // weightwatcher reads weights as float32 and computes in float64: exact for the
        // F32/F16/BF16 tensors, a rounding of the F64 one; Conv2D weights it also
        // multiplies by 1/sqrt(2) in float32 (numpy keeps the array's type), another
        // rounding of 6e-8 relative per weight.
        let tol = if row["dtype"] == "F64" || row["kind"] == "conv2d" {
            1e-6
        } else {
            1e-10
        };
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(
            rel(f(row, "alpha"), w["alpha"].as_f64().unwrap()) < tol,
            "{name} alpha"
        );
        assert!(
            rel(f(row, "xmin") * scale, w["xmin"].as_f64().unwrap()) < tol,
            "{name} xmin"
        );
        assert!(
            rel(f(row, "ks_d"), w["D"].as_f64().unwrap()) < tol,
            "{name} D"
        );
        assert!(
            rel(f(row, "stable_rank"), w["stable_rank"].as_f64().unwrap()) < tol,
            "{name}"
        );
        let sn = f(row, "spectral_norm");
        let ww_sn = w["spectral_norm"].as_f64().unwrap();
        let factor = if row["kind"] == "conv2d" { 0.5 } else { 1.0 };
        assert!(rel(sn * sn * factor, ww_sn) < tol, "{name} spectral norm");
        assert_eq!(f(row, "num_evals"), w["num_evals"].as_f64().unwrap());
        compared += 1;
    }
    assert_eq!(compared, 6);
}

#[test]
fn json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("esd.png");
    let o = weight_spectra()
        .arg("-i")
        .arg(data("weight_spectra.safetensors"))
        .args(["--json", "--plot-layer", "conv1.weight", "--plot"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"].as_array().unwrap().len(), 7);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tiny.weight (1 eigenvalues)"), "{err}");
}

/// A safetensors file by hand: (name, dtype, shape, little-endian bytes).
fn write_safetensors(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = serde_json::Map::new();
    let mut body = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape,
                "data_offsets": [body.len(), body.len() + bytes.len()]}),
        );
        body.extend_from_slice(bytes);
    }
    let h = serde_json::to_vec(&header).unwrap();
    let mut all = (h.len() as u64).to_le_bytes().to_vec();
    all.extend_from_slice(&h);
    all.extend_from_slice(&body);
    std::fs::write(path, all).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32_ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
        .collect()
}

#[test]
fn gradscope_checkpoints_skip_the_optimiser_state() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ckpt.safetensors");
    write_safetensors(
        &p,
        &[
            ("fc.weight", "F32", vec![12, 10], f32_bytes(&f32_ramp(120))),
            ("fc.bias", "F32", vec![12], f32_bytes(&[0.5; 12])),
            // A Conv3d kernel: no WeightWatcher reading, passed over with a note.
            (
                "conv3d.weight",
                "F32",
                vec![2, 2, 2, 2, 2],
                f32_bytes(&f32_ramp(32)),
            ),
            (
                "optim.fc.weight.buf1",
                "F32",
                vec![12, 10],
                f32_bytes(&f32_ramp(120)),
            ),
            ("__state__", "U8", vec![2], b"{}".to_vec()),
        ],
    );
    let out = dir.path().join("rows.csv");
    let o = weight_spectra()
        .arg("-i")
        .arg(&p)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("note: conv3d.weight: a 5-D tensor (WeightWatcher reads dense layers and 1-D and 2-D convolutions only); passed over"));
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["layer"], "fc.weight");
    assert_eq!(rows[0]["shape"], "12x10");
}

#[test]
fn bad_input_is_one_error_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    let run = |input: &Path| {
        weight_spectra()
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap()
    };
    // No matrices: only vectors and a scalar.
    let none = dir.path().join("none.safetensors");
    write_safetensors(
        &none,
        &[
            ("b", "F32", vec![4], f32_bytes(&[1.0; 4])),
            ("s", "F32", vec![], f32_bytes(&[1.0])),
        ],
    );
    assert_one_error_line(
        &run(&none),
        &["none.safetensors", "no weight matrices"],
        &out,
    );
    // A non-finite weight.
    let mut w = f32_ramp(120);
    w[37] = f32::NAN;
    let nan = dir.path().join("nan.safetensors");
    write_safetensors(&nan, &[("fc.weight", "F32", vec![12, 10], f32_bytes(&w))]);
    assert_one_error_line(
        &run(&nan),
        &["nan.safetensors", "fc.weight", "index 37", "not finite"],
        &out,
    );
    // Truncated: the reference file less its last 100 bytes.
    let bytes = std::fs::read(data("weight_spectra.safetensors")).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert_one_error_line(&run(&cut), &["cut.safetensors", "truncated"], &out);
    // Corrupt: not JSON after the length.
    let junk = dir.path().join("junk.safetensors");
    let mut j = 16u64.to_le_bytes().to_vec();
    j.extend_from_slice(b"this is not json");
    std::fs::write(&junk, j).unwrap();
    assert_one_error_line(
        &run(&junk),
        &["junk.safetensors", "not a valid safetensors"],
        &out,
    );
    // An unknown dtype.
    let dtype = dir.path().join("dtype.safetensors");
    write_safetensors(&dtype, &[("fc.weight", "F7", vec![2, 2], vec![0u8; 16])]);
    assert_one_error_line(&run(&dtype), &["dtype.safetensors", "F7"], &out);
    // A missing file.
    assert_one_error_line(
        &run(&dir.path().join("absent.safetensors")),
        &["absent.safetensors"],
        &out,
    );
    // An unknown --plot-layer.
    let o = weight_spectra()
        .arg("-i")
        .arg(data("weight_spectra.safetensors"))
        .arg("-o")
        .arg(&out)
        .args(["--plot", "x.png", "--plot-layer", "nope"])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["--plot-layer nope", "fc1.weight"], &out);
}

/// `--help`, and the summary on the reference weights (tests/data, see the module's note).
#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!(
        "weight-spectra --help",
        common::help_text("weight-spectra", &[])
    );
    let input = data("weight_spectra.safetensors");
    let i = input.to_str().unwrap();
    let summary = common::summary_of("weight-spectra", &["-i", i, "--threads", "1"]);
    insta::assert_snapshot!("weight-spectra summary", summary.replace(i, "IN"));
}
