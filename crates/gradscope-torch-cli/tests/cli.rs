//! End-to-end tests of `train` and `dump-grads` on the synthetic dataset (and MNIST from
//! $GRADSCOPE_DATA_MIRROR when it is set).

mod common;

use common::{assert_error_line, bin, bin_threads};
use gradscope_io::GradReader;
use predicates::prelude::*;
use std::path::Path;

fn read_all(path: &Path) -> (gradscope_io::Provenance, Vec<gradscope_io::Sample>) {
    let mut r = GradReader::open(path).unwrap();
    let meta = r.meta().clone();
    let mut out = Vec::new();
    let mut s = gradscope_io::Sample::default();
    while r.next_sample(&mut s).unwrap() {
        out.push(s.clone());
    }
    (meta, out)
}

#[test]
fn describe_prints_the_layout_and_total() {
    bin("train")
        .args(["--model", "fnn", "--describe"])
        .assert()
        .success()
        .stdout(predicate::str::contains("635200"))
        .stdout(predicate::str::contains("fc1.weight"));
    let out = bin("train")
        .args([
            "--model",
            "cnn-t1-bn",
            "--dataset",
            "synthetic-cifar",
            "--describe",
            "--json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 207_152);
}

#[test]
fn bad_input_is_one_error_line() {
    // An unknown model is a wrong command line: clap's usage error (exit 2) names the
    // known ones.
    let err = assert_error_line(
        &output(&["train", "--model", "nope", "--describe"]),
        2,
        &[],
        &[],
    );
    assert!(
        err.starts_with("error: invalid value 'nope' for '--model <MODEL>': unknown model")
            && err.contains("known models: fnn, fnn-bn"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let a = bin("dump-grads")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "mnist",
            "--init-seed",
            "1",
            "-o",
            "x.parquet",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("GRADSCOPE_DATA_MIRROR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_error_line(
        &a,
        1,
        &["f68b3c2dcbeaaa9fbdd348bbdeb94873", "make data"],
        &[&dir.path().join("x.parquet")],
    );
    // Each to stdout: one error line and nothing on stdout.
    for (args, want) in [
        // a model that does not fit the data
        (
            &["--model", "vgg11", "--init-seed", "1"][..],
            "cannot build model vgg11 for 1x28x28 inputs",
        ),
        (
            &["--model", "fnn", "--init-seed", "1", "-b", "9999"][..],
            "--batch-size 9999 exceeds the 512 training examples of synthetic",
        ),
        (
            &["--model", "fnn", "--init-seed", "1", "--tensors", "zz"][..],
            "--tensors zz matches no parameter of fnn",
        ),
        (
            &["--model", "fnn", "--checkpoint", "/nonexistent.safetensors"][..],
            "checkpoint /nonexistent.safetensors does not exist",
        ),
    ] {
        let o = bin("dump-grads")
            .args(["--dataset", "synthetic", "-o", "-"])
            .args(args)
            .output()
            .unwrap();
        assert_error_line(&o, 1, &[want], &[]);
        assert!(
            o.stdout.is_empty(),
            "{args:?}: {} bytes on stdout",
            o.stdout.len()
        );
    }
}

/// `--device auto` runs wherever the tools run (the GPU when libtorch's CUDA backend sees
/// one, else the CPU) and names the device it chose in the provenance; the initial model
/// of a seed is the same on either, so its gradients equal the CPU's (to f32 rounding on
/// a GPU: 1.4e-7 relative was measured for `fnn`). A GPU that is not there is one error
/// line and no output file.
#[test]
fn device_auto_gives_the_cpus_gradients_and_a_missing_gpu_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let dump = |device: &str, out: &Path| {
        bin("dump-grads")
            .args([
                "--model",
                "fnn",
                "--dataset",
                "synthetic",
                "--init-seed",
                "2",
                "-b",
                "16",
                "-n",
                "3",
                "--device",
                device,
                "-o",
            ])
            .arg(out)
            .assert()
    };
    let (cpu, auto) = (
        dir.path().join("cpu.parquet"),
        dir.path().join("auto.parquet"),
    );
    dump("cpu", &cpu).success();
    dump("auto", &auto).success();
    let (meta_cpu, a) = read_all(&cpu);
    let (meta_auto, b) = read_all(&auto);
    assert_eq!(meta_cpu.extra["device"], "cpu");
    let chosen = meta_auto.extra["device"].as_str().unwrap().to_owned();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        if chosen == "cpu" {
            assert_eq!(x.values, y.values);
        } else {
            assert!(chosen.starts_with("cuda:"), "{chosen}");
            let diff: f64 = x
                .values
                .iter()
                .zip(&y.values)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum();
            let norm: f64 = x.values.iter().map(|p| (*p as f64).powi(2)).sum();
            assert!(
                (diff / norm).sqrt() < 1e-5,
                "{chosen}: relative difference {}",
                (diff / norm).sqrt()
            );
        }
    }
    let missing = dir.path().join("missing.parquet");
    let out = dump("cuda:99", &missing).failure();
    let err = assert_error_line(out.get_output(), 1, &[], &[&missing]);
    assert!(err.starts_with("error: --device cuda:99: "), "{err}");
}

/// The same seeds give the same gradients, whatever the number of worker threads (one
/// thread computes all of them in order; three share them out and the writer puts them
/// back in order).
#[test]
fn dump_grads_writes_the_shared_format_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = dir.path().join("a.parquet");
    let p2 = dir.path().join("b.parquet");
    for (p, threads) in [(&p1, 1), (&p2, 3)] {
        bin_threads("dump-grads", threads)
            .args([
                "--model",
                "fnn-bn",
                "--dataset",
                "synthetic",
                "--init-seed",
                "3",
                "-b",
                "8,16",
                "-n",
                "5",
                "-o",
            ])
            .arg(p)
            .assert()
            .success();
    }
    let (meta, a) = read_all(&p1);
    let (_, b) = read_all(&p2);
    assert_eq!(meta.model.as_deref(), Some("fnn-bn"));
    assert_eq!(meta.dim(), 636_800);
    assert_eq!(a.len(), 10);
    assert_eq!(a[0].batch_size, 8);
    assert_eq!(a[9].batch_size, 16);
    assert_eq!(b.len(), 10);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.sample, x.batch_size), (y.sample, y.batch_size));
        assert_eq!(x.values, y.values);
        assert_eq!(x.loss, y.loss);
    }
}

