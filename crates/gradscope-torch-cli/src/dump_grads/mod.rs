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
//! Your own model and data: `--torchscript model.pt --inputs data.safetensors --loss
//! next-token` takes the gradients of a TorchScript module of any input (token ids,
//! features, images) on tensors `x` and `y` of a safetensors, `.npz` or Parquet file,
//! minibatches drawn from its N examples as from a dataset's (see `training_data`).
//!
//! Several processes or GPUs: `--shard I/N` computes only gradients j with j mod N = I
//! of the same run (see `shard`); the N outputs together are the unsharded run's rows.
//!
//! Output: a Parquet file, or with `-o -` an Arrow IPC stream on stdout, written as the
//! gradients come (memory: a few gradients in flight per thread). Rows: step = the checkpoint's
//! training step (0 at initialisation), sample = the minibatch's index (numbered on across
//! batch sizes), batch_size, loss = the minibatch's mean loss.
//!
//! The module's parts: [`minibatch`] (the minibatch gradients, shared out among worker
//! threads), [`full_batch`] (the one full-batch gradient), [`report`] (the run's summary,
//! described once).

pub mod full_batch;
pub mod minibatch;
pub mod report;

use crate::common::DataArgs;
use crate::shard::Shard;
use crate::training_data::{LossArg, ModelRecipe, TrainingData};
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use full_batch::full_batch_grad;
use gradscope_io::{GradWriter, Provenance, WriterOptions};
use gradscope_tool::args::{check_outputs, Device as DeviceArg, TorchThreads};
use gradscope_tool::progress::progress;
use gradscope_tool::{errln, tool_name, usage_bail, usage_error};
use gradscope_torch::device::{device_name, init_torch, parse_device};
use gradscope_torch::{checkpoint, grads, Model, Preprocess};
use minibatch::{Computed, MinibatchJob, Point};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

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
#[command(name = "dump-grads", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// Model name (see `train --list-models`).
    #[arg(long, required_unless_present_any = ["checkpoint", "torchscript"], value_parser = crate::common::model_name)]
    pub model: Option<String>,

    /// A TorchScript module of your own (saved with torch.jit.save) instead of --model:
    /// gradients of its parameters at their saved values. It maps the dataset's images to
    /// logits, or with --inputs takes that file's `x` (any shape and dtype) to the output
    /// --loss needs (a tuple's first element is taken). It runs in training mode (BatchNorm
    /// with minibatch statistics, dropout active) unless --bn-eval.
    #[arg(long, conflicts_with_all = ["model", "checkpoint", "init_seed"])]
    pub torchscript: Option<PathBuf>,

    /// Your own training data instead of --dataset: a safetensors, .npz or Parquet file
    /// holding tensors `x` (inputs: token ids, features or images, any shape and dtype,
    /// first dimension the example) and `y` (targets, the same number of examples).
    /// Parquet: one row per example, columns `x` and `y` (numbers, or equal-length lists,
    /// nested for more dimensions). Minibatches are drawn from its N examples as from a
    /// dataset's. With a built-in --model, `x` must be float images [N, C, H, W].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dataset", "data_dir", "standardize", "val_size", "label_noise", "random_labels", "data_seed"])]
    pub inputs: Option<PathBuf>,

    /// With --inputs, the loss whose gradient is taken (mean over the minibatch):
    /// cross-entropy (logits [B, C], labels y [B]), mse (outputs and y of one shape),
    /// next-token (logits [B, T, V], next tokens y [B, T]). Default: cross-entropy.
    #[arg(long, value_enum, requires = "inputs")]
    pub loss: Option<LossArg>,

    /// With --inputs and a built-in --model: its number of classes (default: the
    /// checkpoint's dataset's, else the largest label in y + 1).
    #[arg(long, requires = "inputs", conflicts_with = "torchscript", value_parser = clap::value_parser!(i64).range(1..))]
    pub classes: Option<i64>,

    /// Compute only shard I of N (I = 0..N-1) of this run: the gradients numbered j
    /// (the `sample` column, counted on across batch sizes) with j mod N = I, each with the
    /// minibatch and seed it has in the unsharded run, so the N outputs together hold the
    /// unsharded run's rows bit for bit (on the CPU; read them as one matrix in (step,
    /// sample) order). Each shard takes an equal share of every batch size. For several
    /// GPUs in one machine run one shard per GPU: `--shard 0/2 --device cuda:0 -o part-0.parquet &
    /// --shard 1/2 --device cuda:1 -o part-1.parquet`; on a cluster one job per shard
    /// (e.g. a Slurm array task's index as I). Not with --full-batch.
    #[arg(long, value_name = "I/N", conflicts_with = "full_batch")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub data: DataArgs,

    /// Take gradients at a fresh initialisation drawn with this seed.
    #[arg(long, conflicts_with = "checkpoint", required_unless_present_any = ["checkpoint", "torchscript"])]
    pub init_seed: Option<u64>,

    /// Take gradients at this `train` checkpoint (.safetensors), or at several of one run
    /// in training order (each becomes a step of the output); its model, dataset and
    /// preprocessing (--standardize, --val-size, label noise, --data-seed) are used, a
    /// data flag given replacing the checkpoint's setting.
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
    /// with BatchNorm each chunk uses its own statistics). Takes no --batch-size or
    /// --sampling.
    #[arg(long, conflicts_with_all = ["batch_size", "sampling"])]
    pub full_batch: bool,

    /// Examples per forward pass for --full-batch.
    #[arg(long, default_value_t = 1000, requires = "full_batch")]
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
    #[arg(short, long, value_parser = gradscope_tool::args::matrix_path)]
    pub output: PathBuf,

    /// Compress the Parquet output with zstd.
    #[arg(long)]
    pub zstd: bool,

    #[command(flatten)]
    pub device: DeviceArg,

    // On the CPU, --threads minibatch gradients are computed at a time, each on its own
    // thread with one libtorch thread (independent minibatches need no synchronisation);
    // the numbers do not depend on it. `--full-batch` and GPUs use it as libtorch's
    // thread count.
    #[command(flatten)]
    pub threads: TorchThreads,
}

