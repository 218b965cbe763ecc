//! `dump-grads` on a user's own data and model (`--inputs`, `--loss`, `--torchscript`)
//! and split into shards (`--shard I/N`).
//!
//! The transformer test runs the example's chain in small: scripts/examples/transformer/
//! gpt.py trains a tiny GPT-style model and writes it as TorchScript with its token
//! windows (safetensors, .npz, Parquet); dump-grads takes its next-token gradients from
//! each file; the same script then computes the gradients of the same minibatches with
//! PyTorch's eager autograd on an eager copy of the model (the reference), and
//! vmf-kappa, normtest and powerlaw-fit measure the dump.

mod common;

use clap::Parser;
use common::{assert_error_line, bin, bin_threads};
use gradscope_io::{GradReader, Provenance, Sample};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

fn read_all(path: &Path) -> (Provenance, Vec<Sample>) {
    let mut r = GradReader::open(path).unwrap();
    let meta = r.meta().clone();
    let mut out = Vec::new();
    let mut s = Sample::default();
    while r.next_sample(&mut s).unwrap() {
        out.push(s.clone());
    }
    (meta, out)
}

fn python() -> Option<PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if py.is_file() {
        Some(py)
    } else {
        eprintln!("note: no .venv/bin/python (run `make setup`); skipping");
        None
    }
}

fn gpt_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/examples/transformer/gpt.py")
}

