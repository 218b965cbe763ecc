//! `train`: trains one of the studies' models with SGD, SGD with momentum or Adam, and
//! leaves checkpoints and per-epoch metrics for the measuring tools.
//!
//! Output directory (`-o runs/NAME`):
//! - `ckpt/last.safetensors` after every epoch (what a restarted run resumes from),
//!   `ckpt/epoch-EEE.safetensors` at the chosen epochs (`--checkpoint-epochs`,
//!   `--checkpoint-log`; epoch 0 is the initialisation), `ckpt/step-SSSSSSS.safetensors`
//!   at every step of the epochs in `--checkpoint-steps A..B`. Each holds the parameters,
//!   BatchNorm buffers, optimiser state and the run's position (see
//!   `gradscope_torch::checkpoint`);
//! - `metrics.parquet`: per epoch, training loss and accuracy (means over the epoch's
//!   minibatches, as SGD saw them), validation loss and accuracy (the `--val-size` split,
//!   or the test split when there is none; BatchNorm in evaluation mode), learning rate,
//!   cumulative wall time;
//! - with `--loss-every K`, `subset_loss.parquet`: every K steps the loss of the current
//!   parameters over a fixed subset of the training set and the examples used so far;
//!   with `--target-loss L` the run stops at the first of them at or below L and leaves
//!   `ckpt/target.safetensors` (steps and examples to a target, McCandlish et al. 2018).
//!
//! Reproducibility: the initialisation comes from `--seed` (libtorch's generator), the
//! minibatches and augmentation from streams of `--seed` indexed by the step (see
//! `gradscope_torch::sampler`), so a run resumed from any checkpoint (`--resume-from`, or
//! automatically from `last.safetensors` when the directory holds one) takes exactly the
//! steps the uninterrupted run takes: the same parameters bit for bit on CPU with the same
//! `--threads`.

use crate::common::{same_data, DataArgs};
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::{write_table, Provenance, TensorLayout};
use gradscope_tool::args::{Device as DeviceArg, TorchThreads};
use gradscope_tool::console::out_json;
use gradscope_tool::progress::progress;
use gradscope_tool::report::{Column, Report, Value};
use gradscope_tool::text_table::num;
use gradscope_tool::{errln, tool_name, usage_bail, usage_error};
use gradscope_torch::device::{device_name, init_torch, parse_device};
use gradscope_torch::models::{Model, MODELS};
use gradscope_torch::sharpness::SharpnessTracker;
use gradscope_torch::subset_loss::SubsetLoss;
use gradscope_torch::trainer::{
    read_checkpoint, OptimizerName, RunState, SharpnessRow, SubsetLossRow, TrainConfig, Trainer,
};
use gradscope_torch::Split;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind};

pub use gradscope_torch::trainer::EpochRow;

/// The momentum coefficient of `--optimizer momentum` when none is given (the studies'
/// 0.9; checkpoints of the other optimisers record it too, unused).
const DEFAULT_MOMENTUM: f64 = 0.9;

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Opt {
    /// Plain SGD.
    Sgd,
    /// SGD with (heavy-ball) momentum --momentum.
    Momentum,
    /// Adam with betas (0.9, 0.999) and eps 1e-8.
    Adam,
}

