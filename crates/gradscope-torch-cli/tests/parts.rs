//! `dump-grads --shard I/N` parts read back as one matrix: vmf-kappa on the directory of
//! the N parts writes the same table, byte for byte, as on the unsharded run's file
//! (the reference: the unsharded run, measured by the same tool), for N = 2 and 3.

mod common;

use clap::Parser;
use common::bin;
use std::ffi::OsStr;
use std::path::Path;

/// vmf-kappa's CSV table of `inputs`.
fn kappa(inputs: &[&Path], out: &Path) -> Vec<u8> {
    let mut argv: Vec<&OsStr> = vec!["vmf-kappa".as_ref(), "-i".as_ref()];
    argv.extend(inputs.iter().map(|p| p.as_os_str()));
    argv.extend(
        [
            "-o",
            "",
            "--per-tensor",
            "--null-reps",
            "10",
            "--threads",
            "1",
        ]
        .map(OsStr::new),
    );
    argv[inputs.len() + 3] = out.as_os_str();
    gradscope_cli::vmf_kappa::run(gradscope_cli::vmf_kappa::Args::parse_from(argv)).unwrap();
    std::fs::read(out).unwrap()
}

#[test]
fn shards_read_back_as_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dump = |shard: Option<&str>, out: &Path| {
        let mut c = bin("dump-grads");
        c.args([
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "-b",
            "4,16",
            "-n",
            "7",
            "--seed",
            "5",
        ]);
        if let Some(s) = shard {
            c.args(["--shard", s]);
        }
        c.arg("-o").arg(out).assert().success();
    };
    let whole = d.join("whole.parquet");
    dump(None, &whole);
    let want = kappa(&[&whole], &d.join("whole.csv"));
    for count in [2, 3] {
        let parts = d.join(format!("shards-{count}"));
        std::fs::create_dir(&parts).unwrap();
        for index in 0..count {
            let s = format!("{index}/{count}");
            dump(Some(&s), &parts.join(format!("part-{index}.parquet")));
        }
        let got = kappa(&[&parts], &d.join(format!("parts-{count}.csv")));
        assert!(
            got == want,
            "{count} shards:\n{}\nagainst one run:\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }
}