/// Runs gpt.py with `args`; panics with its stderr when it fails.
fn run_py(py: &Path, args: &[&std::ffi::OsStr]) {
    let out = std::process::Command::new(py)
        .arg(gpt_script())
        .args(args)
        .env("THREADS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpt.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The tiny transformer, trained and written by gpt.py, in `dir`.
fn tiny_gpt(py: &Path, dir: &Path) {
    run_py(py, &["train".as_ref(), dir.as_os_str(), "--tiny".as_ref()]);
}

const SEED: u64 = 5;
const BATCH_SIZES: [usize; 2] = [4, 16];
const SAMPLES: usize = 12;

fn dump(model: &Path, inputs: &Path, out: &Path, threads: usize) {
    bin_threads("dump-grads", threads)
        .arg("--torchscript")
        .arg(model)
        .arg("--inputs")
        .arg(inputs)
        .args([
            "--loss",
            "next-token",
            "-b",
            "4,16",
            "-n",
            "12",
            "--seed",
            "5",
        ])
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

/// The transformer's next-token gradients equal PyTorch's eager autograd on the same
/// minibatches (the indices from the sampler dump-grads uses, `sampler::independent`),
/// whichever file format carries the tokens; and the three statistics tools measure them.
///
/// Tolerance found: eager PyTorch (one thread) and the TorchScript module run by the
/// same libtorch through tch (one thread per gradient, with one and two workers) give the
/// same bits: relative L2 difference 0 for every gradient and loss. The test allows 1e-6
/// relative, room for a graph executor that orders a few f32 operations differently.
#[test]
fn transformer_gradients_match_pytorch_and_are_measured() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_gpt(&py, d);
    let model = d.join("model.pt");
    let runs: Vec<(Provenance, Vec<Sample>)> = [
        ("tokens.safetensors", 1),
        ("tokens.npz", 2),
        ("tokens.parquet", 1),
    ]
    .iter()
    .map(|(f, threads)| {
        let out = d.join(format!("{f}.grads.parquet"));
        dump(&model, &d.join(f), &out, *threads);
        read_all(&out)
    })
    .collect();
    let (meta, grads) = &runs[0];
    for (_, other) in &runs[1..] {
        assert_eq!(grads.len(), other.len());
        for (a, b) in grads.iter().zip(other) {
            assert_eq!(a.values, b.values, "the formats give other gradients");
            assert_eq!(a.loss, b.loss);
        }
    }
    assert_eq!(grads.len(), SAMPLES * BATCH_SIZES.len());
    assert_eq!(meta.extra["loss"], "next-token");
    assert!(meta.extra["inputs"]
        .as_str()
        .unwrap()
        .starts_with("x int64 [64, 8]"));

    // the reference: the same minibatches through PyTorch's eager autograd
    let n = 64;
    let mut idx = Vec::new();
    let mut sample = 0u64;
    for &b in &BATCH_SIZES {
        for _ in 0..SAMPLES {
            idx.push(gradscope_torch::sampler::independent(n, b, SEED, sample));
            sample += 1;
        }
    }
    let idx_path = d.join("idx.json");
    std::fs::write(&idx_path, serde_json::to_vec(&idx).unwrap()).unwrap();
    let ref_path = d.join("ref.f32");
    run_py(
        &py,
        &[
            "reference".as_ref(),
            d.as_os_str(),
            idx_path.as_os_str(),
            ref_path.as_os_str(),
        ],
    );
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("ref.f32.json")).unwrap()).unwrap();
    let names: Vec<&str> = info["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let layout: Vec<&str> = meta.layout.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, layout, "the parameter layout is named_parameters()'");
    let bytes = std::fs::read(&ref_path).unwrap();
    let reference: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let dim = meta.dim();
    assert_eq!(reference.len(), dim * grads.len());
    let mut worst = 0.0f64;
    let mut worst_loss = 0.0f64;
    for (k, g) in grads.iter().enumerate() {
        let r = &reference[k * dim..(k + 1) * dim];
        let diff: f64 = g
            .values
            .iter()
            .zip(r)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        let norm: f64 = r.iter().map(|b| (*b as f64).powi(2)).sum();
        worst = worst.max((diff / norm).sqrt());
        let l = info["losses"][k].as_f64().unwrap();
        worst_loss = worst_loss.max((g.loss - l).abs() / l);
        assert_eq!(g.sample as usize, k);
        assert_eq!(g.batch_size as usize, BATCH_SIZES[k / SAMPLES]);
    }
    eprintln!("transformer: worst relative L2 difference {worst:.3e}, loss {worst_loss:.3e}");
    assert!(worst < 1e-6, "gradients differ from PyTorch's: {worst:e}");
    assert!(
        worst_loss < 1e-6,
        "losses differ from PyTorch's: {worst_loss:e}"
    );

    // the three measurements (their libraries: the binaries belong to another package)
    let g = d.join("tokens.safetensors.grads.parquet");
    let kappa = d.join("kappa.csv");
    gradscope_cli::vmf_kappa::run(gradscope_cli::vmf_kappa::Args::parse_from([
        "vmf-kappa".as_ref(),
        "-i".as_ref(),
        g.as_os_str(),
        "-o".as_ref(),
        kappa.as_os_str(),
        "--per-tensor".as_ref(),
        "--null-reps".as_ref(),
        "10".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
    ]))
    .unwrap();
    let (header, rows) = common::read_csv(&kappa);
    let kcol = header.iter().position(|h| h == "kappa").unwrap();
    // one row per batch size for `all`, and one per tensor and batch size
    assert_eq!(rows.len(), 2 * (1 + layout.len()));
    assert!(rows.iter().all(|r| r[kcol].parse::<f64>().unwrap() > 0.0));
    // a spectrum needs one batch size: 24 gradients of minibatches of 8
    let g8 = d.join("b8.parquet");
    bin("dump-grads")
        .arg("--torchscript")
        .arg(&model)
        .arg("--inputs")
        .arg(d.join("tokens.npz"))
        .args(["--loss", "next-token", "-b", "8", "-n", "24", "-o"])
        .arg(&g8)
        .assert()
        .success();
    let norm = d.join("normality.csv");
    gradscope_cli::normtest::run(gradscope_cli::normtest::Args::parse_from([
        "normtest".as_ref(),
        "-i".as_ref(),
        g8.as_os_str(),
        "-o".as_ref(),
        norm.as_os_str(),
        "--threads".as_ref(),
        "1".as_ref(),
    ]))
    .unwrap();
    let (_, rows) = common::read_csv(&norm);
    assert!(!rows.is_empty());
    let pl = d.join("powerlaw.csv");
    gradscope_cli::powerlaw_fit::run(gradscope_cli::powerlaw_fit::Args::parse_from([
        "powerlaw-fit".as_ref(),
        "-i".as_ref(),
        g8.as_os_str(),
        "-o".as_ref(),
        pl.as_os_str(),
        "--spectrum".as_ref(),
        "covariance".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
    ]))
    .unwrap();
    let (header, rows) = common::read_csv(&pl);
    let a = header.iter().position(|h| h == "alpha").unwrap();
    assert!(rows[0][a].parse::<f64>().unwrap() > 1.0);
}

/// A built-in image model on the synthetic dataset's training images written to a
/// safetensors file gives the same gradients, bit for bit, as on `--dataset synthetic`.
#[test]
fn builtin_model_on_inputs_equals_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let (train, _) = gradscope_torch::datasets::synthetic(1, 28, 28, 10, 512, 128, 0x5eed).unwrap();
    let st = dir.path().join("images.safetensors");
    Tensor::write_safetensors(&[("x", &train.images), ("y", &train.labels)], &st).unwrap();
    let common_args = [
        "--model",
        "fnn",
        "--init-seed",
        "3",
        "-b",
        "8",
        "-n",
        "4",
        "--seed",
        "2",
    ];
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    bin("dump-grads")
        .args(common_args)
        .args(["--dataset", "synthetic", "-o"])
        .arg(&a)
        .assert()
        .success();
    bin("dump-grads")
        .args(common_args)
        .arg("--inputs")
        .arg(&st)
        .arg("-o")
        .arg(&b)
        .assert()
        .success();
    let (_, ga) = read_all(&a);
    let (mb, gb) = read_all(&b);
    assert_eq!(mb.dataset.as_deref(), Some("inputs:images.safetensors"));
    assert_eq!(ga.len(), 4);
    for (x, y) in ga.iter().zip(&gb) {
        assert_eq!(x.values, y.values);
        assert_eq!(x.loss, y.loss);
    }
}