/// Trains a model and writes checkpoints and metrics.
#[derive(Debug, Parser)]
#[command(name = "train", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// Model name (--list-models shows them).
    #[arg(long, required_unless_present_any = ["list_models", "resume_from"], value_parser = crate::common::model_name)]
    pub model: Option<String>,

    #[command(flatten)]
    pub data: DataArgs,

    /// Print the model's parameter layout (name, shape, count) and total, then exit.
    #[arg(long)]
    pub describe: bool,

    /// With --describe or --list-models: JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// List the models and exit.
    #[arg(long)]
    pub list_models: bool,

    /// Output directory (checkpoints in ckpt/, metrics.parquet).
    #[arg(short, long, required_unless_present_any = ["describe", "list_models"])]
    pub output: Option<PathBuf>,

    /// Optimiser.
    #[arg(long, value_enum, default_value_t = Opt::Sgd)]
    pub optimizer: Opt,

    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,

    /// Momentum coefficient of --optimizer momentum, from 0 to below 1 [default: 0.9]
    /// (refused with the other optimisers, which would ignore it).
    #[arg(long)]
    pub momentum: Option<f64>,

    /// L2 weight decay added to the gradient (PyTorch's weight_decay).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,

    /// Multiply the learning rate by --lr-decay at these epochs (comma-separated); values
    /// below 1 are fractions of --epochs (0.5,0.75).
    #[arg(long, value_delimiter = ',')]
    pub lr_decay_at: Vec<f64>,

    /// Factor of each learning-rate step.
    #[arg(long, default_value_t = 0.1, requires = "lr_decay_at")]
    pub lr_decay: f64,

    /// Minibatch size (the last minibatch of an epoch may be smaller).
    #[arg(short = 'b', long, default_value_t = 64)]
    pub batch_size: usize,

    /// Epochs to train (in total, counting those a resumed run already did).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,

    /// Seed of the initialisation, the minibatch order and the augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Clip the gradient's global L2 norm to this value.
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,

    /// Random horizontal flips and 4-pixel-padded random crops of the training images.
    #[arg(long)]
    pub augment: bool,

    /// Checkpoint after these epochs (comma-separated; 0 = the initialisation).
    #[arg(long, value_delimiter = ',')]
    pub checkpoint_epochs: Vec<usize>,

    /// Checkpoint at this many log-spaced epochs between 1 and --epochs, and at 0 (at
    /// most 10,000).
    #[arg(long, default_value_t = 0, value_parser = gradscope_tool::args::count(0..=10_000))]
    pub checkpoint_log: usize,

    /// Checkpoint after every step of the epochs A to B (inclusive, 1-based), as `A..B`.
    #[arg(long)]
    pub checkpoint_steps: Option<String>,

    /// Resume or replay from this checkpoint (default: ckpt/last.safetensors of the output
    /// directory when it exists).
    #[arg(long)]
    pub resume_from: Option<PathBuf>,

    /// Start afresh even when the output directory holds a checkpoint.
    #[arg(long, conflicts_with = "resume_from")]
    pub fresh: bool,

    #[command(flatten)]
    pub device: DeviceArg,

    #[command(flatten)]
    pub threads: TorchThreads,

    /// Evaluate each epoch's validation (or test) metrics on the first N examples of that
    /// split only (0: all of it); for runs of many short epochs, such as full-batch
    /// gradient descent on a subset.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub eval_samples: usize,

    #[command(flatten)]
    pub sharpness: SharpnessArgs,

    #[command(flatten)]
    pub subset_loss: SubsetLossArgs,
}

/// The training loss over a fixed subset, and stopping at a target loss (the steps and
/// examples to a target of McCandlish et al. 2018, section 2.2).
#[derive(Debug, Clone, clap::Args)]
pub struct SubsetLossArgs {
    /// Every K steps (and before the first), the mean loss and accuracy of the current
    /// parameters over a fixed subset of the training set (evaluation mode), into
    /// subset_loss.parquet with the examples used so far (`step` joins metrics.parquet).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub loss_every: Option<u64>,

    /// Training examples in that subset (drawn by --seed; all of them when at least the
    /// training set's size).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2000,
        requires = "loss_every"
    )]
    pub loss_samples: usize,

    /// Stop at the first --loss-every measurement whose subset loss is at most L (nats per
    /// example), writing ckpt/target.safetensors there; a subset loss that is not finite
    /// (divergence) stops the run too. Without it --epochs bounds the run as usual.
    #[arg(long, value_name = "L", requires = "loss_every")]
    pub target_loss: Option<f64>,
}

/// Sharpness over training (the edge of stability, Cohen et al. 2021).
#[derive(Debug, Clone, clap::Args)]
pub struct SharpnessArgs {
    /// Every K steps (and before the first), the top eigenvalue of the training loss's
    /// Hessian over a fixed subset, into sharpness.parquet with 2/lr beside it (Lanczos,
    /// warm-started from the previous eigenvector).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub sharpness_every: Option<u64>,

    /// Training examples in the sharpness subset (seeded by --seed; all when at least
    /// the training set's size: full-batch gradient descent's loss).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        requires = "sharpness_every"
    )]
    pub sharpness_samples: usize,

    /// Lanczos stops when the top Ritz residual is at most this times the eigenvalue.
    #[arg(long, default_value_t = 1e-3, requires = "sharpness_every")]
    pub sharpness_tol: f64,

    /// Hessian-vector products per sharpness measurement at most.
    #[arg(long, default_value_t = 100, requires = "sharpness_every")]
    pub sharpness_max_iter: usize,
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    if args.json && !args.list_models && !args.describe {
        usage_bail!("--json prints --describe or --list-models; a training run's results are in its directory");
    }
    if args.list_models {
        if args.json {
            let v: Vec<_> = MODELS
                .iter()
                .map(|m| serde_json::json!({"name": m.name, "description": m.description}))
                .collect();
            out_json(&serde_json::Value::Array(v))?;
        } else {
            let mut text = String::new();
            for m in MODELS {
                text.push_str(&format!("{:<16} {}\n", m.name, m.description));
            }
            gradscope_tool::console::out(&text)?;
        }
        return Ok(());
    }
    if args.describe {
        return describe(&args);
    }
    // A run that fails before its first checkpoint (the loss diverged at step 1) leaves
    // no empty run directory behind; one that fails later keeps what it wrote.
    let fresh = args.output.as_ref().filter(|o| !o.exists()).cloned();
    let result = train(args);
    if let (Err(_), Some(out)) = (&result, fresh) {
        let _ = std::fs::remove_dir(out.join("ckpt"));
        let _ = std::fs::remove_dir(&out);
    }
    result
}