impl Args {
    /// Minibatch gradients with `--device cpu`: every gradient is computed with one
    /// libtorch thread, by `--threads` workers at once (`auto` does the same when it finds
    /// no GPU, but cannot know that before libtorch is loaded).
    pub fn single_threaded_libtorch(&self) -> bool {
        self.device.name == "cpu" && !self.full_batch
    }
}

/// What `run` decided and opened before computing a gradient: the model at the first
/// point, the data, the tensors chosen, the workers and the output's writer.
struct Plan {
    device: tch::Device,
    model_name: String,
    data: TrainingData,
    recipe: ModelRecipe,
    model: Model,
    which: Vec<usize>,
    /// The first point's training step.
    step: u64,
    /// The data the first checkpoint was trained on (`train`'s description), which later
    /// checkpoints must share.
    trained_on: Option<String>,
    shard: Shard,
    workers: usize,
    train_mode: bool,
}

/// The data a checkpoint's gradients are taken on: its dataset and preprocessing, each
/// replaced by a flag given (with a note on stderr when that changes what it was trained
/// on), so that a network trained on standardised images or on a split is measured on
/// them. A `--data-seed` given must still draw something.
fn data_of_checkpoint(data: &DataArgs, path: &Path, state: &serde_json::Value) -> Result<DataArgs> {
    let recorded: Option<Preprocess> = match state.get("preprocess") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).with_context(|| {
            format!(
                "checkpoint {}: its recorded preprocessing is unreadable",
                path.display()
            )
        })?),
    };
    let dataset = state.get("dataset").and_then(|v| v.as_str());
    let (merged, differs) = data.for_checkpoint(dataset, recorded.as_ref());
    if data.data_seed.is_some() {
        merged.check_seed_used()?;
    }
    if differs {
        let trained = state.get("data").and_then(|v| v.as_str()).unwrap_or("?");
        errln!(
            "dump-grads: note: {} was trained on {trained}; these gradients are taken on {}, as the data flags ask",
            path.display(),
            merged.describe()
        );
    }
    Ok(merged)
}