#[test]
fn stream_on_stdout_and_full_batch() {
    let out = bin("dump-grads")
        .args([
            "--model",
            "lenet",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "-b",
            "4",
            "-n",
            "3",
            "--tensors",
            "fc3",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.arrow");
    std::fs::write(&p, &out.stdout).unwrap();
    let (meta, s) = read_all(&p);
    assert_eq!(meta.dim(), 84 * 10 + 10);
    assert_eq!(s.len(), 3);
    let fb = dir.path().join("fb.parquet");
    bin("dump-grads")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "--full-batch",
            "--chunk",
            "100",
            "-o",
        ])
        .arg(&fb)
        .assert()
        .success();
    let (meta, s) = read_all(&fb);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].batch_size, 512);
    assert_eq!(meta.sampling.as_deref(), Some("full-batch"));
}

#[test]
fn train_checkpoints_resume_and_replay_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let common = [
        "--model",
        "fnn-bn",
        "--dataset",
        "synthetic",
        "-b",
        "64",
        "--lr",
        "0.05",
        "--optimizer",
        "momentum",
        "--seed",
        "5",
    ];
    bin("train")
        .args(common)
        .args([
            "--epochs",
            "3",
            "--checkpoint-epochs",
            "1,3",
            "--checkpoint-steps",
            "2..2",
            "-o",
        ])
        .arg(&a)
        .assert()
        .success();
    // b: one epoch, then a restart that resumes from last.safetensors
    bin("train")
        .args(common)
        .args(["--epochs", "1", "-o"])
        .arg(&b)
        .assert()
        .success();
    bin("train")
        .args(common)
        .args(["--epochs", "3", "-o"])
        .arg(&b)
        .assert()
        .success()
        .stderr(predicate::str::contains("resuming"));
    let read = |p: std::path::PathBuf| {
        let mut v = tch::Tensor::read_safetensors(p).unwrap();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    let ta = read(a.join("ckpt/last.safetensors"));
    let tb = read(b.join("ckpt/last.safetensors"));
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x.0, y.0);
        if x.0 != "__state__" {
            assert!(x.1.equal(&y.1), "{} differs after resume", x.0);
        }
    }
    // replay from a step checkpoint inside epoch 2 reaches the same end point
    let c = dir.path().join("c");
    bin("train")
        .args(common)
        .args(["--epochs", "3", "--resume-from"])
        .arg(a.join("ckpt/step-0000011.safetensors"))
        .arg("-o")
        .arg(&c)
        .assert()
        .success();
    let tc = read(c.join("ckpt/last.safetensors"));
    for (x, y) in ta.iter().zip(&tc) {
        if x.0 != "__state__" {
            assert!(x.1.equal(&y.1), "{} differs after replay", x.0);
        }
    }
    assert!(a.join("ckpt/epoch-001.safetensors").is_file() && a.join("metrics.parquet").is_file());
    // gradients at two checkpoints, epoch-wise minibatches of two sizes: one worker
    // thread and four give the same samples in the same order (6 gradients a point, so
    // four workers' shares restart mid-cycle at the second checkpoint)
    let dumped: Vec<_> = [1, 4]
        .into_iter()
        .map(|threads| {
            let out = dir.path().join(format!("g{threads}.parquet"));
            bin_threads("dump-grads", threads)
                .args(["--checkpoint"])
                .arg(a.join("ckpt/epoch-001.safetensors"))
                .arg(a.join("ckpt/epoch-003.safetensors"))
                .args(["-b", "16,5", "-n", "3", "--sampling", "epoch"])
                .arg("-o")
                .arg(&out)
                .assert()
                .success();
            read_all(&out).1
        })
        .collect();
    let (one, four) = (&dumped[0], &dumped[1]);
    assert_eq!(one.len(), 12);
    let order: Vec<(u64, u32, u32)> = one
        .iter()
        .map(|s| (s.step, s.sample, s.batch_size))
        .collect();
    assert!(
        order
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)),
        "{order:?}"
    );
    assert_eq!(
        order[3..6].iter().map(|o| o.2).collect::<Vec<_>>(),
        [5, 5, 5]
    );
    for (x, y) in one.iter().zip(four) {
        assert_eq!(
            (x.step, x.sample, x.batch_size),
            (y.step, y.sample, y.batch_size)
        );
        assert_eq!(x.values, y.values);
        assert_eq!(x.loss, y.loss);
    }
    assert_ne!(
        one[0].values, one[6].values,
        "the two checkpoints give different gradients"
    );
}