/// `--describe`'s rows: one per parameter tensor of the model (name, shape, values, and
/// the offset of its first value in the flattened parameter vector). The text listing
/// shows the columns with a summary label; `--json`'s `parameters` carries every column,
/// the shape as an array.
pub fn tensors_report() -> Report<TensorLayout> {
    Report::new(vec![
        Column::str("name", |t: &TensorLayout| t.name.as_str())
            .summary("tensor")
            .json(),
        Column::string("shape", |t: &TensorLayout| format!("{:?}", t.shape))
            .summary("shape")
            .json_with(|t| serde_json::json!(t.shape)),
        Column::u64("numel", |t: &TensorLayout| t.numel as u64)
            .unit("parameters")
            .summary("count")
            .json(),
        Column::u64("offset", |t: &TensorLayout| t.offset as u64).json(),
    ])
}

/// The least width of each column of `--describe`'s listing (tensor, shape, count): the
/// listing's columns line up whatever the model, text left-aligned, counts right-aligned.
const DESCRIBE_WIDTHS: [usize; 3] = [28, 20, 12];

/// `--describe`'s listing: a header of the summary labels, one line per tensor, and a
/// `total` line with the parameter count.
fn describe_listing(
    report: &Report<TensorLayout>,
    layout: &[TensorLayout],
    total: usize,
) -> String {
    let shown: Vec<&Column<TensorLayout>> = report
        .columns
        .iter()
        .filter(|c| c.summary.is_some())
        .collect();
    let line = |cells: &[(String, bool)]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(DESCRIBE_WIDTHS)
            .map(|((text, right), w)| {
                if *right {
                    format!("{text:>w$}")
                } else {
                    format!("{text:<w$}")
                }
            })
            .collect();
        format!("{}\n", parts.join(" "))
    };
    let mut text = line(
        &shown
            .iter()
            .map(|c| {
                (
                    c.summary.unwrap_or_default().to_string(),
                    matches!(c.value, Value::U64(_)),
                )
            })
            .collect::<Vec<_>>(),
    );
    for t in layout {
        let cells: Vec<(String, bool)> = shown
            .iter()
            .map(|c| match &c.value {
                Value::U64(f) => (f(t).to_string(), true),
                Value::F64(f) => (num(f(t)), true),
                Value::Str(f) => (f(t).to_string(), false),
                Value::String(f) => (f(t), false),
                Value::Bool(f) => (f(t).to_string(), false),
            })
            .collect();
        text.push_str(&line(&cells));
    }
    text.push_str(&line(&[
        ("total".into(), false),
        (String::new(), false),
        (total.to_string(), true),
    ]));
    text
}

fn describe(args: &Args) -> Result<()> {
    let name = args.model.as_deref().context("--model is required")?;
    init_torch(args.threads.count, args.seed);
    let spec = args.data.spec()?;
    let model = Model::new(name, &spec, Device::Cpu)?;
    let layout = model.store.layout();
    let total = model.store.numel();
    let report = tensors_report();
    if args.json {
        let v = serde_json::json!({
            "model": name, "dataset": args.data.dataset(),
            "input": [spec.channels, spec.height, spec.width], "classes": spec.classes,
            "parameters": report.json(&layout), "total": total,
            "buffers": model.store.buffers().iter().map(|b| serde_json::json!({"name": b.name, "shape": b.tensor.size()})).collect::<Vec<_>>(),
        });
        out_json(&v)?;
    } else {
        let mut text = format!(
            "{name} on {}x{}x{} inputs, {} classes\n",
            spec.channels, spec.height, spec.width, spec.classes
        );
        text.push_str(&describe_listing(&report, &layout, total));
        gradscope_tool::console::out(&text)?;
    }
    Ok(())
}

/// Epochs whose end gets a checkpoint.
fn checkpoint_epochs(args: &Args) -> Vec<usize> {
    let mut e: Vec<usize> = args.checkpoint_epochs.clone();
    if args.checkpoint_log > 0 && args.epochs > 0 {
        e.push(0);
        let k = args.checkpoint_log;
        for i in 0..k {
            let x = if k == 1 {
                args.epochs as f64
            } else {
                (args.epochs as f64).powf(i as f64 / (k - 1) as f64)
            };
            e.push(x.round() as usize);
        }
    }
    e.sort_unstable();
    e.dedup();
    e
}

fn parse_window(s: &str) -> Result<(usize, usize)> {
    let (a, b) = s
        .split_once("..")
        .with_context(|| format!("--checkpoint-steps {s}: expected A..B"))?;
    let a: usize = a
        .trim()
        .parse()
        .with_context(|| format!("--checkpoint-steps {s}: bad start"))?;
    let b: usize = b
        .trim()
        .parse()
        .with_context(|| format!("--checkpoint-steps {s}: bad end"))?;
    if a == 0 || b < a {
        bail!("--checkpoint-steps {s}: need 1 <= A <= B");
    }
    Ok((a, b))
}