/// Every check of the arguments, the checkpoint(s), data and model opened, the
/// provenance settled and the output created.
fn plan(args: &mut Args) -> Result<(Plan, GradWriter)> {
    // The output must not replace a checkpoint, inputs or module it reads.
    check_outputs(
        false,
        args.checkpoint
            .iter()
            .chain(&args.inputs)
            .chain(&args.torchscript)
            .map(PathBuf::as_path),
        [Some(args.output.as_path())],
    )?;
    if args.full_batch && args.chunk == 0 {
        usage_bail!("--chunk 0: a forward pass needs at least one example");
    }
    if args.zstd && gradscope_io::is_stdio(&args.output) {
        usage_bail!(
            "--zstd compresses a Parquet file; the stream on stdout (-o -) is not compressed"
        );
    }
    let device = parse_device(&args.device.name)?;
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
    if args.checkpoint.is_empty() {
        args.data.check_seed_used().map_err(usage_error)?;
    } else if args.inputs.is_none() {
        args.data = data_of_checkpoint(&args.data, &args.checkpoint[0], &state)?;
    }
    let init_seed = args
        .init_seed
        .or_else(|| state.get("seed").and_then(|v| v.as_u64()))
        .unwrap_or(0);
    // Minibatch gradients on the CPU: `--threads` gradients at once, one libtorch thread
    // each; on a GPU, or for the one full-batch gradient, one at a time with
    // `--threads` libtorch threads.
    let cores = gradscope_tool::threads::resolve(args.threads.count);
    let (workers, libtorch_threads) = if device == tch::Device::Cpu && !args.full_batch {
        (cores, 1)
    } else {
        (1, args.threads.count)
    };
    init_torch(libtorch_threads, init_seed);
    let model_name = match &args.torchscript {
        Some(p) => format!("torchscript:{}", p.display()),
        None => match args.model.clone() {
            Some(m) => m,
            None => usage_bail!("--model or --torchscript is required"),
        },
    };
    if args.batch_size.contains(&0) {
        usage_bail!("--batch-size must be at least 1");
    }
    if args.samples == 0 {
        // Every reader refuses a matrix without samples; say so before any work.
        usage_bail!("--samples must be at least 1");
    }
    let shard = match &args.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::default(),
    };
    let data = TrainingData::load(
        &args.data,
        args.inputs.as_deref(),
        args.loss,
        args.classes,
        args.torchscript.is_some(),
        &state,
    )?;
    let recipe = data.recipe();
    let model = recipe.build(
        args.torchscript.as_deref(),
        &model_name,
        device,
        !args.bn_eval,
    )?;
    data.check_fit(&model, !args.bn_eval)?;
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
                data.name
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
    meta.dataset = Some(data.describe.clone());
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
    if let Some(shapes) = &data.shapes {
        meta.extra.insert("inputs".into(), shapes.clone().into());
        meta.extra.insert("loss".into(), data.loss.name().into());
    }
    if args.shard.is_some() {
        meta.extra.insert(
            "shard".into(),
            serde_json::json!({"index": shard.index, "count": shard.count}),
        );
    }
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

    let opts = WriterOptions {
        zstd: args.zstd,
        ..WriterOptions::default()
    };
    let writer = GradWriter::create(&args.output, &meta, &opts)?;
    let plan = Plan {
        device,
        model_name,
        data,
        recipe,
        model,
        which,
        step,
        trained_on: state
            .get("data")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        shard,
        workers,
        train_mode: !args.bn_eval,
    };
    Ok((plan, writer))
}

