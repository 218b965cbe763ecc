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
//! `step` is the number of updates taken after the one interpolated (the update from
//! theta_t to theta_{t+1} has step t+1), as in `train`'s metrics.parquet, so the tables
//! join with it on `step` (its rows are the last updates of each epoch) and `epoch` is
//! 1-based as there.

use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_io::Provenance;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_stats::barrier::{self, Interpolation};
use gradscope_tool::args::{
    one_stdout, png_path, table_path, Device as DeviceArg, Json, TorchThreads,
};
use gradscope_tool::progress::progress;
use gradscope_tool::table_builder::TableBuilder;
use gradscope_tool::text_table::{num, print_table};
use gradscope_tool::{errln, tool_name, OutputSet};
use gradscope_torch::device::{device_name, init_torch, parse_device};
use gradscope_torch::point::{EvalSet, Point};
use gradscope_torch::trainer::replay_from;
use gradscope_torch::{datasets, sampler};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

/// Replays SGD from a checkpoint and interpolates the training loss between iterates.
#[derive(Debug, Parser)]
#[command(name = "interp-loss", version, about, long_about = None)]
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
    /// (default: one epoch's worth).
    #[arg(long, conflicts_with = "epochs")]
    pub steps: Option<u64>,

    /// Interior interpolation points per update (the two ends are added): alpha = i/(k+1).
    #[arg(short = 'k', long, default_value_t = 10)]
    pub points: usize,

    /// Evaluate on this many training examples drawn once with --eval-seed (0: the whole
    /// training split).
    #[arg(long, default_value_t = 0)]
    pub eval_samples: usize,

    /// Seed of the --eval-samples subset.
    #[arg(long, default_value_t = 0)]
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
    #[arg(long, default_value_t = 40)]
    pub plot_steps: usize,

    /// Write a checkpoint after the last replayed update (to continue the run, or to check
    /// that the replay reproduces `train`).
    #[arg(long, value_name = "FILE.safetensors")]
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
            out.extend(a..=b);
        } else {
            let e: u64 = s.trim().parse().with_context(bad)?;
            if e == 0 {
                bail!("--epochs {s}: epochs are 1-based");
            }
            out.insert(e);
        }
    }
    Ok(out)
}

/// One interpolated update.
struct StepRow {
    step: u64,
    epoch: u64,
    lr: f64,
    batch_loss: f64,
    interp: Interpolation,
    moved_over: bool,
    alphas: Vec<f64>,
    losses: Vec<f64>,
    accs: Vec<f64>,
}