/// Mean loss and accuracy over a split in evaluation mode, in chunks of 1,000.
pub fn evaluate(model: &Model, split: &Split, device: Device) -> Result<(f64, f64)> {
    evaluate_first(model, split, 0, device)
}

/// [`evaluate`] on the first `limit` examples of `split` (0: all).
fn evaluate_first(
    model: &Model,
    split: &Split,
    limit: usize,
    device: Device,
) -> Result<(f64, f64)> {
    let n = match limit {
        0 => split.len(),
        l => l.min(split.len()),
    };
    let (mut loss, mut correct) = (0.0, 0.0);
    tch::no_grad(|| -> Result<()> {
        for s in (0..n).step_by(1000) {
            let idx: Vec<i64> = (s as i64..(s + 1000).min(n) as i64).collect();
            let (x, y) = split.batch(&idx, device)?;
            let (l, logits) = model.loss(&x, &y, false)?;
            loss += l.f_double_value(&[])? * idx.len() as f64;
            correct += logits
                .f_argmax(1, false)?
                .f_eq_tensor(&y)?
                .f_sum(Kind::Int64)?
                .f_int64_value(&[])? as f64;
        }
        Ok(())
    })?;
    Ok((loss / n.max(1) as f64, correct / n.max(1) as f64))
}

/// One sharpness measurement after `step` steps.
fn measure_sharpness(
    tracker: &mut SharpnessTracker,
    trainer: &Trainer,
    step: u64,
    per_epoch: u64,
    lr: f64,
) -> Result<SharpnessRow> {
    let p = tracker.measure(&trainer.model)?;
    Ok(SharpnessRow {
        step,
        epoch: step as f64 / per_epoch.max(1) as f64,
        lr,
        sharpness: p.lambda_max,
        residual: p.residual,
        products: p.products as u64,
        converged: p.converged,
        subset_loss: p.loss,
    })
}

/// sharpness.parquet's columns: one row per measurement, `step` to join metrics.parquet.
/// sharpness is the top eigenvalue of the subset loss's Hessian (nats per squared
/// parameter unit), comparable with 2/lr, the edge of stability of gradient descent
/// (Cohen et al. 2021).
pub fn sharpness_report() -> Report<SharpnessRow> {
    Report::new(vec![
        Column::u64("step", |r: &SharpnessRow| r.step),
        Column::f64("epoch", |r: &SharpnessRow| r.epoch),
        Column::f64("lr", |r: &SharpnessRow| r.lr),
        Column::f64("two_over_lr", |r: &SharpnessRow| 2.0 / r.lr),
        Column::f64("sharpness", |r: &SharpnessRow| r.sharpness),
        Column::f64("residual", |r: &SharpnessRow| r.residual),
        Column::u64("products", |r: &SharpnessRow| r.products),
        Column::bool("converged", |r: &SharpnessRow| r.converged),
        Column::f64("subset_loss", |r: &SharpnessRow| r.subset_loss).unit("nats"),
    ])
}

/// metrics.parquet's columns, and the line each epoch writes to stderr (the columns with
/// a label). Losses are mean cross-entropies (nats); the training ones are means over the
/// epoch's minibatches as SGD saw them, the validation ones over the evaluation split.
pub fn metrics_report() -> Report<EpochRow> {
    Report::new(vec![
        Column::u64("epoch", |r: &EpochRow| r.epoch).summary("epoch"),
        Column::u64("step", |r: &EpochRow| r.step).summary("step"),
        Column::f64("lr", |r: &EpochRow| r.lr).summary("lr"),
        Column::f64("train_loss", |r: &EpochRow| r.train_loss)
            .unit("nats")
            .summary("train loss"),
        Column::f64("train_acc", |r: &EpochRow| r.train_acc).summary("train acc"),
        Column::f64("val_loss", |r: &EpochRow| r.val_loss)
            .unit("nats")
            .summary("val loss"),
        Column::f64("val_acc", |r: &EpochRow| r.val_acc).summary("val acc"),
        Column::f64("wall_s", |r: &EpochRow| r.wall_s).unit("seconds"),
    ])
}

fn write_sharpness(dir: &Path, rows: &[SharpnessRow], meta: &Provenance) -> Result<()> {
    write_table(
        &dir.join("sharpness.parquet"),
        &sharpness_report().table(rows)?,
        meta,
    )
}

