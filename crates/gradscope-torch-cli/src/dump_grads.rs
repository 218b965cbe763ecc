//! `dump-grads`: minibatch gradients of a model at one parameter point, in the shared
//! gradient-matrix format.
//!
//! The point is a fresh initialisation (`--init-seed`) or a `train` checkpoint
//! (`--checkpoint`; several checkpoints of one run give one matrix with one step each,
//! the same minibatches at every step, e.g. `--checkpoint runs/x/ckpt/epoch-*.safetensors`
//! for a curve over training). At each point it draws `--samples` minibatches of each
//! `--batch-size` from the training split, independently (`--sampling independent`: each
//! minibatch B distinct examples, minibatches i.i.d.) or as one epoch's disjoint
//! minibatches (`--sampling epoch`), and writes for each the gradient of the mean
//! cross-entropy with respect to every parameter (or the `--tensors` chosen), flattened
//! in layout order. Batch size 1 gives per-example gradients; `--full-batch` writes one
//! sample, the gradient of the mean loss over the whole training split.
//!
//! BatchNorm runs in training mode, as SGD sees it (each minibatch normalised by its own
//! statistics); `--bn-eval` uses the running statistics instead.
//!
//! Output: a Parquet file, or with `-o -` an Arrow IPC stream on stdout, written as the
//! gradients come (memory: a few gradients in flight). Rows: step = the checkpoint's
//! training step (0 at initialisation), sample = the minibatch's index (numbered on across
//! batch sizes), batch_size, loss = the minibatch's mean loss.

use crate::common::DataArgs;
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use gradscope_cli::app::{progress, tool_name};
use gradscope_io::{GradWriter, Provenance, WriterOptions};
use gradscope_torch::device::{device_name, init_torch, parse_device};
use gradscope_torch::{checkpoint, grads, sampler, Model};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;
use tch::Tensor;

/// How minibatches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sampling {
    /// Each minibatch B distinct examples drawn uniformly; minibatches independent.
    Independent,
    /// Disjoint minibatches of one random permutation (one epoch; more samples than an
    /// epoch holds continue with the next epoch's permutation).
    Epoch,
}

/// Writes minibatch gradients of a model at an initialisation or a checkpoint.
#[derive(Debug, Parser)]
#[command(name = "dump-grads", version, about, long_about = None)]
pub struct Args {
    /// Model name (see `train --list-models`).
    #[arg(long, required_unless_present_any = ["checkpoint", "torchscript"])]
    pub model: Option<String>,

    /// A TorchScript module of your own (saved with torch.jit.save) mapping images to
    /// logits, instead of --model: gradients of its parameters at their saved values.
    #[arg(long, conflicts_with_all = ["model", "checkpoint", "init_seed"])]
    pub torchscript: Option<PathBuf>,

    #[command(flatten)]
    pub data: DataArgs,

    /// Take gradients at a fresh initialisation drawn with this seed.
    #[arg(long, conflicts_with = "checkpoint", required_unless_present_any = ["checkpoint", "torchscript"])]
    pub init_seed: Option<u64>,

    /// Take gradients at this `train` checkpoint (.safetensors), or at several of one run
    /// in training order (each becomes a step of the output); their model and dataset
    /// are used unless given.
    #[arg(long, num_args = 1..)]
    pub checkpoint: Vec<PathBuf>,

    /// Minibatch size(s), comma-separated (e.g. 2,4,8,...,4096): `--samples` minibatches of each.
    #[arg(short = 'b', long, value_delimiter = ',', default_value = "64")]
    pub batch_size: Vec<usize>,

    /// Minibatches per batch size.
    #[arg(short = 'n', long, default_value_t = 3000)]
    pub samples: usize,

    /// How minibatches are drawn.
    #[arg(long, value_enum, default_value_t = Sampling::Independent)]
    pub sampling: Sampling,

    /// Write one sample only: the gradient of the mean loss over the whole training split
    /// (computed in chunks of --chunk examples, each chunk's gradient weighted by its size;
    /// with BatchNorm each chunk uses its own statistics).
    #[arg(long)]
    pub full_batch: bool,

    /// Examples per forward pass for --full-batch.
    #[arg(long, default_value_t = 1000)]
    pub chunk: usize,

    /// Only these parameters, comma-separated: a full name (fc1.weight) or a prefix (fc1).
    #[arg(long, value_delimiter = ',')]
    pub tensors: Vec<String>,

    /// BatchNorm with its running statistics (evaluation mode) instead of the minibatch's.
    #[arg(long)]
    pub bn_eval: bool,

