//! Statistics computed in parts and combined: `vmf-kappa --state-out/--merge` over
//! shards of samples, `normtest --coords/--shard` over blocks of coordinates, and
//! `powerlaw-fit --spectrum --gram-out/--gram` over blocks of coordinates. The reference
//! of each is the same tool run once over the whole matrix (the criterion: the
//! parts combined equal one pass), on a matrix written here with several steps, batch
//! sizes, tensors and a zero gradient.

mod common;

use assert_cmd::Command;
use common::{assert_one_error_line, assert_usage_error_line, read_csv, Row};
use gradscope_io::grad_matrix::layout_from_shapes;
use gradscope_io::{GradReader, GradWriter, Provenance, Sample, WriterOptions};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::path::{Path, PathBuf};

/// Two steps; at each, 13 minibatches of batch size 8 and then 11 of batch size 32
/// (samples numbered on across batch sizes, as `dump-grads -b 8,32` numbers them), in
/// tensors of 1200 and 17 coordinates; gradients with a common mean (so GS and kappa are
/// away from their null values), sample 4 of step 0 zero.
fn write_matrix(path: &Path) {
    write_groups(path, &[(0, 8, 13), (0, 32, 11), (40, 8, 13), (40, 32, 11)]);
}

/// A matrix of the given groups (step, batch size, minibatches), written as
/// [`write_matrix`] describes.
fn write_groups(path: &Path, groups: &[(u64, u32, u32)]) {
    let mut meta = Provenance::new("gradient-matrix", "test 0");
    meta.layout = layout_from_shapes(&[("w", vec![30, 40]), ("b", vec![17])]);
    let dim = meta.dim();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mu: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let mut w = GradWriter::create(path, &meta, &WriterOptions::default()).unwrap();
    let mut sample = 0u32;
    for (i, &(step, bs, count)) in groups.iter().enumerate() {
        if i > 0 && groups[i - 1].0 != step {
            sample = 0;
        }
        for _ in 0..count {
            let scale = 0.5 + rng.random_range(0.0f32..2.0);
            let mut g: Vec<f32> = mu
                .iter()
                .map(|m| 0.3 * m + scale * rng.random_range(-1.0f32..1.0))
                .collect();
            if step == 0 && sample == 4 {
                g.fill(0.0);
            }
            let loss = 2.0 + rng.random_range(0.0..1.0);
            w.write_sample(step, sample, loss, bs, &g).unwrap();
            sample += 1;
        }
    }
    w.finish().unwrap();
}

/// Splits the matrix at `whole` into `n` part files by sample: j mod n when `modulo`,
/// else contiguous runs of about equal length within each step.
fn split(whole: &Path, n: usize, modulo: bool, dir: &Path) -> Vec<PathBuf> {
    let mut r = GradReader::open(whole).unwrap();
    let meta = r.meta().clone();
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| dir.join(format!("part-{}-{n}-{i}.parquet", u8::from(modulo))))
        .collect();
    let mut writers: Vec<GradWriter> = paths
        .iter()
        .map(|p| GradWriter::create(p, &meta, &WriterOptions::default()).unwrap())
        .collect();
    let mut s = Sample::default();
    while r.next_sample(&mut s).unwrap() {
        let j = s.sample as usize;
        let i = if modulo {
            j % n
        } else {
            (j * n / 24).min(n - 1)
        };
        writers[i]
            .write_sample(s.step, s.sample, s.loss, s.batch_size, &s.values)
            .unwrap();
    }
    for w in writers {
        w.finish().unwrap();
    }
    paths
}

fn vmf(args: &[&str]) -> std::process::Output {
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Two tables equal: the same columns and rows, text cells equal, numeric cells equal to
/// `rel` relative (empty cells, NaN, in the same places).
fn assert_tables_close(a: &[Row], b: &[Row], rel: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: rows");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            x.keys().collect::<std::collections::BTreeSet<_>>(),
            y.keys().collect::<std::collections::BTreeSet<_>>()
        );
        for (k, v) in x {
            let w = &y[k];
            match (v.parse::<f64>(), w.parse::<f64>()) {
                (Ok(p), Ok(q)) if v.contains(['.', 'e', 'E']) || w.contains(['.', 'e', 'E']) => {
                    assert!(
                        p == q || (p - q).abs() <= rel * p.abs().max(q.abs()),
                        "{what}: row {i}, {k}: {p} vs {q}"
                    );
                }
                _ => assert_eq!(v, w, "{what}: row {i}, {k}"),
            }
        }
    }
}