/// subset_loss.parquet's columns: one row per `--loss-every` measurement, `step` to join
/// metrics.parquet.
pub fn subset_loss_report() -> Report<SubsetLossRow> {
    Report::new(vec![
        Column::u64("step", |r: &SubsetLossRow| r.step),
        Column::f64("epoch", |r: &SubsetLossRow| r.epoch),
        Column::u64("examples", |r: &SubsetLossRow| r.examples),
        Column::f64("subset_loss", |r: &SubsetLossRow| r.loss).unit("nats"),
        Column::f64("subset_acc", |r: &SubsetLossRow| r.acc),
    ])
}

fn write_subset_loss(dir: &Path, rows: &[SubsetLossRow], meta: &Provenance) -> Result<()> {
    write_table(
        &dir.join("subset_loss.parquet"),
        &subset_loss_report().table(rows)?,
        meta,
    )
}

/// The subset loss after `step` steps, into `state` unless measured there already.
/// Returns the row at `step` when it ends the run: at or below `target`, or not finite.
fn track_subset_loss(
    tracker: &SubsetLoss,
    trainer: &Trainer,
    state: &mut RunState,
    (per_epoch, examples_per_epoch): (u64, u64),
    target: Option<f64>,
    device: Device,
) -> Result<Option<SubsetLossRow>> {
    let step = state.step;
    if state.subset_loss.last().is_none_or(|r| r.step < step) {
        let (loss, acc) = tracker.measure(&trainer.model, device)?;
        // Every minibatch but an epoch's last is full, so the examples of the steps
        // taken are the whole epochs' plus B per step of the current one.
        let examples =
            (step / per_epoch) * examples_per_epoch + (step % per_epoch) * state.batch_size as u64;
        state.subset_loss.push(SubsetLossRow {
            step,
            epoch: step as f64 / per_epoch as f64,
            examples,
            loss,
            acc,
        });
    }
    let last = state.subset_loss.last().expect("pushed above");
    Ok(match target {
        Some(t) if last.step == step && (last.loss <= t || !last.loss.is_finite()) => {
            Some(last.clone())
        }
        _ => None,
    })
}

/// With --target-loss: the checkpoint where the target was reached and a line saying
/// where (or that it was not).
fn report_target(
    stopped: &Option<SubsetLossRow>,
    state: &RunState,
    target: Option<f64>,
    ckpt_dir: &Path,
    trainer: &Trainer,
) -> Result<()> {
    let Some(target) = target else {
        return Ok(());
    };
    match stopped {
        Some(r) if r.loss.is_finite() => {
            let path = ckpt_dir.join("target.safetensors");
            trainer.save(state, &path)?;
            errln!(
                "train: target loss {target} reached at step {} ({} examples, {:.3} epochs): subset loss {:.4} -> {}",
                r.step, r.examples, r.epoch, r.loss, path.display()
            );
        }
        Some(r) => errln!(
            "train: diverged: subset loss {} at step {}, stopped before target loss {target}",
            r.loss,
            r.step
        ),
        None => errln!(
            "train: target loss {target} not reached in {} steps (subset loss {:.4} at step {})",
            state.step,
            state.subset_loss.last().map_or(f64::NAN, |r| r.loss),
            state.subset_loss.last().map_or(0, |r| r.step)
        ),
    }
    Ok(())
}

fn write_metrics(dir: &Path, rows: &[EpochRow], meta: &Provenance) -> Result<()> {
    write_table(
        &dir.join("metrics.parquet"),
        &metrics_report().table(rows)?,
        meta,
    )
}

impl Args {
    /// The optimisation settings these flags ask for (stored in every checkpoint).
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            optimizer: match self.optimizer {
                Opt::Sgd => OptimizerName::Sgd,
                Opt::Momentum => OptimizerName::Momentum,
                Opt::Adam => OptimizerName::Adam,
            },
            lr: self.lr,
            momentum: self.momentum.unwrap_or(DEFAULT_MOMENTUM),
            weight_decay: self.weight_decay,
            lr_decay_at: self.lr_decay_at.clone(),
            lr_decay: self.lr_decay,
            epochs: self.epochs,
            clip_grad_norm: self.clip_grad_norm,
            augment: self.augment,
        }
    }
}