#[test]
fn mnist_pipeline_from_the_mirror() {
    if std::env::var_os("GRADSCOPE_DATA_MIRROR").is_none() {
        eprintln!("note: GRADSCOPE_DATA_MIRROR is not set; skipping the MNIST dump-grads test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.parquet");
    bin("dump-grads")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "mnist",
            "--init-seed",
            "1",
            "-b",
            "64",
            "-n",
            "20",
            "-o",
        ])
        .arg(&p)
        .assert()
        .success();
    let (meta, s) = read_all(&p);
    assert_eq!(meta.dim(), 635_200);
    assert_eq!(s.len(), 20);
    assert!(s.iter().all(|x| x.loss > 1.5 && x.loss < 3.5));
}

#[test]
fn torchscript_module_of_ones_own() {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if !py.is_file() {
        eprintln!("note: no .venv/bin/python (run `make setup`); skipping the TorchScript test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pt = dir.path().join("m.pt");
    let script = "import sys, torch\ntorch.manual_seed(0)\nm = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Linear(16, 10))\ntorch.jit.script(m).save(sys.argv[1])\n";
    let ok = std::process::Command::new(&py)
        .arg("-c")
        .arg(script)
        .arg(&pt)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("note: the venv's python cannot script a module; skipping the TorchScript test");
        return;
    }
    // one worker thread, then two (each loads its own copy of the module, BatchNorm
    // buffers included): the same gradients
    let runs: Vec<_> = [1, 2]
        .into_iter()
        .map(|threads| {
            let out = dir.path().join(format!("g{threads}.parquet"));
            bin_threads("dump-grads", threads)
                .arg("--torchscript")
                .arg(&pt)
                .args(["--dataset", "synthetic", "-b", "8", "-n", "3", "-o"])
                .arg(&out)
                .assert()
                .success();
            read_all(&out)
        })
        .collect();
    let (meta, s) = &runs[0];
    assert_eq!(meta.dim(), 784 * 16 + 16 + 2 * 16 + 16 * 10 + 10);
    assert_eq!(meta.layout[0].name, "1.weight");
    assert_eq!(s.len(), 3);
    for (x, y) in s.iter().zip(&runs[1].1) {
        assert_eq!(x.values, y.values);
        assert_eq!(x.loss, y.loss);
    }
}

#[test]
fn contradictory_options_are_usage_errors() {
    // Each was accepted before: --fresh was ignored beside --resume-from (whose errors then
    // advised --fresh), and --full-batch wrote one gradient while the provenance also
    // recorded the -b list and the --sampling.
    for args in [
        vec![
            "train",
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "-b",
            "8",
            "--epochs",
            "1",
            "--resume-from",
            "x.safetensors",
            "--fresh",
            "-o",
            "r",
        ],
        vec![
            "dump-grads",
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "--full-batch",
            "-b",
            "64",
            "-o",
            "g.parquet",
        ],
        vec![
            "dump-grads",
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "--full-batch",
            "--sampling",
            "epoch",
            "-o",
            "g.parquet",
        ],
    ] {
        refused(&args, 2, "cannot be used with");
    }
}

/// Runs the tool `args[0]` with the rest of `args`.
fn output(args: &[&str]) -> std::process::Output {
    bin(args[0]).args(&args[1..]).output().unwrap()
}

/// `train`'s arguments for one epoch of `fnn` on the synthetic set, then `extra`.
fn fnn_train<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "train",
        "--model",
        "fnn",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
    ];
    v.extend_from_slice(extra);
    v
}

