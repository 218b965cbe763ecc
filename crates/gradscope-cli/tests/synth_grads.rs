//! CLI tests of `synth-grads`: the format it writes and its error messages.

mod common;

use assert_cmd::Command;
use parquet::file::reader::{FileReader, SerializedFileReader};

#[test]
fn writes_the_shared_format_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    Command::cargo_bin("synth-grads")
        .unwrap()
        .args([
            "--layout",
            "w:3x4,b:5",
            "-n",
            "7",
            "--steps",
            "2",
            "--kappa",
            "2",
            "-o",
        ])
        .arg(&g)
        .assert()
        .success();
    let r = SerializedFileReader::new(std::fs::File::open(&g).unwrap()).unwrap();
    let md = r.metadata();
    assert_eq!(md.file_metadata().num_rows(), 2 * 7 * 2);
    let kv = md.file_metadata().key_value_metadata().unwrap();
    let json = kv
        .iter()
        .find(|k| k.key == "gradscope")
        .unwrap()
        .value
        .clone()
        .unwrap();
    let p: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(p["layout"][1]["name"], "b");
    assert_eq!(p["layout"][1]["offset"], 12);
    assert_eq!(p["kappa"], 2.0);
    assert_eq!(p["format_version"], 1);
    assert!(p["command"].as_array().unwrap().len() > 3);
}

#[test]
fn rejects_bad_arguments_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.parquet");
    for (args, needle) in [
        (
            vec!["--kappa=-1"],
            "--kappa -1 must be finite and non-negative",
        ),
        (vec!["--layout", "w"], "NAME:SHAPE"),
        (vec!["--norm", "pareto"], "--norm pareto"),
        (vec!["--noise", "gaussian:1", "--kappa", "3"], "give one"),
        (vec!["--dim", "1"], "at least 2"),
    ] {
        let o = Command::cargo_bin("synth-grads")
            .unwrap()
            .args(&args)
            .arg("-o")
            .arg(&g)
            .output()
            .unwrap();
        // The command line alone is wrong: a usage error, one line.
        assert_eq!(o.status.code(), Some(2));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.starts_with("error: ") && e.contains(needle),
            "{args:?}: {e}"
        );
        assert!(!g.exists());
    }
    let o = Command::cargo_bin("synth-grads")
        .unwrap()
        .args(["--dim", "5", "-o", "/nonexistent-dir/g.parquet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
}

#[test]
fn help_and_summary_snapshots() {
    insta::assert_snapshot!("synth-grads --help", common::help_text("synth-grads", &[]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.parquet");
    let o = out.to_str().unwrap();
    let summary = common::summary_of(
        "synth-grads",
        &[
            "--dim",
            "30",
            "-n",
            "40",
            "--kappa",
            "5",
            "--threads",
            "1",
            "-o",
            o,
        ],
    );
    // The output column is as wide as the temporary path: spaces collapsed.
    let summary: Vec<String> = summary
        .replace(o, "OUT")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    insta::assert_snapshot!("synth-grads summary", summary.join("\n"));
}