/// Two JSON values equal, numbers to `rel` relative.
fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value, rel: f64) {
    use serde_json::Value;
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len());
            x.iter()
                .zip(y)
                .for_each(|(p, q)| assert_json_close(p, q, rel));
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len());
            for (k, p) in x {
                assert_json_close(p, &y[k], rel);
            }
        }
        (Value::Number(p), Value::Number(q)) => {
            let (p, q) = (p.as_f64().unwrap(), q.as_f64().unwrap());
            assert!(
                p == q || (p - q).abs() <= rel * p.abs().max(q.abs()),
                "{p} vs {q}"
            );
        }
        _ => assert_eq!(a, b),
    }
}

#[test]
fn vmf_states_of_sample_shards_merge_to_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("g.parquet");
    write_matrix(&whole);
    let (table, hist) = (dir.path().join("one.csv"), dir.path().join("one-h.csv"));
    let flags = ["--per-tensor", "--null-reps", "30", "--seed", "3", "--json"];
    let one = vmf(&[
        &["-i", s(&whole), "-o", s(&table), "--angles-hist", s(&hist)][..],
        &flags[..],
    ]
    .concat());
    let one_rows = read_csv(&table);
    assert_eq!(
        one_rows.len(),
        2 * 2 * 3,
        "2 steps x 2 batch sizes x 3 scopes"
    );
    let one_json: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    for (n, modulo) in [(2, true), (3, true), (3, false)] {
        let parts = split(&whole, n, modulo, dir.path());
        let states: Vec<PathBuf> = parts
            .iter()
            .map(|p| {
                let st = p.with_extension("state.parquet");
                // The parts' own tables are not needed: the null simulation is skipped.
                vmf(&[
                    "-i",
                    s(p),
                    "--state-out",
                    s(&st),
                    "--per-tensor",
                    "--seed",
                    "3",
                    "--null-reps",
                    "0",
                ]);
                st
            })
            .collect();
        let mut orders = vec![states.clone()];
        orders.push(states.iter().rev().cloned().collect());
        let mut first_bytes: Option<String> = None;
        for order in orders {
            let (t, h) = (dir.path().join("m.csv"), dir.path().join("m-h.csv"));
            let mut args: Vec<&str> = vec!["--merge"];
            args.extend(order.iter().map(|p| s(p)));
            args.extend([
                "-o",
                s(&t),
                "--angles-hist",
                s(&h),
                "--null-reps",
                "30",
                "--json",
            ]);
            let merged = vmf(&args);
            let what = format!("{n} parts, modulo {modulo}");
            assert_tables_close(&read_csv(&t), &one_rows, 1e-12, &what);
            // Counts are exact and the expected counts depend on n alone.
            assert_eq!(
                std::fs::read_to_string(&h).unwrap(),
                std::fs::read_to_string(&hist).unwrap()
            );
            assert_eq!(
                String::from_utf8_lossy(&merged.stderr),
                String::from_utf8_lossy(&one.stderr),
                "{what}: summary"
            );
            let json: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
            assert_json_close(&json, &one_json, 1e-12);
            // The parts of a group are merged in the order of their samples: the order of
            // the files changes no bit.
            let text = std::fs::read_to_string(&t).unwrap();
            match &first_bytes {
                None => first_bytes = Some(text),
                Some(b) => assert_eq!(&text, b, "{what}: file order changed the table"),
            }
        }
        if n == 3 {
            // A merge of merges: two states merged into a state, then merged with the third.
            let ab = dir.path().join("ab.state.parquet");
            vmf(&[
                "--merge",
                s(&states[0]),
                s(&states[1]),
                "--state-out",
                s(&ab),
                "--null-reps",
                "0",
            ]);
            let t = dir.path().join("m2.csv");
            vmf(&[
                "--merge",
                s(&ab),
                s(&states[2]),
                "-o",
                s(&t),
                "--null-reps",
                "30",
            ]);
            assert_tables_close(&read_csv(&t), &one_rows, 1e-12, "merge of merges");
        }
    }
}