/// Runs the tool `args[0]` with the rest of `args` and requires exit code `code` and one
/// error line holding `needle`.
fn refused(args: &[&str], code: i32, needle: &str) {
    assert_error_line(&output(args), code, &[needle], &[]);
}

#[test]
fn hyperparameters_out_of_range_are_usage_errors() {
    // `--lr -0.1` was read as an unknown flag `-0`; once read as a number it trained
    // uphill until the loss overflowed. Now every one is refused before any work.
    for (flag, value, want) in [
        ("--lr", "-0.1", "--lr -0.1: must be finite and positive"),
        ("--lr", "nan", "--lr NaN: must be finite and positive"),
        (
            "--momentum",
            "1",
            "--momentum 1: must be finite and from 0 to below 1",
        ),
        // Plain SGD (the default optimiser) ignored any --momentum it was given.
        (
            "--momentum",
            "0.5",
            "--momentum applies to --optimizer momentum; --optimizer sgd would ignore it",
        ),
        (
            "--weight-decay",
            "-1",
            "--weight-decay -1: must be finite and at least 0",
        ),
        (
            "--lr-decay",
            "0",
            "--lr-decay 0: must be finite and positive",
        ),
        (
            "--clip-grad-norm",
            "0",
            "--clip-grad-norm 0: must be finite and positive",
        ),
    ] {
        let o = output(&fnn_train(&[
            "--lr-decay-at",
            "1",
            "-o",
            "never-written",
            flag,
            value,
        ]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert_eq!(err.trim(), format!("error: {want}"));
    }
    assert!(!Path::new("never-written").exists());
}

#[test]
fn settings_of_an_option_not_given_are_refused() {
    // Accepted and ignored before: a sharpness setting without --sharpness-every, a
    // density setting without --density, a figure setting without --plot.
    for args in [
        fnn_train(&["--sharpness-samples", "100", "-o", "r"]),
        vec![
            "hessian-align",
            "--checkpoint",
            "c.safetensors",
            "--sigma",
            "0.5",
            "-o",
            "a.csv",
        ],
        vec![
            "hessian-align",
            "--checkpoint",
            "c.safetensors",
            "--slq-probes",
            "3",
            "-o",
            "a.csv",
        ],
        vec![
            "interp-loss",
            "--checkpoint",
            "c.safetensors",
            "--plot-steps",
            "5",
            "-o",
            "a.csv",
        ],
        vec![
            "interp-loss",
            "--checkpoint",
            "c.safetensors",
            "--eval-seed",
            "5",
            "-o",
            "a.csv",
        ],
    ] {
        refused(&args, 2, "required arguments were not provided");
    }
    // Two ends and no point between them cannot show a barrier.
    refused(
        &[
            "interp-loss",
            "--checkpoint",
            "c.safetensors",
            "-k",
            "0",
            "-o",
            "a.csv",
        ],
        2,
        "-k 0: at least one interior point",
    );
    // A bad sharpness setting is refused before the run directory exists (an empty
    // run/ckpt/ was left behind), and one product is no power iteration.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    for (flag, value, want) in [
        ("--sharpness-samples", "0", "--sharpness-samples 0"),
        ("--sharpness-max-iter", "0", "--sharpness-max-iter 0"),
    ] {
        let o = output(&fnn_train(&[
            "--sharpness-every",
            "3",
            flag,
            value,
            "-o",
            r,
        ]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
        assert!(!run.exists(), "{flag} {value} left {}", run.display());
    }
}

/// A second audit's findings for the libtorch tools: an output that replaced the
/// checkpoint it was computed from (exit 0), counts whose allocation overflowed (a panic)
/// or whose run never ended, settings that were accepted and ignored, and a batch larger
/// than the data. Each is now one line: exit 2 for the command line, 1 for the data.
#[test]
fn command_lines_that_destroyed_panicked_or_were_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = output(&fnn_train(&["-o", run.to_str().unwrap()]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ck = run.join("ckpt/last.safetensors");
    let before = std::fs::read(&ck).unwrap();
    let c = ck.to_str().unwrap();
    let dotted = format!("{}/../ckpt/last.safetensors", run.join("ckpt").display());
    let out = dir.path().join("x.csv");
    let o = out.to_str().unwrap();
    let pq = dir.path().join("x.parquet").display().to_string();
    let huge = "18446744073709551615";
    let new_run = dir.path().join("new");
    let n = new_run.to_str().unwrap();
    for (args, code, needle) in [
        (
            vec![
                "dump-grads",
                "--checkpoint",
                c,
                "-b",
                "8",
                "-n",
                "2",
                "-o",
                c,
            ],
            2,
            "is the input",
        ),
        (
            vec![
                "dump-grads",
                "--checkpoint",
                c,
                "-b",
                "8",
                "-n",
                "2",
                "-o",
                &dotted,
            ],
            2,
            "is the input",
        ),
        (
            vec![
                "dump-grads",
                "--checkpoint",
                c,
                "-n",
                "2",
                "--zstd",
                "-o",
                "-",
            ],
            2,
            "is not compressed",
        ),
        (
            vec![
                "dump-grads",
                "--checkpoint",
                c,
                "--full-batch",
                "--chunk",
                "0",
                "-o",
                &pq,
            ],
            2,
            "--chunk 0",
        ),
        (
            vec!["interp-loss", "--checkpoint", c, "-k", huge, "-o", o],
            2,
            "is not in 0..=100000",
        ),
        (
            vec!["interp-loss", "--checkpoint", c, "--steps", huge, "-o", o],
            2,
            "is not in 1..=10000000",
        ),
        (
            vec![
                "interp-loss",
                "--checkpoint",
                c,
                "--epochs",
                "1..18446744073709551615",
                "-o",
                o,
            ],
            2,
            "epochs go up to 1000000",
        ),
        (
            vec![
                "interp-loss",
                "--checkpoint",
                c,
                "--steps",
                "1",
                "--final-checkpoint",
                o,
                "-o",
                o,
            ],
            2,
            "a checkpoint is a .safetensors file",
        ),
        (
            vec![
                "hessian-align",
                "--checkpoint",
                c,
                "--trace-probes",
                huge,
                "-o",
                o,
            ],
            2,
            "is not in 0..=1000000",
        ),
        (
            vec![
                "hessian-align",
                "--checkpoint",
                c,
                "--max-iter",
                "0",
                "-o",
                o,
            ],
            2,
            "is not in 1..=1000000",
        ),
        (
            vec![
                "hessian-align",
                "--checkpoint",
                c,
                "-k",
                "0",
                "--trace-probes",
                "1",
                "--eigen-output",
                o,
                "-o",
                &pq,
            ],
            2,
            "no eigenvalue is computed",
        ),
        (
            fnn_train(&["--checkpoint-log", huge, "-o", n]),
            2,
            "is not in 0..=10000",
        ),
        (
            fnn_train(&["--label-noise", "1.5", "-o", n]),
            2,
            "1.5 is not a probability",
        ),
        (
            fnn_train(&["--lr-decay-at", "-1", "-o", n]),
            2,
            "--lr-decay-at -1",
        ),
        (
            fnn_train(&["--lr-decay", "0.5", "-o", n]),
            2,
            "--lr-decay-at",
        ),
        (
            fnn_train(&["--json", "-o", n]),
            2,
            "--json prints --describe or --list-models",
        ),
        (
            fnn_train(&["-b", "9999", "-o", n]),
            1,
            "--batch-size 9999 exceeds the 512 training examples",
        ),
        // the loss diverges at step 1: an error, and no empty run directory left behind
        (
            fnn_train(&["--lr", "1e308", "-o", n]),
            1,
            "the loss diverged",
        ),
    ] {
        refused(&args, code, needle);
        assert!(!new_run.exists(), "{args:?} left {n}");
        assert!(!out.exists(), "{args:?} wrote {o}");
        assert!(!Path::new(&pq).exists(), "{args:?} wrote {pq}");
    }
    assert!(
        std::fs::read(&ck).unwrap() == before,
        "the checkpoint was changed"
    );
}

/// A network trained on standardised images, with a validation split drawn by
/// --data-seed, has its gradients taken on the same examples: `dump-grads --checkpoint`
/// takes the checkpoint's preprocessing (it used to take the command line's defaults,
/// unstandardised images of the whole training set, without a word). The reference is
/// the same command with the training run's data flags spelled out.
#[test]
fn a_checkpoints_preprocessing_is_the_data_of_its_gradients() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (run, other) = (d("run"), d("other"));
    let data = ["--standardize", "--val-size", "100", "--data-seed", "3"];
    let mut a = fnn_train(&data);
    a.extend(["-b", "32", "--checkpoint-epochs", "0,1", "-o", &run]);
    assert!(output(&a).status.success());
    let ckpt = format!("{run}/ckpt/epoch-001.safetensors");
    let dump = |extra: &[&str], out: &str| {
        let mut a = vec!["dump-grads", "--checkpoint", &ckpt, "-b", "16", "-n", "3"];
        a.extend_from_slice(extra);
        a.extend(["--seed", "1", "-o", out]);
        output(&a)
    };
    let (own, spelled, whole) = (d("own.parquet"), d("spelled.parquet"), d("whole.parquet"));
    assert!(dump(&[], &own).status.success());
    assert!(dump(&data, &spelled).status.success());
    let o = dump(&["--val-size", "0"], &whole);
    assert!(o.status.success());
    let note = String::from_utf8_lossy(&o.stderr);
    assert!(
        note.contains("was trained on synthetic+standardize+val100+dataseed3; these gradients are taken on synthetic+standardize,"),
        "{note}"
    );
    let (meta, g) = read_all(Path::new(&own));
    let (_, s) = read_all(Path::new(&spelled));
    let (wmeta, w) = read_all(Path::new(&whole));
    assert_eq!(
        meta.dataset.as_deref(),
        Some("synthetic+standardize+val100+dataseed3")
    );
    assert_eq!(wmeta.dataset.as_deref(), Some("synthetic+standardize"));
    assert_eq!(g.len(), 3);
    for ((x, y), z) in g.iter().zip(&s).zip(&w) {
        assert_eq!(x.values, y.values);
        assert_eq!(x.loss, y.loss);
        // other examples (the split's 100 are drawn from again), other gradients
        assert_ne!(x.values, z.values);
    }

    // checkpoints of runs on other data are not one run's steps
    let mut a = fnn_train(&["-b", "32", "-o", &other]);
    a.extend(["--checkpoint-epochs", "1"]);
    assert!(output(&a).status.success());
    let first = format!("{run}/ckpt/epoch-000.safetensors");
    let second = format!("{other}/ckpt/epoch-001.safetensors");
    refused(
        &[
            "dump-grads",
            "--checkpoint",
            &first,
            &second,
            "-n",
            "1",
            "-o",
            &d("x.parquet"),
        ],
        1,
        "was trained on synthetic, the first one on synthetic+standardize+val100+dataseed3",
    );
    // resuming on another split is refused, as on other data
    let mut a = fnn_train(&["--standardize", "--val-size", "100", "--data-seed", "4"]);
    a.extend(["-b", "32", "-o", &run]);
    refused(&a, 1, "asks for synthetic+standardize+val100+dataseed4");
    // a data seed that draws nothing
    for args in [
        fnn_train(&["--data-seed", "2", "-o", &d("r")]),
        vec![
            "dump-grads",
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "--data-seed",
            "2",
            "-o",
            &d("y.parquet"),
        ],
    ] {
        refused(&args, 2, "--data-seed: nothing is drawn with it");
    }
    refused(
        &[
            "dump-grads",
            "--checkpoint",
            &second,
            "--data-seed",
            "2",
            "-n",
            "1",
            "-o",
            &d("z.parquet"),
        ],
        1,
        "--data-seed: nothing is drawn with it",
    );
}
