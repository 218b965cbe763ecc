//! `interp-loss`: replays SGD from a `train` checkpoint and, at every step of a window,
//! evaluates the training loss on the straight line between the parameters before and
//! after the update (the walk study, "A walk with SGD", sections 2 and 3, Figure 1,
//! Table 1 and Figure 4).
//!
//! The replay takes exactly the steps `train` took (same minibatch order, augmentation,
//! learning-rate schedule and optimiser state: `gradscope_torch::trainer`), reading every
//! setting from the checkpoint. At each update t -> t+1 in the window the model is set to
//! theta(alpha) = theta_t + alpha (theta_{t+1} - theta_t) for alpha = 0, 1/(k+1), ...,
//! 1 (k interior points, default 10, as the study) and the mean cross-entropy and accuracy
//! are evaluated on the whole training split or a fixed seeded subset of it
//! (`--eval-samples`), BatchNorm in evaluation mode with its buffers interpolated too. The
//! evaluation set is moved to the device once and evaluated in chunks of `--eval-batch`;
//! the loss at theta_{t+1} is reused as the next interpolation's start, so a step costs
//! k + 1 evaluations. Afterwards the parameters are restored bit for bit and training
//! continues.
//!
//! Models whose first layer is affine in its own parameters and reads the input alone
//! (the fully connected ones: `mlp`, `fnn`, `dfnn`, `fcn`) skip that layer at interior
//! points: its output on the line is exactly z_t + alpha (z_{t+1} - z_t), so each update
//! computes it twice, at theta_t and theta_{t+1}, instead of k + 1 times (the first layer
//! of the walk MLP is 60% of its multiply-adds). The ends are full forward passes, bit for
//! bit; interior losses differ from a full pass at the interpolated parameters by float
//! rounding only (relative 1e-6 or less in f32). The first-layer outputs are kept when
//! they fit in [`FIRST_LAYER_BYTES`] (two sets); `--full-forward` turns this off.
//!
//! From each interpolation (`gradscope_stats::barrier`): the valley floor (minimum) and
//! where it lies, whether a barrier is crossed (an interior loss above both ends, the
//! study's definition; `--barrier-tol` adds a margin), the barrier height of Figure 4's
//! caption, (L_t + L_{t+1} - 2 L_min) / 2, and section 3's "moved over a barrier" events
//! (the floor rising from one step to the next).
//!
//! Outputs (each by its extension: .parquet, .csv, .json):
//! - `-o`: one row per point: `step, alpha, loss, accuracy`;
//! - `--steps-output`: one row per update: `step, epoch, lr, batch_loss, loss_start,
//!   loss_end, loss_min, alpha_min, loss_max, alpha_max, barrier, barrier_height,
//!   moved_over`;
//! - `--epochs-output`: one row per epoch of the window: barrier counts (Table 1, Figure 4)
//!   and floor statistics.
//!
//! The module's parts: [`replay`] (the replay and the interpolations: the measurement),
//! [`epochs`] (the per-epoch barrier counts), [`report`] (the three tables' columns,
//! described once), [`figure`] (Figure 1).
//!
//! `step` is the number of updates taken after the one interpolated (the update from
//! theta_t to theta_{t+1} has step t+1), as in `train`'s metrics.parquet, so the tables
//! join with it on `step` (its rows are the last updates of each epoch) and `epoch` is
//! 1-based as there.

pub mod epochs;
pub mod figure;
pub mod replay;
pub mod report;

use crate::checkpoint_run::CheckpointRun;
use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_io::Provenance;
use gradscope_stats::barrier;
use gradscope_tool::args::{
    check_outputs, png_path, table_path, Device as DeviceArg, Json, TorchThreads,
};
use gradscope_tool::{errln, tool_name, usage_bail, usage_error, OutputSet};
use gradscope_torch::device::{device_name, parse_device};
use gradscope_torch::point::EvalSet;
use gradscope_torch::trainer::Replay;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

pub use replay::FIRST_LAYER_BYTES;