/// Copies the Parquet file `from` to `to` with its gradscope metadata edited by `edit`.
fn with_metadata(from: &Path, to: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap()).unwrap();
    let kv = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let mut json: serde_json::Value = serde_json::from_str(
        kv.iter()
            .find(|k| k.key == "gradscope")
            .unwrap()
            .value
            .as_ref()
            .unwrap(),
    )
    .unwrap();
    edit(&mut json);
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "gradscope".into(),
            json.to_string(),
        )]))
        .build();
    let schema = b.schema().clone();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(to).unwrap(), schema, Some(props)).unwrap();
    for batch in b.build().unwrap() {
        w.write(&batch.unwrap()).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn vmf_merges_refuse_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("g.parquet");
    write_matrix(&whole);
    let p = |n: &str| dir.path().join(n);
    let state = |args: &[&str], out: &Path| {
        vmf(&[
            &["-i", s(&whole), "--state-out", s(out), "--null-reps", "0"][..],
            args,
        ]
        .concat());
    };
    state(&[], &p("a.parquet"));
    state(&["--seed", "1"], &p("seed1.parquet"));
    state(&["--per-tensor"], &p("tensors.parquet"));
    // Another layout: the same gradients read as one tensor.
    let other = p("other.parquet");
    common::synth(&["--dim", "1217", "-n", "4"], &other);
    vmf(&[
        "-i",
        s(&other),
        "--state-out",
        s(&p("other-layout.parquet")),
        "--null-reps",
        "0",
    ]);
    vmf(&[
        "-i",
        s(&whole),
        "-o",
        s(&p("kappa.parquet")),
        "--null-reps",
        "0",
    ]);
    with_metadata(&p("a.parquet"), &p("v2.parquet"), |j| {
        j["state_version"] = 3.into()
    });
    with_metadata(&p("a.parquet"), &p("noise.parquet"), |j| {
        j["kind"] = "noise-scale-state".into()
    });
    let out = p("m.csv");
    let check = |files: &[&str], needles: &[&str]| {
        let mut args = vec!["--merge".to_string()];
        args.extend(files.iter().map(|f| s(&p(f)).to_string()));
        let o = Command::cargo_bin("vmf-kappa")
            .unwrap()
            .args(&args)
            .args(["-o", s(&out)])
            .output()
            .unwrap();
        assert_one_error_line(&o, needles, &out);
    };
    check(
        &["a.parquet", "seed1.parquet"],
        &[
            "seed1.parquet: taken with --seed 1",
            "a.parquet with --seed 0",
        ],
    );
    check(
        &["a.parquet", "tensors.parquet"],
        &[
            "tensors.parquet: taken with --per-tensor true",
            "a.parquet with --per-tensor false",
        ],
    );
    check(
        &["a.parquet", "other-layout.parquet"],
        &[
            "other-layout.parquet: its parameter layout (1 tensors, 1217 coordinates) differs from",
            "(2 tensors, 1217 coordinates)",
        ],
    );
    check(
        &["a.parquet", "g.parquet"],
        &[
            "g.parquet: a gradient matrix, not a vmf-kappa state",
            "vmf-kappa --state-out",
        ],
    );
    check(
        &["kappa.parquet"],
        &["kappa.parquet: a vmf-kappa table, not a vmf-kappa state"],
    );
    check(
        &["noise.parquet"],
        &["noise.parquet: a noise-scale state, not a vmf-kappa state"],
    );
    check(
        &["v2.parquet"],
        &["v2.parquet: vmf-kappa state version 3, this vmf-kappa reads version 2"],
    );
    check(&["absent.parquet"], &["cannot open", "absent.parquet"]);
    check(
        &["a.parquet", "a.parquet"],
        &[
            "step 0, batch size 8: its gradients start at sample 0 as",
            "disjoint parts",
        ],
    );
    // --state-out names a Parquet file; --merge takes no gradient input or state options.
    for bad in [
        vec!["-i", s(&whole), "--state-out", "s.csv"],
        vec!["--merge", s(&p("a.parquet")), "-i", s(&whole)],
        vec!["--merge", s(&p("a.parquet")), "--seed", "1"],
        vec!["--merge", s(&p("a.parquet")), "--per-tensor"],
    ] {
        Command::cargo_bin("vmf-kappa")
            .unwrap()
            .args(&bad)
            .assert()
            .code(2);
    }
}