/// Runs dump-grads with `args`, expects exit `code`, one `error:` line containing `want`,
/// and no output file.
fn fails_with(args: &[&std::ffi::OsStr], code: i32, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.parquet");
    let o = bin("dump-grads")
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_error_line(&o, code, &[want], &[&out]);
}

fn write_st(path: &Path, tensors: &[(&str, Tensor)]) {
    Tensor::write_safetensors(tensors, path).unwrap();
}

/// Every kind of bad input is one error line, exit 1, no output file.
#[test]
fn bad_inputs_are_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |f: &str| d.join(f);
    let opts = (Kind::Int64, tch::Device::Cpu);
    let tokens = Tensor::randint(256, [10, 8], opts);
    // a TorchScript module of its own, and a classifier and a regressor
    let have_py = python().is_some_and(|py| {
        let script = "import sys, torch\n\
class Lm(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.e = torch.nn.Embedding(256, 8)\n        self.h = torch.nn.Linear(8, 256)\n    def forward(self, x):\n        return self.h(self.e(x))\n\
class Last(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.e = torch.nn.Embedding(256, 8)\n        self.h = torch.nn.Linear(8, 256)\n    def forward(self, x):\n        return self.h(self.e(x)).mean(1)\n\
torch.jit.script(Lm()).save(sys.argv[1] + '/lm.pt')\n\
torch.jit.script(Last()).save(sys.argv[1] + '/last.pt')\n\
torch.jit.script(torch.nn.Linear(4, 3)).save(sys.argv[1] + '/lin.pt')\n\
torch.save(torch.nn.Linear(4, 3).state_dict(), sys.argv[1] + '/state_dict.pt')\n";
        std::process::Command::new(&py)
            .arg("-c")
            .arg(script)
            .arg(d)
            .status()
            .is_ok_and(|s| s.success())
    });
    write_st(
        &p("ok.safetensors"),
        &[("x", tokens.shallow_clone()), ("y", tokens.shallow_clone())],
    );
    write_st(
        &p("short.safetensors"),
        &[("x", tokens.shallow_clone()), ("y", tokens.narrow(0, 0, 9))],
    );
    write_st(&p("noy.safetensors"), &[("x", tokens.shallow_clone())]);
    write_st(
        &p("bool.safetensors"),
        &[("x", tokens.gt(3)), ("y", tokens.shallow_clone())],
    );
    std::fs::write(p("corrupt.safetensors"), b"not a safetensors file at all").unwrap();
    std::fs::write(p("corrupt.npz"), b"PK\x03\x04 truncated").unwrap();
    std::fs::write(p("corrupt.parquet"), b"PAR1 truncated").unwrap();
    let lm = p("lm.pt");
    let ts = |inputs: &Path, loss: &str, model: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "--torchscript".into(),
            model.into(),
            "--inputs".into(),
            inputs.into(),
            "--loss".into(),
            loss.into(),
            "-b".into(),
            "2".into(),
            "-n".into(),
            "2".into(),
        ]
    };
    // exit 1: the data or the module is wrong; exit 2 (`usage`): the command line alone
    let run = |args: Vec<std::ffi::OsString>, code: i32, want: &str| {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        fails_with(&refs, code, want);
    };
    let check = |args: Vec<std::ffi::OsString>, want: &str| run(args, 1, want);
    let usage = |args: Vec<std::ffi::OsString>, want: &str| run(args, 2, want);
    // data problems, found before the model is asked anything
    let fnn = |inputs: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "--model".into(),
            "fnn".into(),
            "--init-seed".into(),
            "1".into(),
            "--inputs".into(),
            inputs.into(),
        ]
    };
    check(
        fnn(&p("short.safetensors")),
        "x holds 10 examples but y holds 9",
    );
    check(fnn(&p("noy.safetensors")), "no tensor `y` (found: x)");
    check(fnn(&p("bool.safetensors")), "`x` has dtype bool");
    check(fnn(&p("missing.safetensors")), "does not exist");
    check(fnn(&p("corrupt.safetensors")), "corrupt.safetensors");
    check(fnn(&p("corrupt.npz")), "not a zip archive");
    check(fnn(&p("corrupt.parquet")), "not a Parquet file");
    // token ids are not images for a built-in model
    check(fnn(&p("ok.safetensors")), "the built-in models take images");
    // no samples: every reader would refuse the matrix
    usage(
        [
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--init-seed",
            "1",
            "-n",
            "0",
        ]
        .map(std::ffi::OsString::from)
        .to_vec(),
        "--samples must be at least 1",
    );
    // a file that is not TorchScript at all, before anything else is read
    std::fs::write(p("garbage.pt"), b"not a zip archive").unwrap();
    check(
        ts(&p("ok.safetensors"), "next-token", &p("garbage.pt")),
        "garbage.pt is not a TorchScript module libtorch can load (PytorchStreamReader failed reading zip archive: not a ZIP archive): save one with torch.jit.script(model).save(PATH)",
    );
    if !have_py {
        return;
    }
    // the module's output does not fit the loss
    check(
        ts(&p("ok.safetensors"), "next-token", &p("last.pt")),
        "needs logits [B, T, V] against next tokens [B, T]; the model returns [2, 256]",
    );
    check(
        ts(&p("ok.safetensors"), "cross-entropy", &lm),
        "needs logits [B, C] against labels [B]",
    );
    // wrong class count: labels up to 255 against 3 classes
    let feats = Tensor::randn([10, 4], (Kind::Float, tch::Device::Cpu));
    let labels = Tensor::randint(256, [10], opts);
    write_st(
        &p("cls.safetensors"),
        &[("x", feats.shallow_clone()), ("y", labels)],
    );
    check(
        ts(&p("cls.safetensors"), "cross-entropy", &p("lin.pt")),
        "but the model has 3 outputs",
    );
    // mse against targets of another shape
    write_st(
        &p("reg.safetensors"),
        &[("x", feats.shallow_clone()), ("y", feats.shallow_clone())],
    );
    check(
        ts(&p("reg.safetensors"), "mse", &p("lin.pt")),
        "needs outputs of the targets' shape; the model returns [2, 3] for targets [2, 4]",
    );
    // an input the module cannot take: floats into an embedding
    check(
        ts(&p("reg.safetensors"), "next-token", &lm),
        "cannot take x (float32 [2, 4]",
    );
    // a torch.save'd state_dict is no module; libtorch's C++ stack and the TorchScript
    // interpreter's tracebacks (kilobytes) are left out of the line
    check(
        ts(&p("reg.safetensors"), "mse", &p("state_dict.pt")),
        "state_dict.pt is not a TorchScript module libtorch can load (PytorchStreamReader failed locating file constants.pkl: file not found)",
    );
    let wide = Tensor::randn([10, 5], (Kind::Float, tch::Device::Cpu));
    write_st(
        &p("wide.safetensors"),
        &[("x", wide.shallow_clone()), ("y", wide.narrow(1, 0, 3))],
    );
    check(
        ts(&p("wide.safetensors"), "mse", &p("lin.pt")),
        "the module's forward failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)",
    );
    // and the right pairing works
    write_st(
        &p("reg3.safetensors"),
        &[("x", feats.shallow_clone()), ("y", feats.narrow(1, 0, 3))],
    );
    let out = d.join("ok.parquet");
    bin("dump-grads")
        .args(ts(&p("reg3.safetensors"), "mse", &p("lin.pt")))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(read_all(&out).1.len(), 2);
}