fn train(args: Args) -> Result<()> {
    let Some(out) = args.output.clone() else {
        usage_bail!("--output is required");
    };
    if args.batch_size == 0 {
        usage_bail!("--batch-size must be at least 1");
    }
    // A negative --lr climbed the loss until it overflowed; none of these is a training.
    let checks = [
        ("--lr", args.lr, args.lr > 0.0, "positive"),
        (
            "--momentum",
            args.momentum.unwrap_or(DEFAULT_MOMENTUM),
            args.momentum.is_none_or(|m| (0.0..1.0).contains(&m)),
            "from 0 to below 1",
        ),
        (
            "--weight-decay",
            args.weight_decay,
            args.weight_decay >= 0.0,
            "at least 0",
        ),
        ("--lr-decay", args.lr_decay, args.lr_decay > 0.0, "positive"),
        (
            "--clip-grad-norm",
            args.clip_grad_norm.unwrap_or(1.0),
            args.clip_grad_norm.is_none_or(|c| c > 0.0),
            "positive",
        ),
    ];
    for (flag, value, ok, what) in checks {
        if !(value.is_finite() && ok) {
            usage_bail!("{flag} {value}: must be finite and {what}");
        }
    }
    if let Some(e) = args
        .lr_decay_at
        .iter()
        .find(|e| !(e.is_finite() && **e > 0.0))
    {
        usage_bail!("--lr-decay-at {e}: an epoch, or a fraction of --epochs, must be positive");
    }
    if let Some(l) = args
        .subset_loss
        .target_loss
        .filter(|l| !(l.is_finite() && *l >= 0.0))
    {
        usage_bail!("--target-loss {l}: a loss is finite and at least 0");
    }
    if args.momentum.is_some() && args.optimizer != Opt::Momentum {
        let name = format!("{:?}", args.optimizer).to_lowercase();
        usage_bail!(
            "--momentum applies to --optimizer momentum; --optimizer {name} would ignore it"
        );
    }
    if args.epochs == 0 && !checkpoint_epochs(&args).contains(&0) {
        usage_bail!("--epochs 0 trains nothing (with --checkpoint-epochs 0 it writes the initial parameters only)");
    }
    // Epochs the run never reaches would be silently without their checkpoint or decay.
    if let Some(e) = args.checkpoint_epochs.iter().find(|&&e| e > args.epochs) {
        usage_bail!(
            "--checkpoint-epochs {e} is past --epochs {}: that checkpoint would never be written",
            args.epochs
        );
    }
    if let Some(e) = args
        .lr_decay_at
        .iter()
        .find(|&&e| e >= 1.0 && e > args.epochs as f64)
    {
        usage_bail!(
            "--lr-decay-at {e} is past --epochs {}: that step would never be taken",
            args.epochs
        );
    }
    args.data.check_seed_used().map_err(usage_error)?;
    // The trackers' settings, by their own checks, before any data is loaded.
    if args.sharpness.sharpness_every.is_some() {
        let sh = &args.sharpness;
        SharpnessTracker::check_settings(
            sh.sharpness_samples,
            sh.sharpness_tol,
            sh.sharpness_max_iter,
        )
        .map_err(usage_error)?;
    }
    if args.subset_loss.loss_every.is_some() {
        SubsetLoss::check_samples(args.subset_loss.loss_samples).map_err(usage_error)?;
    }
    let device = parse_device(&args.device.name)?;
    let window = args
        .checkpoint_steps
        .as_deref()
        .map(|s| parse_window(s).map_err(usage_error))
        .transpose()?;
    let resume = match (&args.resume_from, args.fresh) {
        (Some(p), _) => Some(p.clone()),
        (None, false) if out.join("ckpt/last.safetensors").is_file() => {
            Some(out.join("ckpt/last.safetensors"))
        }
        _ => None,
    };
    let loaded = resume.as_ref().map(|p| read_checkpoint(p)).transpose()?;
    let prior: Option<&RunState> = loaded.as_ref().map(|(_, s)| s);
    // What to do about a checkpoint that does not fit: --resume-from was chosen, so
    // --fresh is no way out there.
    let way_out = if args.resume_from.is_some() {
        "another --resume-from, or none"
    } else {
        "--fresh or another --output"
    };
    let model_name = match (&args.model, prior) {
        (Some(m), Some(p)) if *m != p.model => bail!(
            "--model {m}, but {} holds a {} (use {way_out})",
            resume.unwrap().display(),
            p.model
        ),
        (Some(m), _) => m.clone(),
        (None, Some(p)) => p.model.clone(),
        (None, None) => usage_bail!("--model is required"),
    };
    if let Some(p) = prior {
        // The recorded preprocessing, where there is one, also holds the data seed.
        let same_data = match &p.preprocess {
            Some(pre) => {
                p.dataset == args.data.dataset() && same_data(pre, &args.data.preprocess())
            }
            None => p.data == args.data.describe(),
        };
        if !same_data || p.seed != args.seed || p.batch_size != args.batch_size {
            bail!(
                "{} was written by a run on {} with seed {} and batch size {}; this one asks for {} with seed {} and batch size {} (use the same settings, {way_out})",
                resume.unwrap().display(), p.data, p.seed, p.batch_size, args.data.describe(), args.seed, args.batch_size
            );
        }
    }

    init_torch(args.threads.count, args.seed);
    let data = args.data.load()?;
    let spec = args.data.spec()?;
    let model = Model::new(&model_name, &spec, device)?;
    let config = args.config();
    let n = data.train.len();
    if args.batch_size > n {
        bail!(
            "--batch-size {} exceeds the {n} training examples of {}",
            args.batch_size,
            args.data.describe()
        );
    }
    let mut trainer = Trainer::new(model, config.clone(), args.seed, args.batch_size, n, device);
    let mut state = RunState {
        model: model_name.clone(),
        dataset: args.data.dataset().to_string(),
        data: args.data.describe(),
        seed: args.seed,
        batch_size: args.batch_size,
        step: 0,
        optimizer_t: 0,
        loss_sum: 0.0,
        correct: 0.0,
        seen: 0.0,
        wall_s: 0.0,
        metrics: Vec::new(),
        config: Some(config.clone()),
        preprocess: Some(args.data.preprocess()),
        sharpness: Vec::new(),
        subset_loss: Vec::new(),
    };
    if let Some((tensors, p)) = loaded {
        let what = format!("checkpoint {}", resume.as_ref().unwrap().display());
        trainer.load(&tensors, p.optimizer_t, &what)?;
        state = p;
        // this run's settings are the ones its next checkpoints record
        state.config = Some(config);
        state.preprocess = Some(args.data.preprocess());
        errln!(
            "train: resuming from {} at step {}",
            resume.as_ref().unwrap().display(),
            state.step
        );
    }

    let prior_step = state.step;
    let per_epoch = trainer.batches_per_epoch();
    let total_steps = per_epoch * args.epochs as u64;
    let ckpt_epochs = checkpoint_epochs(&args);
    // The trackers check their settings before the run directory exists, so that a
    // bad one leaves nothing behind.
    let mut tracker = match args.sharpness.sharpness_every {
        Some(_) => Some(SharpnessTracker::new(
            &data.train,
            args.sharpness.sharpness_samples,
            args.sharpness.sharpness_tol,
            args.sharpness.sharpness_max_iter,
            args.seed,
        )?),
        None => None,
    };
    let loss_tracker = match args.subset_loss.loss_every {
        Some(_) => Some(SubsetLoss::new(
            &data.train,
            args.subset_loss.loss_samples,
            args.seed,
        )?),
        None => None,
    };
    let ckpt_dir = out.join("ckpt");
    std::fs::create_dir_all(&ckpt_dir)
        .with_context(|| format!("cannot create {}", ckpt_dir.display()))?;
    let mut meta = Provenance::new("train-metrics", &tool_name("train"));
    meta.model = Some(model_name.clone());
    meta.dataset = Some(args.data.describe());
    meta.seed = Some(args.seed);
    meta.batch_size = Some(args.batch_size as u64);
    meta.sampling = Some("epoch".into());
    meta.layout = trainer.model.store.layout();
    meta.extra.insert(
        "optimizer".into(),
        format!("{:?}", args.optimizer).to_lowercase().into(),
    );
    meta.extra.insert("lr".into(), args.lr.into());
    meta.extra
        .insert("device".into(), device_name(device).into());
    meta.extra.insert(
        "eval_split".into(),
        (if data.val.is_some() { "val" } else { "test" }).into(),
    );

    if state.step == 0 && ckpt_epochs.contains(&0) {
        trainer.save(&state, &ckpt_dir.join("epoch-000.safetensors"))?;
    }
    let sharpness_meta = {
        let mut m = meta.clone();
        m.kind = "train-sharpness".into();
        if let Some(t) = &tracker {
            m.extra
                .insert("sharpness_samples".into(), t.examples().into());
        }
        m
    };
    let subset_meta = {
        let mut m = meta.clone();
        m.kind = "train-subset-loss".into();
        if let Some(t) = &loss_tracker {
            m.extra.insert("loss_samples".into(), t.examples().into());
        }
        if let Some(t) = args.subset_loss.target_loss {
            m.extra.insert("target_loss".into(), t.into());
        }
        m
    };
    let loss_schedule = (per_epoch.max(1), n as u64);
    let mut stopped: Option<SubsetLossRow> = None;
    let bar = progress(Some(total_steps), "train");
    bar.set_position(state.step.min(total_steps));
    let mut clock = Instant::now();
    let eval_split = data.val.as_ref().unwrap_or(&data.test);
    while state.step < total_steps {
        if let (Some(t), Some(k)) = (&loss_tracker, args.subset_loss.loss_every) {
            if state.step % k == 0 {
                let target = args.subset_loss.target_loss;
                stopped =
                    track_subset_loss(t, &trainer, &mut state, loss_schedule, target, device)?;
                if stopped.is_some() {
                    break;
                }
            }
        }
        if let (Some(t), Some(k)) = (tracker.as_mut(), args.sharpness.sharpness_every) {
            if state.step % k == 0 && state.sharpness.last().is_none_or(|r| r.step < state.step) {
                let epoch = (state.step / per_epoch) as usize;
                let lr = trainer.config.lr_at(epoch);
                let row = measure_sharpness(t, &trainer, state.step, per_epoch, lr)?;
                state.sharpness.push(row);
            }
        }
        let done = trainer.step(&data.train, state.step)?;
        let epoch = done.epoch; // 0-based epoch being trained
        let b = done.examples as f64;
        state.loss_sum += done.loss * b;
        state.correct += done.correct;
        state.seen += b;
        state.step += 1;
        state.optimizer_t = trainer.opt.t;
        bar.inc(1);
        if let Some((a, bnd)) = window {
            if epoch + 1 >= a && epoch < bnd {
                state.wall_s += clock.elapsed().as_secs_f64();
                clock = Instant::now();
                trainer.save(
                    &state,
                    &ckpt_dir.join(format!("step-{:07}.safetensors", state.step)),
                )?;
            }
        }
        if state.step % per_epoch == 0 {
            let (val_loss, val_acc) =
                evaluate_first(&trainer.model, eval_split, args.eval_samples, device)?;
            state.wall_s += clock.elapsed().as_secs_f64();
            clock = Instant::now();
            let row = EpochRow {
                epoch: (epoch + 1) as u64,
                step: state.step,
                lr: done.lr,
                train_loss: state.loss_sum / state.seen.max(1.0),
                train_acc: state.correct / state.seen.max(1.0),
                val_loss,
                val_acc,
                wall_s: state.wall_s,
            };
            bar.suspend(|| errln!("{}", metrics_report().line(&row)));
            state.metrics.push(row);
            state.loss_sum = 0.0;
            state.correct = 0.0;
            state.seen = 0.0;
            write_metrics(&out, &state.metrics, &meta)?;
            if tracker.is_some() {
                write_sharpness(&out, &state.sharpness, &sharpness_meta)?;
            }
            if loss_tracker.is_some() {
                write_subset_loss(&out, &state.subset_loss, &subset_meta)?;
            }
            if ckpt_epochs.contains(&(epoch + 1)) {
                trainer.save(
                    &state,
                    &ckpt_dir.join(format!("epoch-{:03}.safetensors", epoch + 1)),
                )?;
            }
            trainer.save(&state, &ckpt_dir.join("last.safetensors"))?;
        }
    }
    bar.finish_and_clear();
    if let (Some(t), Some(k)) = (&loss_tracker, args.subset_loss.loss_every) {
        // The subset loss after the last step, when it falls on the schedule.
        if stopped.is_none() && state.step % k == 0 {
            let target = args.subset_loss.target_loss;
            stopped = track_subset_loss(t, &trainer, &mut state, loss_schedule, target, device)?;
        }
        state.wall_s += clock.elapsed().as_secs_f64();
        write_subset_loss(&out, &state.subset_loss, &subset_meta)?;
        trainer.save(&state, &ckpt_dir.join("last.safetensors"))?;
        report_target(
            &stopped,
            &state,
            args.subset_loss.target_loss,
            &ckpt_dir,
            &trainer,
        )?;
    }
    // The sharpness after the last step, when it falls on the schedule.
    if let (Some(t), Some(k)) = (tracker.as_mut(), args.sharpness.sharpness_every) {
        if state.step % k == 0 && state.sharpness.last().is_none_or(|r| r.step < state.step) {
            let epoch = (state.step / per_epoch) as usize;
            let lr = trainer.config.lr_at(epoch);
            let row = measure_sharpness(t, &trainer, state.step, per_epoch, lr)?;
            state.sharpness.push(row);
            write_sharpness(&out, &state.sharpness, &sharpness_meta)?;
            trainer.save(&state, &ckpt_dir.join("last.safetensors"))?;
        }
        if let Some(r) = state.sharpness.last() {
            errln!(
                "train: sharpness {:.4} at step {} (2/lr = {:.4}), {} measurements -> {}",
                r.sharpness,
                r.step,
                2.0 / r.lr,
                state.sharpness.len(),
                out.join("sharpness.parquet").display()
            );
            let unconverged = state.sharpness.iter().filter(|r| !r.converged).count();
            if unconverged > 0 {
                errln!(
                    "note: {unconverged} of {} sharpness measurements did not converge within --sharpness-max-iter {} (their converged column is false: raise it or --sharpness-tol)",
                    state.sharpness.len(),
                    args.sharpness.sharpness_max_iter
                );
            }
        }
    }
    if total_steps == 0 {
        errln!(
            "train: --epochs 0: wrote the initial parameters to {}, trained nothing",
            ckpt_dir.join("epoch-000.safetensors").display()
        );
    } else if state.step == prior_step {
        errln!(
            "train: {} is already at step {} of {total_steps}: nothing to train (raise --epochs to continue)",
            out.display(),
            state.step
        );
    }
    if let Some(last) = state.metrics.last() {
        errln!(
            "train: {} epochs, {} steps, final train acc {:.4}, val acc {:.4}, {:.1} s -> {}",
            last.epoch,
            last.step,
            last.train_acc,
            last.val_acc,
            last.wall_s,
            out.display()
        );
    }
    Ok(())
}