/// Replays SGD from a checkpoint and interpolates the training loss between iterates.
#[derive(Debug, Parser)]
#[command(name = "interp-loss", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// `train` checkpoint to replay from (.safetensors); the model, data, batch size,
    /// optimiser and schedule are read from it.
    #[arg(long)]
    pub checkpoint: PathBuf,

    /// Interpolate the updates of these epochs (1-based, comma-separated; `A..B` for a
    /// range, e.g. 1,10,25). The replay runs through the epochs in between without
    /// evaluating. Default: --steps updates from the checkpoint.
    #[arg(long, value_delimiter = ',')]
    pub epochs: Vec<String>,

    /// Without --epochs: interpolate this many updates from the checkpoint's step
    /// (default: one epoch's worth; 1 to 10,000,000).
    #[arg(long, conflicts_with = "epochs", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub steps: Option<u64>,

    /// Interior interpolation points per update (the two ends are added): alpha = i/(k+1).
    /// At most 100,000.
    #[arg(short = 'k', long, default_value_t = 10, value_parser = gradscope_tool::args::count(0..=100_000))]
    pub points: usize,

    /// Evaluate on this many training examples drawn once with --eval-seed (0: the whole
    /// training split).
    #[arg(long, default_value_t = 0)]
    pub eval_samples: usize,

    /// Seed of the --eval-samples subset.
    #[arg(long, default_value_t = 0, requires = "eval_samples")]
    pub eval_seed: u64,

    /// Examples per forward pass when evaluating (larger is faster while memory lasts).
    #[arg(long, default_value_t = 10_000)]
    pub eval_batch: usize,

    /// Evaluate every interior point by a full forward pass at the interpolated
    /// parameters, even where the first layer's output could be interpolated instead.
    #[arg(long)]
    pub full_forward: bool,

    /// A barrier needs an interior loss above both ends by more than this (nats; 0: the
    /// study's strict definition).
    #[arg(long, default_value_t = 0.0)]
    pub barrier_tol: f64,

    /// Per-point table: step, alpha, loss, accuracy (.parquet, .csv, .json; `-` for CSV on
    /// stdout).
    #[arg(short, long, value_parser = table_path)]
    pub output: PathBuf,

    /// Per-update table (floor, barrier, height, moved-over events).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub steps_output: Option<PathBuf>,

    /// Per-epoch table (barrier counts as the study's Table 1 and Figure 4).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub epochs_output: Option<PathBuf>,

    /// Draw the study's Figure 1 (loss and accuracy against iteration, the interpolations
    /// between iterates and the valley floor) for the first --plot-steps updates.
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// Updates shown by --plot (the study shows 40).
    #[arg(long, default_value_t = 40, requires = "plot")]
    pub plot_steps: usize,

    /// Write a checkpoint after the last replayed update (to continue the run, or to check
    /// that the replay reproduces `train`).
    #[arg(long, value_name = "FILE.safetensors", value_parser = safetensors_path)]
    pub final_checkpoint: Option<PathBuf>,

    /// Directory holding the dataset files (before data/raw and $GRADSCOPE_DATA_MIRROR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub device: DeviceArg,

    // Replays are bit for bit only with the thread count `train` used.
    #[command(flatten)]
    pub threads: TorchThreads,

    #[command(flatten)]
    pub json: Json,
}

/// The value parser of a checkpoint to write: a `.safetensors` file, as `train` writes.
fn safetensors_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(format!("{s}: a checkpoint is a .safetensors file"));
    }
    Ok(p)
}

/// The last epoch `--epochs` may name (a range up to 2^64 was collected element by element).
const MAX_EPOCH: u64 = 1_000_000;

/// Parses `1,10,25` / `3..5` into 1-based epochs.
fn parse_epochs(list: &[String]) -> Result<BTreeSet<u64>> {
    let mut out = BTreeSet::new();
    for s in list {
        let bad = || format!("--epochs {s}: expected an epoch (1-based) or a range A..B");
        if let Some((a, b)) = s.split_once("..") {
            let a: u64 = a.trim().parse().with_context(bad)?;
            let b: u64 = b.trim().parse().with_context(bad)?;
            if a == 0 || b < a {
                bail!("--epochs {s}: need 1 <= A <= B");
            }
            if b > MAX_EPOCH {
                bail!("--epochs {s}: epochs go up to {MAX_EPOCH}");
            }
            out.extend(a..=b);
        } else {
            let e: u64 = s.trim().parse().with_context(bad)?;
            if e == 0 {
                bail!("--epochs {s}: epochs are 1-based");
            }
            if e > MAX_EPOCH {
                bail!("--epochs {s}: epochs go up to {MAX_EPOCH}");
            }
            out.insert(e);
        }
    }
    Ok(out)
}

/// What `run` decided and opened before replaying: the replay at the checkpoint, the
/// 0-based updates to interpolate, the evaluation set and the alphas.
pub struct Plan {
    pub device: tch::Device,
    pub replay: Replay,
    /// The checkpoint's step (the first update replayed).
    pub start: u64,
    pub window: BTreeSet<u64>,
    pub eval: EvalSet,
    pub alphas: Vec<f64>,
}

