//! An interrupted `dump-grads` (SIGINT, SIGTERM) removes the temporary file of its output
//! and exits with 128 + the signal's number, as every tool does (the mechanism lives in
//! gradscope-io's atomic.rs; crates/gradscope-cli/tests/signals.rs tests it on
//! `synth-grads` and `normtest`). The case: `dump-grads ... -n 3000 -o d.parquet`
//! left a `.d.parquet.XXXXXX.tmp` of hundreds of MB.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn an_interrupted_dump_leaves_no_temporary_file() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d.parquet");
        // fnn on synthetic images: 3,000 gradients of 635,200 values, far longer than
        // the test waits.
        let mut child = Command::new(env!("CARGO_BIN_EXE_dump-grads"))
            .env_remove("LD_LIBRARY_PATH")
            .args([
                "--model",
                "fnn",
                "--dataset",
                "synthetic",
                "--init-seed",
                "1",
                "-b",
                "64",
                "-n",
                "3000",
            ])
            .args(["--threads", "1", "-o"])
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let tmp_written = || {
            std::fs::read_dir(dir.path()).unwrap().flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(".d.parquet.")
                    && n.ends_with(".tmp")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
        };
        let start = Instant::now();
        while !tmp_written() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("dump-grads exited ({status}) before writing");
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "timed out waiting for a row group"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        assert_eq!(child.wait().unwrap().code(), Some(code), "SIG{signal}");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "SIG{signal} left {left:?}");
    }
}