fn normtest(args: &[&str]) -> std::process::Output {
    let o = Command::cargo_bin("normtest")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
fn normtest_parts_by_coordinate_concatenate_to_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("g.parquet");
    write_groups(&m, &[(0, 8, 24)]);
    let whole = dir.path().join("whole.csv");
    let summary = dir.path().join("summary.csv");
    normtest(&[
        "-i",
        s(&m),
        "--per-coordinate",
        s(&whole),
        "-o",
        s(&summary),
    ]);
    let want = std::fs::read_to_string(&whole).unwrap();
    let (header, body) = want.split_once('\n').unwrap();
    assert_eq!(body.lines().count(), 1217);
    // Three shards, and two ranges cut inside tensor w (1200 coordinates, then b's 17).
    let splits: [&[&[&str]]; 2] = [
        &[
            &["--shard", "0/3"],
            &["--shard", "1/3"],
            &["--shard", "2/3"],
        ],
        &[&["--coords", "0:1000"], &["--coords", "1000:1217"]],
    ];
    for parts in splits {
        let mut joined = String::new();
        for (i, flags) in parts.iter().enumerate() {
            let p = dir.path().join(format!("part{i}.csv"));
            normtest(&[&["-i", s(&m), "--per-coordinate", s(&p)][..], flags].concat());
            let text = std::fs::read_to_string(&p).unwrap();
            let (h, b) = text.split_once('\n').unwrap();
            assert_eq!(h, header);
            joined.push_str(b);
        }
        assert_eq!(
            joined, body,
            "{parts:?}: the parts' rows differ from the whole run's"
        );
    }
    // The summary's Gaussian percentage from the concatenated per-coordinate rows, as
    // the docs say to combine it: 100 x (p > alpha) / (rows with a p-value).
    let rows = read_csv(&whole);
    for row in read_csv(&summary) {
        let p = if row["test"] == "shapiro" {
            "shapiro_p"
        } else {
            "k2_p"
        };
        let ps: Vec<f64> = rows
            .iter()
            .filter(|r| r["tensor"] == row["tensor"] && !r[p].is_empty())
            .map(|r| r[p].parse().unwrap())
            .collect();
        let pct = 100.0 * ps.iter().filter(|&&v| v > 0.05).count() as f64 / ps.len() as f64;
        assert_eq!(pct, common::f(&row, "gaussian_pct"), "{row:?}");
    }
    // Bad parts: one line, no output; a usage error (exit 2) when the command line alone
    // is wrong, an error of the input (exit 1) when the part does not fit the gradients.
    let out = dir.path().join("bad.csv");
    for (usage, flags, needle) in [
        (
            true,
            vec!["--shard", "3/3"],
            "--shard 3/3: shard index 3 is outside 0..3",
        ),
        (
            true,
            vec!["--shard", "1/0"],
            "--shard 1/0: the shard count must be at least 1",
        ),
        (
            true,
            vec!["--coords", "5:5"],
            "--coords 5:5: START 5 must be below END 5",
        ),
        (
            false,
            vec!["--coords", "0:5000"],
            "--coords 0:5000: END 5000 is beyond the dimension 1217",
        ),
        (
            true,
            vec!["--coords", "0:100", "--mode", "dimension"],
            "applies to --mode iteration",
        ),
    ] {
        let o = Command::cargo_bin("normtest")
            .unwrap()
            .args(["-i", s(&m), "--per-coordinate", s(&out)])
            .args(&flags)
            .output()
            .unwrap();
        if usage {
            assert_usage_error_line(&o, &[needle], &out);
        } else {
            assert_one_error_line(&o, &[needle], &out);
        }
    }
}