/// Runs the tool: plan (every check, the inputs opened), measure (the gradients, streamed
/// to the output's writer as they come, so that memory stays bounded whatever
/// `--samples`), emit (the output committed, the summary).
pub fn run(mut args: Args) -> Result<()> {
    let (plan, writer) = plan(&mut args)?;
    let start = Instant::now();
    let dim = writer.dim();
    let writer = measure(&args, &plan, writer)?;
    let gradients = writer.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    emit(&args, &plan, gradients as u64, dim as u64, seconds);
    Ok(())
}

/// Computes every gradient of every point and hands it to the writer (its own thread);
/// returns the writer, unfinished, once all were written.
fn measure(args: &Args, plan: &Plan, writer: GradWriter) -> Result<GradWriter> {
    let Plan {
        device,
        model_name,
        data,
        recipe,
        model,
        which,
        step,
        trained_on,
        shard,
        workers,
        train_mode,
        ..
    } = plan;
    let (device, step, shard, workers, train_mode) =
        (*device, *step, *shard, *workers, *train_mode);
    let n = data.train.len();
    let points = args.checkpoint.len().max(1);
    // Gradients per point, numbered 0.. (the `sample` column).
    let per_point = if args.full_batch {
        1
    } else {
        shard.share(args.samples * args.batch_size.len())
    };
    let total = points * per_point;
    let bar = progress(Some(total as u64), "dump-grads");
    // Each worker's gradients in its own queue, its spent buffers back in another; the
    // writer takes gradient j of a point from worker j mod `workers`, so the output keeps
    // the order of one sequential run.
    let (mut txs, rxs): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| mpsc::sync_channel::<Computed>(2))
        .unzip();
    let (back_txs, mut back_rxs): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| mpsc::channel::<Vec<f32>>()).unzip();
    // The writer runs on its own thread so encoding overlaps the gradients' computation.
    // It hands the writer back unfinished, with the count written: the file is committed
    // only if every gradient was produced (a failed run leaves no output).
    let writer_bar = bar.clone();
    let handle = std::thread::spawn(move || -> Result<(GradWriter, usize)> {
        let mut writer = writer;
        for j in 0..total {
            let w = (j % per_point) % workers;
            // A closed queue: its worker failed or the run stopped; the caller reports why.
            let Ok(c) = rxs[w].recv() else {
                return Ok((writer, j));
            };
            if let Some(i) = c.values.iter().position(|v| !v.is_finite()) {
                bail!(
                    "step {}, sample {}: the gradient is not finite (value {i} is {}): the parameters or the loss ({}) are not finite",
                    c.step, c.sample, c.values[i], c.loss
                );
            }
            let values =
                writer.write_sample_owned(c.step, c.sample, c.loss, c.batch_size, c.values)?;
            let _ = back_txs[w].send(values);
            writer_bar.inc(1);
        }
        Ok((writer, total))
    });

    // The parameter points in order, each checked before its gradients are asked for: the
    // first is the model as loaded, later checkpoints are read in turn.
    let mut last = step;
    let mut next_point = |p: usize| -> Result<Point> {
        if p == 0 {
            return Ok(Point {
                step,
                what: "the model".into(),
                tensors: model.store.named_tensors(),
            });
        }
        let path = &args.checkpoint[p];
        let (tensors, s) = checkpoint::load(path)?;
        if let Some(m) = s.get("model").and_then(|v| v.as_str()) {
            if m != model_name {
                bail!(
                    "checkpoint {} holds a {m}, the first one a {model_name}",
                    path.display()
                );
            }
        }
        let data = s.get("data").and_then(|v| v.as_str());
        if let (Some(d), Some(first)) = (data, trained_on.as_deref()) {
            if d != first {
                bail!(
                    "checkpoint {} was trained on {d}, the first one on {first}: give checkpoints of one run",
                    path.display()
                );
            }
        }
        let at = s.get("step").and_then(|v| v.as_u64()).unwrap_or(0);
        if at <= last {
            bail!(
                "checkpoint {} is at step {at}, not after step {last}: give the checkpoints in training order",
                path.display()
            );
        }
        last = at;
        Ok(Point {
            step: at,
            what: format!("checkpoint {}", path.display()),
            tensors,
        })
    };
    let mut worker_results = Vec::new();
    let produced = if args.full_batch {
        let (tx, back_rx) = (txs.remove(0), back_rxs.remove(0));
        (0..points).try_for_each(|p| -> Result<()> {
            let point = next_point(p)?;
            if p > 0 {
                model.store.load_from(&point.tensors, &point.what)?;
            }
            let mut buf = back_rx.try_recv().unwrap_or_default();
            let (loss, g) =
                full_batch_grad(model, which, &data.train, args.chunk, device, train_mode)?;
            grads::to_vec(&[g], &mut buf)?;
            let c = Computed::new(point.step, 0, loss, n, buf);
            tx.send(c)
                .map_err(|_| anyhow::anyhow!("the writer stopped"))
        })
    } else {
        let job = MinibatchJob {
            batch_sizes: &args.batch_size,
            samples: args.samples,
            sampling: args.sampling,
            seed: args.seed,
            which,
            train_mode,
            device,
            workers,
            shard,
        };
        let build = || -> Result<Model> {
            recipe.build(args.torchscript.as_deref(), model_name, device, train_mode)
        };
        std::thread::scope(|scope| {
            let mut point_txs = Vec::new();
            let mut handles = Vec::new();
            for (w, (tx, back_rx)) in txs.drain(..).zip(back_rxs.drain(..)).enumerate() {
                let (point_tx, point_rx) = mpsc::sync_channel::<Point>(1);
                point_txs.push(point_tx);
                let split = data.train.shallow_clone();
                let (job, build) = (&job, &build);
                handles.push(
                    scope.spawn(move || job.run(w, build()?, &split, point_rx, &tx, &back_rx)),
                );
            }
            let fed = (0..points).try_for_each(|p| -> Result<()> {
                let point = next_point(p)?;
                for point_tx in &point_txs {
                    let tensors = point
                        .tensors
                        .iter()
                        .map(|(k, v)| (k.clone(), v.shallow_clone()))
                        .collect();
                    // A worker that stopped has its error for the caller.
                    let _ = point_tx.send(Point {
                        step: point.step,
                        what: point.what.clone(),
                        tensors,
                    });
                }
                Ok(())
            });
            drop(point_txs);
            for h in handles {
                worker_results.push(
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a gradient worker panicked"))),
                );
            }
            fed
        })
    };
    drop(txs);
    let (writer, written) = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    // A writer error (e.g. a closed pipe) explains the others and came first above; then
    // a worker's, then the reading of a checkpoint.
    for r in worker_results {
        r?;
    }
    produced?;
    if written != total {
        bail!("only {written} of {total} gradients were computed");
    }
    bar.finish_and_clear();
    Ok(writer)
}

/// The summary on stderr: the run's row, then its speed (a measurement of this machine,
/// not of the gradients).
fn emit(args: &Args, plan: &Plan, gradients: u64, dim: u64, seconds: f64) {
    let row = report::Written {
        gradients,
        dim,
        model: plan.model_name.clone(),
        data: plan.data.describe.clone(),
        output: if gradscope_io::is_stdio(&args.output) {
            "stdout".to_string()
        } else {
            args.output.display().to_string()
        },
    };
    gradscope_tool::console::err(&report::written().summary(&[row]));
    errln!(
        "dump-grads: {seconds:.2} s ({:.1} gradients/s)",
        gradients as f64 / seconds.max(1e-9)
    );
}