/// Every check of the arguments, then the checkpoint and the data opened and the window
/// chosen.
fn plan(args: &Args) -> Result<Plan> {
    check_outputs(
        args.json.enabled,
        [args.checkpoint.as_path()],
        [
            Some(args.output.as_path()),
            args.steps_output.as_deref(),
            args.epochs_output.as_deref(),
            args.plot.as_deref(),
            args.final_checkpoint.as_deref(),
        ],
    )?;
    if args.eval_batch == 0 {
        usage_bail!("--eval-batch must be at least 1");
    }
    if args.points == 0 {
        // With the two ends only, no loss lies between them: no barrier could be seen.
        usage_bail!("-k 0: at least one interior point is needed to see a barrier");
    }
    if args.plot.is_some() && args.plot_steps == 0 {
        usage_bail!("--plot-steps 0: the figure needs at least one update");
    }
    if args.barrier_tol.is_nan() || args.barrier_tol < 0.0 {
        usage_bail!("--barrier-tol must be >= 0");
    }
    let device = parse_device(&args.device.name)?;
    let epochs = parse_epochs(&args.epochs).map_err(usage_error)?;
    let run = CheckpointRun::open(
        &args.checkpoint,
        args.data_dir.as_deref(),
        device,
        args.threads.count,
        0,
    )?;
    let replay = &run.replay;
    let per_epoch = replay.trainer.batches_per_epoch();
    let start = replay.state.step;
    // the 0-based updates to interpolate
    let window: BTreeSet<u64> = if epochs.is_empty() {
        let n = args.steps.unwrap_or(per_epoch);
        (start..start.saturating_add(n)).collect()
    } else {
        let first = *epochs.first().expect("non-empty");
        if (first - 1) * per_epoch < start {
            bail!(
                "--epochs {first}: epoch {first} begins at step {}, before checkpoint {}'s step {start} (replay from an earlier checkpoint, e.g. epoch-{:03}.safetensors)",
                (first - 1) * per_epoch,
                args.checkpoint.display(),
                first - 1
            );
        }
        epochs
            .iter()
            .flat_map(|e| (e - 1) * per_epoch..e * per_epoch)
            .collect()
    };
    let n = run.examples();
    let eval_idx = run
        .subset(args.eval_samples, args.eval_seed, 0)
        .with_context(|| {
            format!(
                "--eval-samples {} exceeds the {n} training examples of {}",
                args.eval_samples, replay.state.data
            )
        })?;
    let (ex, ey) = run.batch(&eval_idx)?;
    let eval = EvalSet::new(&ex, &ey, args.eval_batch, device)?;
    Ok(Plan {
        device,
        replay: run.replay,
        start,
        window,
        eval,
        alphas: barrier::alphas(args.points),
    })
}

/// Runs the tool: plan (every check, the checkpoint and data opened), measure (the
/// replay and interpolations; no output), emit.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let mut plan = plan(&args)?;
    let measured = replay::measure(&args, &mut plan)?;
    let secs = started.elapsed().as_secs_f64();
    emit(&args, &plan, &measured, secs)
}

/// The tables, the checkpoint, the plot, the summary and `--json`.
fn emit(args: &Args, plan: &Plan, m: &replay::Measured, secs: f64) -> Result<()> {
    let state = &m.state;
    let sums = epochs::summarise(&m.rows);
    let mut meta = Provenance::new("interp-loss", &tool_name("interp-loss"));
    meta.model = Some(state.model.clone());
    meta.dataset = Some(state.data.clone());
    meta.seed = Some(state.seed);
    meta.batch_size = Some(state.batch_size as u64);
    meta.sampling = Some("epoch".into());
    let extra = &mut meta.extra;
    extra.insert(
        "checkpoint".into(),
        args.checkpoint.display().to_string().into(),
    );
    extra.insert("checkpoint_step".into(), plan.start.into());
    extra.insert("points".into(), args.points.into());
    extra.insert("eval_examples".into(), plan.eval.len().into());
    extra.insert("eval_seed".into(), args.eval_seed.into());
    extra.insert("barrier_tol".into(), args.barrier_tol.into());
    extra.insert("batchnorm".into(), "eval".into());
    extra.insert("device".into(), device_name(plan.device).into());
    extra.insert("config".into(), serde_json::to_value(&state.config)?);

    let epochs_report = report::epochs();
    let mut outputs = OutputSet::new();
    if let Some(p) = &args.final_checkpoint {
        outputs.written(p, |f| plan.replay.trainer.save(state, f.path()))?;
    }
    if let Some(p) = &args.plot {
        outputs.drawn(p, |tmp| figure::plot(tmp, &m.rows, args.plot_steps))?;
    }
    if let Some(p) = &args.steps_output {
        outputs.table(p, &report::steps().table(&m.rows)?, &meta)?;
    }
    if let Some(p) = &args.epochs_output {
        outputs.table(p, &epochs_report.table(&sums)?, &meta)?;
    }
    let points = report::points_of(&m.rows);
    outputs.table(&args.output, &report::points().table(&points)?, &meta)?;

    let replayed = m.last + 1 - plan.start;
    gradscope_tool::console::err(&epochs_report.summary(&sums));
    errln!(
        "interp-loss: {} updates replayed, {} interpolated at {} points on {} examples ({} evaluations) in {secs:.1} s",
        replayed,
        m.rows.len(),
        plan.alphas.len(),
        plan.eval.len(),
        m.evaluations
    );
    if args.json.enabled {
        let v = serde_json::json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "checkpoint_step": plan.start,
            "updates_replayed": replayed,
            "updates_interpolated": m.rows.len(),
            "points": plan.alphas.len(),
            "eval_examples": plan.eval.len(),
            "evaluations": m.evaluations,
            "seconds": secs,
            "epochs": epochs_report.json(&sums),
        });
        outputs.json(&v)?;
    }
    outputs.commit()
}
