//! Interrupted runs (SIGINT, SIGTERM) remove every temporary file they created and exit
//! with 128 + the signal's number: an output's `.NAME.XXXXXX.tmp` beside it (here
//! `synth-grads -o d.parquet`, writing hundreds of MB) and `normtest`'s spool of stdin in
//! `$TMPDIR`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The files in `dir` whose names satisfy `pick`.
fn files(dir: &Path, pick: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| pick(n))
        .collect()
}

/// Waits (at most 60 s) until `ready` holds, while the child keeps running.
fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the tool exited ({status}) before {what}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (`INT` or `TERM`) with kill(1) and returns the exit code.
fn signal_and_wait(child: &mut Child, signal: &str) -> Option<i32> {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill(1) runs");
    assert!(sent.success());
    child.wait().unwrap().code()
}

const SIGNALS: [(&str, i32); 2] = [("INT", 130), ("TERM", 143)];

#[test]
fn an_interrupted_writer_leaves_no_temporary_file() {
    for (signal, code) in SIGNALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d.parquet");
        // 2e9 values: minutes of writing, far longer than the test waits.
        let mut child = Command::new(env!("CARGO_BIN_EXE_synth-grads"))
            .args([
                "--dim",
                "100000",
                "-n",
                "20000",
                "--row-group-mb",
                "1",
                "--threads",
                "1",
            ])
            .arg("-o")
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let tmp = |n: &str| n.starts_with(".d.parquet.") && n.ends_with(".tmp");
        wait_until(&mut child, "a row group was written", || {
            std::fs::read_dir(dir.path()).unwrap().flatten().any(|e| {
                tmp(&e.file_name().to_string_lossy())
                    && e.metadata().is_ok_and(|m| m.len() > (1 << 20))
            })
        });
        assert_eq!(
            signal_and_wait(&mut child, signal),
            Some(code),
            "SIG{signal}"
        );
        assert_eq!(
            files(dir.path(), |_| true),
            Vec::<String>::new(),
            "SIG{signal}"
        );
    }
}

#[test]
fn an_interrupted_read_of_stdin_leaves_no_spool_file() {
    for (signal, code) in SIGNALS {
        let work = tempfile::tempdir().unwrap();
        let tmpdir = tempfile::tempdir().unwrap();
        let out = work.path().join("n.csv");
        // stdin stays open and empty: normtest has created its spool and waits on the copy.
        let mut child = Command::new(env!("CARGO_BIN_EXE_normtest"))
            .args(["-i", "-", "-o"])
            .arg(&out)
            .env("TMPDIR", tmpdir.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Held open until the tool has exited (Child::wait would close it first, and the
        // end of the stream would race the signal).
        let stdin = child.stdin.take();
        wait_until(&mut child, "the spool file was created", || {
            !files(tmpdir.path(), |_| true).is_empty()
        });
        assert_eq!(
            signal_and_wait(&mut child, signal),
            Some(code),
            "SIG{signal}"
        );
        assert_eq!(
            files(tmpdir.path(), |_| true),
            Vec::<String>::new(),
            "SIG{signal}"
        );
        drop(stdin);
        assert!(!out.exists());
    }
}