fn powerlaw(args: &[&str]) {
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The eigenvalue column of a spectrum table.
fn eigenvalues(path: &Path) -> Vec<f64> {
    read_csv(path)
        .iter()
        .map(|r| common::f(r, "eigenvalue"))
        .collect()
}

#[test]
fn partial_gram_matrices_sum_to_the_single_run_spectrum() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("g.parquet");
    write_groups(&m, &[(0, 8, 24)]);
    let p = |n: &str| dir.path().join(n);
    for (matrix, splits) in [
        (
            "covariance",
            vec![
                vec!["--shard", "0/3"],
                vec!["--shard", "1/3"],
                vec!["--shard", "2/3"],
            ],
        ),
        (
            "second-moment",
            vec![vec!["--coords", "0:1000"], vec!["--coords", "1000:1217"]],
        ),
    ] {
        let whole = p("whole.csv");
        powerlaw(&[
            "-i",
            s(&m),
            "--spectrum",
            matrix,
            "--spectrum-output",
            s(&whole),
        ]);
        let want = eigenvalues(&whole);
        assert_eq!(want.len(), 24);
        let mut parts: Vec<String> = Vec::new();
        for (i, flags) in splits.iter().enumerate() {
            let g = p(&format!("gram-{i}.parquet"));
            powerlaw(
                &[
                    &["-i", s(&m), "--spectrum", matrix, "--gram-out", s(&g)][..],
                    flags,
                ]
                .concat(),
            );
            parts.push(s(&g).to_string());
        }
        parts.reverse(); // any order
        let merged = p("merged.csv");
        let mut args = vec![
            "--spectrum",
            matrix,
            "--spectrum-output",
            s(&merged),
            "--gram",
        ];
        args.extend(parts.iter().map(|x| x.as_str()));
        powerlaw(&args);
        let got = eigenvalues(&merged);
        assert_eq!(got.len(), want.len());
        let top = want[0];
        for (r, (a, b)) in got.iter().zip(&want).enumerate() {
            if b.abs() > 1e-9 * top {
                assert!(
                    (a - b).abs() <= 1e-10 * b.abs(),
                    "{matrix}: rank {r}: {a} vs {b}"
                );
            } else {
                // The covariance's null eigenvalue (rank n - 1): rounding noise around 0.
                assert!(
                    (a - b).abs() <= 1e-12 * top,
                    "{matrix}: rank {r}: {a} vs {b}"
                );
            }
        }
    }
    // Parts that do not fit: one line each, nothing written.
    let part = |name: &str, flags: &[&str], input: &Path| {
        powerlaw(
            &[
                &[
                    "-i",
                    s(input),
                    "--spectrum",
                    "covariance",
                    "--gram-out",
                    s(&p(name)),
                ][..],
                flags,
            ]
            .concat(),
        );
    };
    part("a.parquet", &["--coords", "0:700"], &m);
    part("b.parquet", &["--coords", "600:1217"], &m);
    part("c.parquet", &["--coords", "800:1217"], &m);
    part("d.parquet", &["--coords", "700:1217"], &m);
    let other = p("other.parquet");
    write_groups(&other, &[(0, 8, 23)]);
    part("e.parquet", &["--coords", "700:1217"], &other);
    let out = p("bad.csv");
    let check = |args: &[&str], needles: &[&str]| {
        let o = Command::cargo_bin("powerlaw-fit")
            .unwrap()
            .args(args)
            .args(["--spectrum-output", s(&out)])
            .output()
            .unwrap();
        assert_one_error_line(&o, needles, &out);
    };
    let g = |n: &str| s(&p(n)).to_string();
    check(
        &[
            "--spectrum",
            "covariance",
            "--gram",
            &g("a.parquet"),
            &g("b.parquet"),
        ],
        &[
            "b.parquet: its coordinates 600..1217 overlap",
            "a.parquet's 0..700",
        ],
    );
    check(
        &[
            "--spectrum",
            "covariance",
            "--gram",
            &g("c.parquet"),
            &g("a.parquet"),
        ],
        &["c.parquet: the parts leave coordinates 700..800 out"],
    );
    check(
        &["--spectrum", "covariance", "--gram", &g("a.parquet")],
        &["a.parquet: the parts leave coordinates 700..1217 out"],
    );
    check(
        &[
            "--spectrum",
            "covariance",
            "--gram",
            &g("a.parquet"),
            &g("e.parquet"),
        ],
        &[
            "e.parquet: its gradients (23 samples of step 0) are not",
            "(24 samples of step 0)",
        ],
    );
    check(
        &[
            "--spectrum",
            "second-moment",
            "--gram",
            &g("a.parquet"),
            &g("d.parquet"),
        ],
        &["a partial Gram of the covariance matrix, not of --spectrum second-moment"],
    );
    check(
        &["--spectrum", "covariance", "--gram", s(&m)],
        &[
            "g.parquet: a gradient matrix, not a powerlaw-fit-gram state",
            "powerlaw-fit --gram-out",
        ],
    );
    // Usage errors (exit 2): the command line alone is wrong.
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args([
            "-i",
            s(&m),
            "--spectrum",
            "covariance",
            "--coords",
            "0:5000",
        ])
        .args(["--spectrum-output", s(&out)])
        .output()
        .unwrap();
    assert_usage_error_line(
        &o,
        &["--coords 0:5000: a block of coordinates gives a partial Gram matrix"],
        &out,
    );
    // A partial Gram matrix is Parquet, named .parquet.
    let gram = p("bad.parquet");
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args([
            "-i",
            s(&m),
            "--spectrum",
            "covariance",
            "--shard",
            "2/2",
            "--gram-out",
            s(&gram),
        ])
        .output()
        .unwrap();
    assert_usage_error_line(&o, &["--shard 2/2: shard index 2 is outside 0..2"], &gram);
    let o = Command::cargo_bin("powerlaw-fit")
        .unwrap()
        .args([
            "-i",
            s(&m),
            "--spectrum",
            "covariance",
            "--coords",
            "0:5000",
            "--gram-out",
            s(&gram),
        ])
        .output()
        .unwrap();
    assert_one_error_line(
        &o,
        &["--coords 0:5000: END 5000 is beyond the dimension 1217"],
        &gram,
    );
}

