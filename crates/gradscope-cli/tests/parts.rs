//! A gradient matrix in parts (a hive-partitioned directory, a glob, a list of files)
//! read by vmf-kappa and normtest as the whole file, and the bad parts refused.
//!
//! Fixtures: scripts/reference/parts_fixtures.py wrote testdata/parts/ with pyarrow:
//! whole.parquet, and the same rows split into hive partitions by step (two parts per
//! step, interleaved samples; with and without the `step` column in the files) and into
//! contiguous blocks; bad/ holds parts that must not be read together. The reference of
//! every table read from parts is the table the same tool writes from whole.parquet:
//! the CSV bytes must be equal.

mod common;

use assert_cmd::Command;
use common::assert_one_error_line;
use std::path::{Path, PathBuf};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/parts")
        .join(name)
}

/// Runs `tool ARGS -i INPUTS... -o OUT` and returns the table's bytes.
fn table(tool: &str, args: &[&str], inputs: &[PathBuf], out: &Path) -> Vec<u8> {
    let o = Command::cargo_bin(tool)
        .unwrap()
        .args(args)
        .args(["--threads", "1", "-i"])
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{tool} {inputs:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(out).unwrap()
}

const VMF: &[&str] = &["--per-tensor", "--null-reps", "20"];
const NORMTEST: &[&str] = &["--test", "both"];

#[test]
fn parts_read_as_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let whole = [testdata("whole.parquet")];
    let hive = testdata("hive");
    let as_parts: Vec<(&str, Vec<PathBuf>)> = vec![
        ("hive directory, step column left out", vec![hive.clone()]),
        (
            "hive directory, step column kept",
            vec![testdata("hive-keep")],
        ),
        (
            "glob over the partitions",
            vec![hive.join("step=*/part-*.parquet")],
        ),
        ("recursive glob", vec![hive.join("**/*.parquet")]),
        (
            "a list of files, out of order",
            [
                "list/block-2.parquet",
                "list/block-0.parquet",
                "list/block-1.parquet",
            ]
            .map(testdata)
            .to_vec(),
        ),
        (
            "partition directories named one by one",
            ["hive/step=12", "hive/step=0", "hive/step=5"]
                .map(testdata)
                .to_vec(),
        ),
    ];
    for (tool, args) in [("vmf-kappa", VMF), ("normtest", NORMTEST)] {
        let want = table(tool, args, &whole, &out);
        assert!(want.len() > 200, "{tool}: a table");
        for (what, inputs) in &as_parts {
            let got = table(tool, args, inputs, &out);
            assert!(
                got == want,
                "{tool}, {what}:\n{}\nagainst the whole file:\n{}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            );
        }
    }
}

#[test]
fn provenance_says_how_many_parts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.parquet");
    table("vmf-kappa", VMF, &[testdata("hive")], &out);
    use parquet::file::reader::FileReader;
    let r = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&out).unwrap())
        .unwrap();
    let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
    let json = kv
        .iter()
        .find(|k| k.key == "gradscope")
        .and_then(|k| k.value.clone())
        .unwrap();
    let prov: serde_json::Value = serde_json::from_str(&json).unwrap();
    let source = &prov["source"];
    assert_eq!(source["parts"], 6);
    assert_eq!(source["seed"], 17);
    assert_eq!(source["model"], "toy");
    assert!(source.get("shard").is_none());
}

#[test]
fn bad_parts_are_one_error_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.csv");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: Vec<(Vec<PathBuf>, Vec<String>)> = vec![
        (
            vec![empty.clone()],
            vec![format!(
                "{}: no *.parquet file in this directory or below it",
                empty.display()
            )],
        ),
        (
            vec![testdata("hive/step=*/*.arrows")],
            vec!["*.arrows: the pattern matches no file".into()],
        ),
        (
            vec![testdata("bad/layout")],
            vec![
                "layout/a.parquet and".into(),
                "layout/b.parquet: the parts differ in `layout`".into(),
                "tensor 1 is `b` [5] in one and `b` [6] in the other".into(),
            ],
        ),
        (
            vec![testdata("bad/runs")],
            vec![
                "runs/b.parquet: the parts differ in `seed`: 17 against 18".into(),
                "may differ only in their shard, command line and device".into(),
            ],
        ),
        (
            vec![testdata("bad/dup")],
            vec![
                "dup/a.parquet and".into(),
                "dup/b.parquet: both hold step 5 sample 3".into(),
            ],
        ),
        (
            vec![testdata("bad/order")],
            vec!["order/b.parquet: step 0 sample 14 comes after step 0 sample 15".into()],
        ),
        (
            vec![testdata("bad/hive")],
            vec![
                "step=5/part-00000.parquet: row 0: column `step` holds 0, but the path says step=5"
                    .into(),
            ],
        ),
        (
            vec![testdata("whole.parquet"), testdata("whole.parquet")],
            vec!["named twice".into()],
        ),
    ];
    for (tool, args) in [("vmf-kappa", VMF), ("normtest", NORMTEST)] {
        for (inputs, needles) in &cases {
            let o = Command::cargo_bin(tool)
                .unwrap()
                .args(args.iter())
                .arg("-i")
                .args(inputs)
                .arg("-o")
                .arg(&out)
                .output()
                .unwrap();
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            assert_one_error_line(&o, &needles, &out);
        }
    }
}