/// The most memory the kept first-layer outputs may take (bytes; those at both ends of
/// an update). The walk MLP on 1,000 images needs 4 MB, on all 60,000 images 246 MB.
pub const FIRST_LAYER_BYTES: usize = 1 << 30;

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    one_stdout(
        args.json.enabled,
        [
            Some(args.output.as_path()),
            args.steps_output.as_deref(),
            args.epochs_output.as_deref(),
        ],
    )?;
    if args.eval_batch == 0 {
        bail!("--eval-batch must be at least 1");
    }
    if args.barrier_tol.is_nan() || args.barrier_tol < 0.0 {
        bail!("--barrier-tol must be >= 0");
    }
    let device = parse_device(&args.device.name)?;
    let epochs = parse_epochs(&args.epochs)?;
    init_torch(args.threads.count, 0);
    let dirs = datasets::search_dirs(args.data_dir.as_deref());
    let mut replay = replay_from(&args.checkpoint, &dirs, device)?;
    let per_epoch = replay.trainer.batches_per_epoch();
    let start = replay.state.step;
    // the 0-based updates to interpolate
    let window: BTreeSet<u64> = if epochs.is_empty() {
        let n = args.steps.unwrap_or(per_epoch);
        if n == 0 {
            bail!("--steps must be at least 1");
        }
        (start..start + n).collect()
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
    let last = *window.last().expect("non-empty window");

    let train = &replay.data.train;
    let n = train.len();
    let eval_idx: Vec<i64> = if args.eval_samples == 0 {
        (0..n as i64).collect()
    } else if args.eval_samples > n {
        bail!(
            "--eval-samples {} exceeds the {n} training examples of {}",
            args.eval_samples,
            replay.state.data
        );
    } else {
        sampler::independent(n, args.eval_samples, args.eval_seed, 0)
    };
    let (ex, ey) = train.batch(&eval_idx, tch::Device::Cpu)?;
    let eval = EvalSet::new(&ex, &ey, args.eval_batch, device)?;
    let alphas = barrier::alphas(args.points);

    let bar = progress(Some(last + 1 - start), "interp-loss");
    let mut rows: Vec<StepRow> = Vec::new();
    // Loss and accuracy at the model's current point, with the set's first-layer outputs
    // there where they can be interpolated (the numbers are a full pass's either way).
    let evaluate_point =
        |model: &gradscope_torch::models::Model| -> Result<(f64, f64, Option<Vec<tch::Tensor>>)> {
            if !args.full_forward {
                if let Some(z) = eval.first_outputs(model, FIRST_LAYER_BYTES / 2)? {
                    let (l, a) = eval.evaluate_after_first(model, &z)?;
                    return Ok((l, a, Some(z)));
                }
            }
            let (l, a) = eval.evaluate(model)?;
            Ok((l, a, None))
        };
    // (point, loss, accuracy, first-layer outputs) at theta_t when update t-1 was
    // interpolated
    let mut prev: Option<(Point, f64, f64, Option<Vec<tch::Tensor>>)> = None;
    let mut evaluations = 0u64;
    let mut state = replay.state.clone();
    for t in start..=last {
        let inside = window.contains(&t);
        let before = if inside {
            Some(match prev.take() {
                Some(p) => p,
                None => {
                    let model = &replay.trainer.model;
                    evaluations += 1;
                    let (l, a, z) = evaluate_point(model)?;
                    (Point::of(model)?, l, a, z)
                }
            })
        } else {
            prev = None;
            None
        };
        let done = replay.trainer.step(train, t)?;
        state.step = t + 1;
        state.optimizer_t = replay.trainer.opt.t;
        state.loss_sum += done.loss * done.examples as f64;
        state.correct += done.correct;
        state.seen += done.examples as f64;
        if state.step % per_epoch == 0 {
            state.loss_sum = 0.0;
            state.correct = 0.0;
            state.seen = 0.0;
        }
        bar.inc(1);
        let Some((p0, l0, a0, z0)) = before else {
            continue;
        };
        let model = &replay.trainer.model;
        let p1 = Point::of(model)?;
        // The end theta_{t+1} first: its first-layer outputs serve the interior points.
        let (l1, a1, z1) = evaluate_point(model)?;
        let mut losses = vec![l0];
        let mut accs = vec![a0];
        for &alpha in &alphas[1..alphas.len() - 1] {
            p0.interpolate(&p1, alpha, model)?;
            let (l, a) = match (&z0, &z1) {
                (Some(z0), Some(z1)) => eval.evaluate_on_line(model, z0, z1, alpha)?,
                _ => eval.evaluate(model)?,
            };
            losses.push(l);
            accs.push(a);
        }
        p1.restore(model)?;
        evaluations += alphas.len() as u64 - 1;
        losses.push(l1);
        accs.push(a1);
        let interp = barrier::analyse(&alphas, &losses, args.barrier_tol);
        let moved_over = rows
            .last()
            .is_some_and(|r| r.step == t && interp.loss_min > r.interp.loss_min);
        rows.push(StepRow {
            step: t + 1,
            epoch: t / per_epoch + 1,
            lr: done.lr,
            batch_loss: done.loss,
            interp,
            moved_over,
            alphas: alphas.clone(),
            losses,
            accs,
        });
        prev = Some((p1, l1, a1, z1));
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();

    // per-epoch summaries
    struct EpochSum {
        epoch: u64,
        first: u64,
        last: u64,
        steps: u64,
        barriers: u64,
        moved_over: u64,
        max_height: f64,
        mean_height: f64,
        mean_loss: f64,
        mean_floor_depth: f64,
    }
    let mut sums: Vec<EpochSum> = Vec::new();
    for r in &rows {
        if sums.last().map(|s| s.epoch) != Some(r.epoch) {
            sums.push(EpochSum {
                epoch: r.epoch,
                first: r.step,
                last: r.step,
                steps: 0,
                barriers: 0,
                moved_over: 0,
                max_height: f64::NAN,
                mean_height: 0.0,
                mean_loss: 0.0,
                mean_floor_depth: 0.0,
            });
        }
        let s = sums.last_mut().expect("pushed");
        s.last = r.step;
        s.steps += 1;
        s.mean_loss += r.interp.loss_start;
        s.mean_floor_depth += r.interp.loss_start.min(r.interp.loss_end) - r.interp.loss_min;
        if r.moved_over {
            s.moved_over += 1;
        }
        if r.interp.barrier {
            s.barriers += 1;
            s.mean_height += r.interp.barrier_height;
            s.max_height = if s.max_height.is_nan() {
                r.interp.barrier_height
            } else {
                s.max_height.max(r.interp.barrier_height)
            };
        }
    }
    for s in &mut sums {
        s.mean_loss /= s.steps as f64;
        s.mean_floor_depth /= s.steps as f64;
        s.mean_height = if s.barriers > 0 {
            s.mean_height / s.barriers as f64
        } else {
            f64::NAN
        };
    }

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
    extra.insert("checkpoint_step".into(), start.into());
    extra.insert("points".into(), args.points.into());
    extra.insert("eval_examples".into(), eval.len().into());
    extra.insert("eval_seed".into(), args.eval_seed.into());
    extra.insert("barrier_tol".into(), args.barrier_tol.into());
    extra.insert("batchnorm".into(), "eval".into());
    extra.insert("device".into(), device_name(device).into());
    extra.insert("config".into(), serde_json::to_value(&state.config)?);

    let points = TableBuilder::new()
        .u64(
            "step",
            rows.iter()
                .flat_map(|r| std::iter::repeat_n(r.step, r.alphas.len())),
        )
        .f64("alpha", rows.iter().flat_map(|r| r.alphas.iter().copied()))
        .f64("loss", rows.iter().flat_map(|r| r.losses.iter().copied()))
        .f64("accuracy", rows.iter().flat_map(|r| r.accs.iter().copied()))
        .build()?;
    let steps = TableBuilder::new()
        .u64("step", rows.iter().map(|r| r.step))
        .u64("epoch", rows.iter().map(|r| r.epoch))
        .f64("lr", rows.iter().map(|r| r.lr))
        .f64("batch_loss", rows.iter().map(|r| r.batch_loss))
        .f64("loss_start", rows.iter().map(|r| r.interp.loss_start))
        .f64("loss_end", rows.iter().map(|r| r.interp.loss_end))
        .f64("loss_min", rows.iter().map(|r| r.interp.loss_min))
        .f64("alpha_min", rows.iter().map(|r| r.interp.alpha_min))
        .f64("loss_max", rows.iter().map(|r| r.interp.loss_max_interior))
        .f64(
            "alpha_max",
            rows.iter().map(|r| r.interp.alpha_max_interior),
        )
        .bool("barrier", rows.iter().map(|r| r.interp.barrier))
        .f64(
            "barrier_height",
            rows.iter().map(|r| r.interp.barrier_height),
        )
        .bool("moved_over", rows.iter().map(|r| r.moved_over))
        .build()?;
    let epoch_table = TableBuilder::new()
        .u64("epoch", sums.iter().map(|s| s.epoch))
        .u64("first_step", sums.iter().map(|s| s.first))
        .u64("step", sums.iter().map(|s| s.last))
        .u64("steps", sums.iter().map(|s| s.steps))
        .u64("barriers", sums.iter().map(|s| s.barriers))
        .u64("moved_over", sums.iter().map(|s| s.moved_over))
        .f64("max_barrier_height", sums.iter().map(|s| s.max_height))
        .f64("mean_barrier_height", sums.iter().map(|s| s.mean_height))
        .f64("mean_loss", sums.iter().map(|s| s.mean_loss))
        .f64("mean_floor_depth", sums.iter().map(|s| s.mean_floor_depth))
        .build()?;
    let mut outputs = OutputSet::new();
    if let Some(p) = &args.final_checkpoint {
        outputs.written(p, |f| replay.trainer.save(&state, f.path()))?;
    }
    if let Some(p) = &args.plot {
        outputs.drawn(p, |tmp| plot(tmp, &rows, args.plot_steps))?;
    }
    if let Some(p) = &args.steps_output {
        outputs.table(p, &steps, &meta)?;
    }
    if let Some(p) = &args.epochs_output {
        outputs.table(p, &epoch_table, &meta)?;
    }
    outputs.table(&args.output, &points, &meta)?;

    let table: Vec<Vec<String>> = sums
        .iter()
        .map(|s| {
            vec![
                s.epoch.to_string(),
                format!("{}..{}", s.first, s.last),
                s.steps.to_string(),
                s.barriers.to_string(),
                num(s.max_height),
                s.moved_over.to_string(),
                num(s.mean_loss),
                num(s.mean_floor_depth),
            ]
        })
        .collect();
    print_table(
        &[
            "epoch",
            "steps",
            "updates",
            "barriers",
            "max height",
            "moved over",
            "mean loss",
            "floor depth",
        ],
        &table,
    );
    errln!(
        "interp-loss: {} updates replayed, {} interpolated at {} points on {} examples ({} evaluations) in {secs:.1} s",
        last + 1 - start,
        rows.len(),
        alphas.len(),
        eval.len(),
        evaluations
    );
    if args.json.enabled {
        let v = serde_json::json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "checkpoint_step": start,
            "updates_replayed": last + 1 - start,
            "updates_interpolated": rows.len(),
            "points": alphas.len(),
            "eval_examples": eval.len(),
            "evaluations": evaluations,
            "seconds": secs,
            "epochs": sums.iter().map(|s| serde_json::json!({
                "epoch": s.epoch, "first_step": s.first, "step": s.last, "updates": s.steps,
                "barriers": s.barriers, "moved_over": s.moved_over,
                "max_barrier_height": if s.max_height.is_nan() { None } else { Some(s.max_height) },
                "mean_loss": s.mean_loss,
            })).collect::<Vec<_>>(),
        });
        outputs.json(&v)?;
    }
    outputs.commit()
}