/// The gradients of `whole` whose sample index lies in `keep`, as one part file.
fn subset(whole: &Path, keep: std::ops::Range<u32>, path: &Path) {
    let mut r = GradReader::open(whole).unwrap();
    let meta = r.meta().clone();
    let mut w = GradWriter::create(path, &meta, &WriterOptions::default()).unwrap();
    let mut s = Sample::default();
    while r.next_sample(&mut s).unwrap() {
        if keep.contains(&s.sample) {
            w.write_sample(s.step, s.sample, s.loss, s.batch_size, &s.values)
                .unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn overlapping_parts_are_refused_by_both_tools() {
    // Samples 0..60 and 40..100 of one step: 120 gradients where there are 100 indices.
    // Both merges gave n = 120 and exit 0 before; the parts start apart, so the check on
    // equal first samples did not see them.
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_groups(&p("whole.parquet"), &[(5, 8, 100)]);
    subset(&p("whole.parquet"), 0..60, &p("a.parquet"));
    subset(&p("whole.parquet"), 40..100, &p("b.parquet"));
    subset(&p("whole.parquet"), 60..100, &p("c.parquet"));
    for (tool, extra) in [
        ("vmf-kappa", &["--null-reps", "0"][..]),
        ("noise-scale", &[][..]),
    ] {
        for part in ["a", "b", "c"] {
            Command::cargo_bin(tool)
                .unwrap()
                .arg("-i")
                .arg(p(&format!("{part}.parquet")))
                .args(extra)
                .arg("--state-out")
                .arg(p(&format!("{tool}-{part}.parquet")))
                .assert()
                .success();
        }
        let merge = |second: &str, out: &Path| {
            Command::cargo_bin(tool)
                .unwrap()
                .arg("--merge")
                .arg(p(&format!("{tool}-a.parquet")))
                .arg(p(&format!("{tool}-{second}.parquet")))
                .arg("-o")
                .arg(out)
                .output()
                .unwrap()
        };
        let out = p("merged.csv");
        common::assert_one_error_line(
            &merge("b", &out),
            &[
                "step 5, batch size 8: the parts hold 120 gradients between samples 0 and 99, more than the 100 indices there: they overlap",
                &format!("{tool}-a.parquet"),
                &format!("{tool}-b.parquet"),
            ],
            &out,
        );
        // The disjoint pair 0..60 and 60..100 merges.
        let o = merge("c", &out);
        assert!(
            o.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::remove_file(&out).unwrap();
    }
}