    /// Seed of the minibatch sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Output: .parquet file, or `-` for an Arrow IPC stream on stdout.
    #[arg(short, long)]
    pub output: PathBuf,

    /// Compress the Parquet output with zstd.
    #[arg(long)]
    pub zstd: bool,

    /// cpu, cuda, cuda:N or auto (CUDA when available).
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// libtorch threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Runs the tool.
pub fn run(mut args: Args) -> Result<()> {
    let device = parse_device(&args.device)?;
    let (mut state, ckpt) = match args.checkpoint.first() {
        Some(p) => {
            let (t, s) = checkpoint::load(p)?;
            (s, Some(t))
        }
        None => (serde_json::Value::Null, None),
    };
    if let Some(s) = state.get("model").and_then(|v| v.as_str()) {
        match &args.model {
            Some(m) if m != s => bail!(
                "--model {m}: checkpoint {} holds a {s}",
                args.checkpoint[0].display()
            ),
            _ => args.model = Some(s.to_string()),
        }
    }
    if let Some(s) = state.get("dataset").and_then(|v| v.as_str()) {
        if args.data.dataset == "mnist" && s != "mnist" {
            args.data.dataset = s.to_string();
        }
    }
    let init_seed = args
        .init_seed
        .or_else(|| state.get("seed").and_then(|v| v.as_u64()))
        .unwrap_or(0);
    init_torch(args.threads, init_seed);
    let model_name = match &args.torchscript {
        Some(p) => format!("torchscript:{}", p.display()),
        None => args.model.clone().context("--model is required")?,
    };
    if args.batch_size.contains(&0) {
        bail!("--batch-size must be at least 1");
    }
    let data = args.data.load()?;
    let spec = args.data.spec()?;
    let model = match &args.torchscript {
        Some(p) => Model::from_torchscript(p, &spec, device, !args.bn_eval)?,
        None => Model::new(&model_name, &spec, device)?,
    };
    let step = state.get("step").and_then(|v| v.as_u64()).unwrap_or(0);
    if let Some(t) = &ckpt {
        model
            .store
            .load_from(t, &format!("checkpoint {}", args.checkpoint[0].display()))?;
    }
    drop(ckpt);
    let which = grads::select(&model, &args.tensors)?;
    let n = data.train.len();
    for &b in &args.batch_size {
        if b > n {
            bail!(
                "--batch-size {b} exceeds the {n} training examples of {}",
                args.data.dataset
            );
        }
    }

    let full_layout = model.store.layout();
    let shapes: Vec<(String, Vec<usize>)> = which
        .iter()
        .map(|&i| (full_layout[i].name.clone(), full_layout[i].shape.clone()))
        .collect();
    let mut meta = Provenance::new("gradient-matrix", &tool_name("dump-grads"));
    meta.layout = gradscope_io::grad_matrix::layout_from_shapes(&shapes);
    meta.model = Some(model_name.clone());
    meta.dataset = Some(args.data.describe());
    meta.seed = Some(init_seed);
    meta.batch_size = Some(if args.full_batch {
        n as u64
    } else {
        args.batch_size[0] as u64
    });
    meta.sampling = Some(if args.full_batch {
        "full-batch".into()
    } else {
        format!("{:?}", args.sampling).to_lowercase()
    });
    meta.extra.insert("sampling_seed".into(), args.seed.into());
    meta.extra
        .insert("batch_sizes".into(), serde_json::json!(args.batch_size));
    meta.extra.insert(
        "batchnorm".into(),
        (if args.bn_eval { "eval" } else { "train" }).into(),
    );
    meta.extra
        .insert("device".into(), device_name(device).into());
    if let [p] = args.checkpoint.as_slice() {
        meta.extra
            .insert("checkpoint".into(), p.display().to_string().into());
        meta.extra.insert("step".into(), step.into());
    } else if !args.checkpoint.is_empty() {
        let names: Vec<String> = args
            .checkpoint
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        meta.extra.insert("checkpoints".into(), names.into());
    }
    if let Some(obj) = state.as_object_mut() {
        obj.remove("metrics");
    }

    let train_mode = !args.bn_eval;
    let opts = WriterOptions {
        zstd: args.zstd,
        ..WriterOptions::default()
    };
    let writer = GradWriter::create(&args.output, &meta, &opts)?;
    let dim = writer.dim();
    // The writer runs on its own thread so encoding overlaps the next backward pass.
    let (tx, rx) = mpsc::sync_channel::<(u64, u32, f64, u32, Vec<f32>)>(4);
    let (back_tx, back_rx) = mpsc::channel::<Vec<f32>>();
    // It hands the writer back unfinished: the file is committed only if every
    // gradient was produced (a failed run leaves no output).
    let handle = std::thread::spawn(move || -> Result<GradWriter> {
        // The gradients' computation is the bottleneck: encoding and writing them, and
        // a pipe's copies, should not take its core (see gradscope_io::pipe).
        gradscope_io::pipe::lower_thread_priority(gradscope_io::pipe::CONSUMER_NICE);
        let mut writer = writer;
        for (step, sample, loss, bs, values) in rx {
            let values = writer.write_sample_owned(step, sample, loss, bs, values)?;
            let _ = back_tx.send(values);
        }
        Ok(writer)
    });

    let start = Instant::now();
    let points = args.checkpoint.len().max(1);
    let total = points
        * if args.full_batch {
            1
        } else {
            args.samples * args.batch_size.len()
        };
    let bar = progress(Some(total as u64), "dump-grads");
    let produce_at = |step: u64| -> Result<()> {
        let send = |sample: u32, loss: f64, bs: u32, g: &[Tensor]| -> Result<()> {
            let mut buf = back_rx.try_recv().unwrap_or_default();
            grads::to_vec(g, &mut buf)?;
            debug_assert_eq!(buf.len(), dim);
            tx.send((step, sample, loss, bs, buf))
                .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
            bar.inc(1);
            Ok(())
        };
        if args.full_batch {
            let mut acc: Option<Tensor> = None;
            let mut loss_sum = 0.0;
            let chunk = args.chunk.max(1);
            for s in (0..n).step_by(chunk) {
                let idx: Vec<i64> = (s as i64..(s + chunk).min(n) as i64).collect();
                let (x, y) = data.train.batch(&idx, device)?;
                let (loss, g) = grads::minibatch_grad(&model, &which, &x, &y, train_mode)?;
                let w = idx.len() as f64 / n as f64;
                loss_sum += loss * w;
                let g = g.f_mul_scalar(w)?;
                acc = Some(match acc {
                    None => g,
                    Some(a) => a.f_add(&g)?,
                });
            }
            return send(
                0,
                loss_sum,
                n as u32,
                &[acc.context("empty training split")?],
            );
        }
        let mut sample: u32 = 0;
        for &b in &args.batch_size {
            let mut epoch = sampler::EpochSampler::new(n, b, args.seed, true);
            for i in 0..args.samples {
                let idx = match args.sampling {
                    Sampling::Independent => sampler::independent(n, b, args.seed, sample as u64),
                    Sampling::Epoch => epoch.batch(i as u64),
                };
                let (x, y) = data.train.batch(&idx, device)?;
                let (loss, g) = grads::minibatch_grad_parts(&model, &which, &x, &y, train_mode)
                    .with_context(|| format!("gradient of minibatch {sample} (batch size {b})"))?;
                send(sample, loss, b as u32, &g)?;
                sample += 1;
            }
        }
        Ok(())
    };
    // The first point is loaded; later checkpoints replace the parameters in turn.
    let produce = || -> Result<()> {
        produce_at(step)?;
        let mut last = step;
        for p in args.checkpoint.iter().skip(1) {
            let (t, s) = checkpoint::load(p)?;
            if let Some(m) = s.get("model").and_then(|v| v.as_str()) {
                if m != model_name {
                    bail!(
                        "checkpoint {} holds a {m}, the first one a {model_name}",
                        p.display()
                    );
                }
            }
            let at = s.get("step").and_then(|v| v.as_u64()).unwrap_or(0);
            if at <= last {
                bail!(
                    "checkpoint {} is at step {at}, not after step {last}: give the checkpoints in training order",
                    p.display()
                );
            }
            model
                .store
                .load_from(&t, &format!("checkpoint {}", p.display()))?;
            produce_at(at)?;
            last = at;
        }
        Ok(())
    };
    let produced = produce();
    drop(tx);
    let written = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
    // A writer error (e.g. a closed pipe) explains a producer error; report it first.
    let writer = written?;
    produced?;
    let written = writer.finish()?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "dump-grads: {written} gradients of {dim} values ({model_name}, {}) in {secs:.2} s ({:.1} gradients/s) -> {}",
        args.data.dataset,
        written as f64 / secs.max(1e-9),
        if gradscope_io::is_stdio(&args.output) { "stdout".to_string() } else { args.output.display().to_string() }
    );
    Ok(())
}