/// The study's Figure 1: loss (and accuracy) against iteration, interpolations between
/// iterates, and the valley floor (dashed).
fn plot(path: &std::path::Path, rows: &[StepRow], max_steps: usize) -> Result<()> {
    let shown: Vec<&StepRow> = rows.iter().take(max_steps.max(1)).collect();
    let mut loss_line = Vec::new();
    let mut acc_line = Vec::new();
    let mut iterates = Vec::new();
    let mut floor = Vec::new();
    for r in &shown {
        let t0 = (r.step - 1) as f64;
        for (i, &a) in r.alphas.iter().enumerate() {
            loss_line.push((t0 + a, r.losses[i]));
            acc_line.push((t0 + a, r.accs[i]));
        }
        iterates.push((t0, r.interp.loss_start));
        floor.push((t0 + r.interp.alpha_min, r.interp.loss_min));
    }
    if let Some(r) = shown.last() {
        iterates.push((r.step as f64, r.interp.loss_end));
    }
    let first = shown.first().map(|r| r.step).unwrap_or(0);
    let (e0, e1) = (
        shown.first().map(|r| r.epoch).unwrap_or(0),
        shown.last().map(|r| r.epoch).unwrap_or(0),
    );
    let title = format!(
        "updates {first}..{} ({})",
        shown.last().map(|r| r.step).unwrap_or(0),
        if e0 == e1 {
            format!("epoch {e0}")
        } else {
            format!("epochs {e0}-{e1}")
        }
    );
    let loss = Panel {
        title: format!("training loss, {title}"),
        x_label: "iteration".into(),
        y_label: "training loss".into(),
        log_x: false,
        log_y: false,
        series: vec![
            Series::new("interpolation", loss_line, 1).without_markers(),
            Series::new("iterates", iterates, 7),
            Series::new("valley floor", floor, 2).dashed(),
        ],
        hlines: vec![],
    };
    let acc = Panel {
        title: format!("training accuracy, {title}"),
        x_label: "iteration".into(),
        y_label: "training accuracy".into(),
        log_x: false,
        log_y: false,
        series: vec![Series::new("interpolation", acc_line, 3).without_markers()],
        hlines: vec![],
    };
    draw_png(path, 1400, 480, &[loss, acc])
}