/// `--shard I/N`: the N outputs concatenated and put in (step, sample) order are the
/// unsharded run's rows, bit for bit, for several N and batch-size lists, both sampling
/// schemes and two checkpoints; an index outside 0..N is one error line.
#[test]
fn shards_together_are_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin("train")
        .args([
            "--model",
            "fnn",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--checkpoint-epochs",
            "0,1",
            "--seed",
            "3",
            "--output",
        ])
        .arg(d.join("run"))
        .assert()
        .success();
    let ck = [
        d.join("run/ckpt/epoch-000.safetensors"),
        d.join("run/ckpt/epoch-001.safetensors"),
    ];
    // (batch sizes, sampling, samples per batch size, shard counts); 6 shards of 3
    // gradients per point leave three shards empty
    let cases: [(&str, &str, usize, &[usize]); 4] = [
        ("4", "independent", 5, &[3]),
        ("2,8,32", "independent", 3, &[4]),
        ("1,16", "epoch", 4, &[3]),
        ("64", "independent", 3, &[6]),
    ];
    for (bs, sampling, n, shard_counts) in cases {
        let run = |shard: Option<String>, out: &Path, threads: usize| {
            let mut c = bin_threads("dump-grads", threads);
            c.arg("--checkpoint").args(&ck).args([
                "-b",
                bs,
                "-n",
                &n.to_string(),
                "--sampling",
                sampling,
                "--seed",
                "11",
            ]);
            if let Some(s) = shard {
                c.args(["--shard", &s]);
            }
            c.arg("-o").arg(out).assert().success();
            read_all(out)
        };
        let (_, whole) = run(None, &d.join("whole.parquet"), 2);
        for &count in shard_counts {
            let mut parts: Vec<Sample> = Vec::new();
            for index in 0..count {
                let out = d.join(format!("part-{index}-of-{count}.parquet"));
                let (meta, rows) = run(Some(format!("{index}/{count}")), &out, 1 + index % 2);
                assert_eq!(meta.extra["shard"]["index"], index);
                assert_eq!(meta.extra["shard"]["count"], count);
                parts.extend(rows);
            }
            parts.sort_by_key(|s| (s.step, s.sample));
            assert_eq!(parts.len(), whole.len(), "-b {bs} with {count} shards");
            for (a, b) in parts.iter().zip(&whole) {
                assert_eq!(
                    (a.step, a.sample, a.batch_size),
                    (b.step, b.sample, b.batch_size)
                );
                assert_eq!(
                    a.values, b.values,
                    "-b {bs}, {count} shards, sample {}",
                    a.sample
                );
                assert_eq!(a.loss.to_bits(), b.loss.to_bits());
            }
        }
    }
    for bad in ["2/2", "5/3", "1/0", "a/2"] {
        let out = d.join("bad.parquet");
        let o = bin("dump-grads")
            .args([
                "--model",
                "fnn",
                "--dataset",
                "synthetic",
                "--init-seed",
                "1",
                "-n",
                "2",
            ])
            .args(["--shard", bad, "-o"])
            .arg(&out)
            .output()
            .unwrap();
        let err = assert_error_line(&o, 2, &[], &[&out]);
        assert!(err.starts_with(&format!("error: --shard {bad}")), "{err}");
    }
}
