//! `hessian-align`: how minibatch gradients align with the Hessian of the training loss at
//! a `train` checkpoint (the walk study, "A walk with SGD", section 4: Figures 5, 6, 7).
//!
//! H is the Hessian of the mean cross-entropy over the training split, or a seeded subset
//! of it (`--hessian-samples`), applied through exact Hessian-vector products
//! (Pearlmutter 1994, double backward: `gradscope_torch::hessian`). At the checkpoint:
//!
//! - the top-k eigenvalues and eigenvectors of H by Lanczos with full reorthogonalisation
//!   (`--method lanczos`), by PyHessian's power iteration with deflation (Yao et al. 2020,
//!   `--method power`), or both, with the products each needed
//!   (`gradscope_torch::hessian_spectrum`);
//! - tr(H) by Hutchinson's estimator (1990) from `--trace-probes` Rademacher vectors;
//! - the spectral density of H by stochastic Lanczos quadrature (`--density`);
//! - with `--blocks`, the same three on each diagonal block H_bb of H (one layer's, one
//!   tensor's or one name prefix's parameters; `gradscope_torch::hessian_blocks`), one row
//!   per block (`--blocks-output`) and a `block` column in the eigenvalue, density and node
//!   tables (`all` is the whole network);
//! - for each batch size B of `--batch-sizes` (the study: 100, 1,000, 10,000 and the whole
//!   set) and each of `--minibatches` minibatches (B distinct training examples, drawn
//!   independently with `--seed`; one "minibatch" for the whole set), the minibatch gradient
//!   g_B and the study's alignment (equation 4), a(g_B) = g_B^T H g_B / |g_B|^2,
//!   and the share of |g_B|^2 in the top-k eigenspace, sum_i (u_i^T g_B)^2 / |g_B|^2;
//!   the table gives their means and standard deviations (n - 1) per batch size;
//! - along a replayed trajectory for each batch size of `--cosine-batch-sizes`, the cosine
//!   of consecutive minibatch gradients (the study's equation 5 and Figure 7):
//!   cos(g_{t-1}, g_t) = g_{t-1}^T g_t / (|g_{t-1}| |g_t|), for `--cosine-steps` updates
//!   from the checkpoint with the run's optimiser, schedule and seed and only the batch size
//!   changed (the run's own batch size replays `train` exactly).
//!
//! BatchNorm is in evaluation mode for H and the g_B (one fixed function of theta); the
//! trajectories train as `train` does. Every table has `step` (the checkpoint's step: the
//! number of updates taken, as in `train`'s metrics.parquet) and `epoch` (completed epochs)
//! so it joins with the metrics; the cosine table's `step` counts along each trajectory.
//!
//! `run` is plan (every check of the arguments; the checkpoint, the data and the Hessian's
//! set opened), measure (no output), emit. The module's parts: [`curvature`] (top
//! eigenvalues, trace and density of one operator), [`blocks`] (the same per diagonal
//! block), [`alignment`] (the minibatch alignments and the cosine trajectories), [`cost`]
//! (`--cost-batch`), [`report`] (every table's columns, described once), [`figures`].

pub mod alignment;
pub mod blocks;
pub mod cost;
pub mod curvature;
pub mod figures;
pub mod report;

use crate::checkpoint_run::CheckpointRun;
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use curvature::{curvature, Curvature};
use gradscope_io::Provenance;
use gradscope_tool::args::{
    check_outputs, png_path, table_file, table_path, Device as DeviceArg, Json, TorchThreads,
};
use gradscope_tool::text_table::num;
use gradscope_tool::{errln, tool_name, usage_bail, usage_error, OutputSet, UsageError};
use gradscope_torch::device::{device_name, parse_device};
use gradscope_torch::hessian::LossHessian;
use gradscope_torch::hessian_blocks::{Block, BlockSpec};
use report::{Cost, SampleRow};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Tensor};

/// How the top eigenpairs are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Lanczos with full reorthogonalisation.
    Lanczos,
    /// Power iteration with deflation (PyHessian).
    Power,
    /// Both (Lanczos's eigenvectors are used for the top-k shares).
    Both,
}

/// Alignment of minibatch gradients with the Hessian at a checkpoint.
#[derive(Debug, Parser)]
#[command(name = "hessian-align", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// `train` checkpoint (.safetensors); model, data and optimiser settings come from it.
    #[arg(long)]
    pub checkpoint: PathBuf,

    /// Batch sizes of the minibatch gradients, comma-separated; `full` is the whole
    /// training split (the study: 100,1000,10000,full).
    #[arg(
        short = 'b',
        long,
        value_delimiter = ',',
        default_value = "100,1000,10000,full"
    )]
    pub batch_sizes: Vec<String>,

    /// Minibatches per batch size (the study: 50; the whole set counts once).
    #[arg(short = 'n', long, default_value_t = 50)]
    pub minibatches: usize,

    /// Training examples defining H, drawn once with --seed (0: the whole training split).
    #[arg(long, default_value_t = 0)]
    pub hessian_samples: usize,

    /// Top eigenvalues to find (0: none, and no top-k shares).
    #[arg(short = 'k', long, default_value_t = 10)]
    pub top_k: usize,

    /// Eigen-solver of the top eigenvalues (with -k 1 or more) [default: lanczos].
    #[arg(long = "method", value_enum, value_name = "METHOD")]
    pub method_arg: Option<Method>,

    /// Tolerance: Lanczos stops when each top-k Ritz residual is at most tol x |eigenvalue|;
    /// power iteration when the eigenvalue's relative change is below tol (with -k 1 or
    /// more) [default: 0.001].
    #[arg(long = "tol", value_name = "TOL")]
    pub tol_arg: Option<f64>,

    /// At most this many Hessian-vector products for Lanczos (and per eigenvalue for power
    /// iteration; with -k 1 or more). 1 to 1,000,000 [default: 200].
    #[arg(long = "max-iter", value_name = "MAX_ITER", value_parser = gradscope_tool::args::count(1..=1_000_000))]
    pub max_iter_arg: Option<usize>,

    /// Rademacher probes for Hutchinson's trace (0: no trace; at most 1,000,000).
    #[arg(long, default_value_t = 0, value_parser = gradscope_tool::args::count(0..=1_000_000))]
    pub trace_probes: usize,

    /// Batch sizes of the consecutive-gradient cosine trajectories (`full` allowed; empty:
    /// none).
    #[arg(long, value_delimiter = ',')]
    pub cosine_batch_sizes: Vec<String>,

    /// Updates per cosine trajectory (1 to 1,000,000).
    #[arg(long, default_value_t = 100, requires = "cosine_batch_sizes", value_parser = gradscope_tool::args::count(1..=1_000_000))]
    pub cosine_steps: usize,

    /// Measure one Hessian-vector product against one gradient on a minibatch of this
    /// many examples (medians of 10 of each): as the tool takes fresh products (the
    /// R-operator for plain ReLU networks, else double backward), by double backward, and
    /// a further product on the same minibatch with the gradient's graph kept (as Lanczos
    /// and the power iteration on one set take them: the second backward pass alone);
    /// 0: skip.
    #[arg(long, default_value_t = 0)]
    pub cost_batch: usize,

    /// The Hessian's spectral density by stochastic Lanczos quadrature (Ghorbani, Krishnan
    /// and Xiao 2019): a table of (eigenvalue, density) on a grid (.parquet, .csv, .json);
    /// `plot FILE -x eigenvalue -y density --log-y` draws it.
    #[arg(long, value_name = "FILE", value_parser = table_file)]
    pub density: Option<PathBuf>,

    /// The quadrature behind --density: one row per probe and node (probe, eigenvalue,
    /// weight; each probe's weights sum to 1).
    #[arg(long, value_name = "FILE", value_parser = table_file, requires = "density")]
    pub slq_nodes: Option<PathBuf>,

    /// Random probes of the density (Gaussian start vectors, seeded by --seed).
    #[arg(long, value_name = "N", default_value_t = 10, requires = "density")]
    pub slq_probes: usize,

    /// Lanczos steps per probe (Hessian-vector products; memory: this many vectors).
    #[arg(long, value_name = "M", default_value_t = 80, requires = "density")]
    pub slq_steps: usize,

    /// Draw the density (--density; with --blocks, each block's too) on a log y axis, as
    /// Ghorbani, Krishnan and Xiao's Figure 1 does; values below 1e-6 of the highest are
    /// drawn at that floor (a log axis has no zero).
    #[arg(long, value_name = "FILE.png", value_parser = png_path, requires = "density")]
    pub density_plot: Option<PathBuf>,

    /// Curvature per block of parameters: the top eigenvalues (-k), the trace
    /// (--trace-probes) and the density (--density) of each diagonal block H_bb of the
    /// Hessian (products with v zero outside the block, read back on the block), besides
    /// the whole network's. `layer`: one block per module (`fc1.weight` + `fc1.bias`);
    /// `tensor`: one per tensor; or comma-separated name prefixes, each a whole part of
    /// the dotted names (`conv1,fc3`; `fc1` takes `fc1.weight` and `fc1.bias`).
    #[arg(long, value_name = "layer|tensor|PREFIX,...")]
    pub blocks: Option<String>,

    /// One row per block (and `all`, the whole network): parameters, top eigenvalue,
    /// trace and its standard error, Hessian-vector products.
    #[arg(long, value_name = "FILE", value_parser = table_path, requires = "blocks")]
    pub blocks_output: Option<PathBuf>,

    /// Gaussian broadening of the density, in eigenvalue units (0: 1/100 of the range of
    /// the quadrature's nodes).
    #[arg(long, default_value_t = 0.0, requires = "density")]
    pub sigma: f64,

    /// The density's grid as LO:HI:POINTS (default: the nodes' range widened by 5 sigma
    /// on each side, 1001 points).
    #[arg(
        long,
        value_name = "LO:HI:POINTS",
        allow_hyphen_values = true,
        requires = "density"
    )]
    pub grid: Option<String>,

    /// Examples per forward pass (Hessian set and large minibatches).
    #[arg(long, default_value_t = 10_000)]
    pub chunk: usize,

    /// Seed of the Hessian subset, the minibatches and the random start vectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Per-batch-size table: alignment and top-k share means and sds (.parquet, .csv,
    /// .json; `-` for CSV on stdout).
    #[arg(short, long, value_parser = table_path)]
    pub output: PathBuf,

    /// Per-minibatch table.
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub samples_output: Option<PathBuf>,

    /// Eigenvalue table (method, rank, eigenvalue, residual, products).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub eigen_output: Option<PathBuf>,

    /// Consecutive-gradient cosine table.
    #[arg(long, value_name = "FILE", value_parser = table_path, requires = "cosine_batch_sizes")]
    pub cosine_output: Option<PathBuf>,

    /// Draw the study's Figure 5 (alignment against batch size) and, with cosine
    /// trajectories, Figure 7.
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// Directory holding the dataset files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub device: DeviceArg,

    #[command(flatten)]
    pub threads: TorchThreads,

    #[command(flatten)]
    pub json: Json,
}

fn parse_sizes(list: &[String], n: usize, flag: &str) -> Result<Vec<usize>> {
    list.iter()
        .map(|s| {
            let b = if s.trim() == "full" {
                n
            } else {
                s.trim().parse::<usize>().map_err(|e| {
                    UsageError(format!("{flag} {s}: expected a number or `full`: {e}"))
                })?
            };
            if b == 0 {
                usage_bail!("{flag} {s}: a batch size must be at least 1");
            }
            if b > n {
                bail!("{flag} {s}: a batch size must be between 1 and the {n} training examples");
            }
            Ok(b)
        })
        .collect()
}

impl Args {
    /// `--method`, or Lanczos.
    pub fn method(&self) -> Method {
        self.method_arg.unwrap_or(Method::Lanczos)
    }

    /// `--tol`, or 1e-3 (relative).
    pub fn tol(&self) -> f64 {
        self.tol_arg.unwrap_or(1e-3)
    }

    /// `--max-iter`, or 200 products.
    pub fn max_iter(&self) -> usize {
        self.max_iter_arg.unwrap_or(200)
    }
}

/// What `run` decided and opened before measuring: the replay at the checkpoint, the
/// batch sizes, the blocks, the density's grid, and the examples of the Hessian's set
/// and of the `--cost-batch` minibatch.
pub struct Plan {
    pub device: Device,
    /// The checkpoint's replay (the cosine trajectories replay it afresh).
    pub run: CheckpointRun,
    /// The training split's examples.
    pub examples: usize,
    /// Completed epochs at the checkpoint.
    pub epoch: u64,
    pub sizes: Vec<usize>,
    pub cos_sizes: Vec<usize>,
    /// `--blocks` (empty without it).
    pub blocks: Vec<Block>,
    /// `--grid` (None: chosen from the quadrature's nodes).
    pub density_grid: Option<(f64, f64, usize)>,
    /// The training examples defining H.
    pub hessian_idx: Vec<i64>,
    /// Their images and labels.
    pub hessian_set: (Tensor, Tensor),
    /// The `--cost-batch` minibatch's images and labels.
    pub cost_set: Option<(Tensor, Tensor)>,
}

impl Plan {
    /// The examples defining H.
    pub fn hessian_examples(&self) -> usize {
        self.hessian_idx.len()
    }
}

/// Every check of the arguments, then the checkpoint and the data opened.
fn plan(args: &Args) -> Result<Plan> {
    check_outputs(
        args.json.enabled,
        [args.checkpoint.as_path()],
        [
            Some(args.output.as_path()),
            args.samples_output.as_deref(),
            args.eigen_output.as_deref(),
            args.cosine_output.as_deref(),
            args.blocks_output.as_deref(),
            args.density.as_deref(),
            args.slq_nodes.as_deref(),
            args.density_plot.as_deref(),
            args.plot.as_deref(),
        ],
    )?;
    if args.chunk == 0 || args.minibatches == 0 {
        usage_bail!("--chunk and --minibatches must be at least 1");
    }
    if args.top_k == 0 && args.eigen_output.is_some() {
        usage_bail!("--eigen-output with -k 0: no eigenvalue is computed (ask for -k 1 or more)");
    }
    if args.top_k == 0 {
        let given = [
            (args.method_arg.is_some(), "--method"),
            (args.tol_arg.is_some(), "--tol"),
            (args.max_iter_arg.is_some(), "--max-iter"),
        ];
        if let Some((_, flag)) = given.iter().find(|g| g.0) {
            usage_bail!("{flag} sets the solver of the top eigenvalues, and -k 0 asks for none (ask for -k 1 or more)");
        }
    }
    if args.tol().is_nan() || args.tol() <= 0.0 {
        usage_bail!("--tol must be positive");
    }
    let density_grid = match &args.density {
        Some(_) => {
            if args.slq_probes == 0 {
                usage_bail!("--slq-probes 0: the density needs at least 1 probe");
            }
            if args.slq_steps == 0 {
                usage_bail!("--slq-steps 0: the density needs at least 1 Lanczos step per probe");
            }
            if !(args.sigma.is_finite() && args.sigma >= 0.0) {
                usage_bail!("--sigma {}: must be 0 (automatic) or positive", args.sigma);
            }
            args.grid
                .as_deref()
                .map(curvature::parse_grid)
                .transpose()
                .map_err(usage_error)?
        }
        None => None,
    };
    let block_spec = args
        .blocks
        .as_deref()
        .map(BlockSpec::parse)
        .transpose()
        .map_err(usage_error)?;
    if block_spec.is_some() && args.top_k == 0 && args.trace_probes == 0 && args.density.is_none() {
        usage_bail!(
            "--blocks: nothing to measure per block: ask for -k, --trace-probes or --density"
        );
    }
    let device = parse_device(&args.device.name)?;
    let run = CheckpointRun::open(
        &args.checkpoint,
        args.data_dir.as_deref(),
        device,
        args.threads.count,
        args.seed,
    )?;
    let n = run.examples();
    let sizes = parse_sizes(&args.batch_sizes, n, "--batch-sizes")?;
    let cos_sizes = parse_sizes(&args.cosine_batch_sizes, n, "--cosine-batch-sizes")?;
    let model = &run.replay.trainer.model;
    let d = model.store.numel();
    if args.top_k > d {
        bail!("--top-k {} exceeds the model's {d} parameters", args.top_k);
    }
    let blocks: Vec<Block> = match &block_spec {
        Some(spec) => gradscope_torch::hessian_blocks::blocks(spec, &model.store.layout())?,
        None => Vec::new(),
    };
    let per_epoch = run.replay.trainer.batches_per_epoch();
    let epoch = run.replay.state.step / per_epoch.max(1);
    let hessian_idx = run
        .subset(args.hessian_samples, args.seed, u64::MAX)
        .with_context(|| {
            format!(
                "--hessian-samples {} exceeds the {n} training examples",
                args.hessian_samples
            )
        })?;
    let hessian_set = run.batch(&hessian_idx)?;
    let cost_set = if args.cost_batch > 0 {
        let idx = run
            .subset(args.cost_batch, args.seed, u64::MAX - 1)
            .with_context(|| {
                format!(
                    "--cost-batch {} exceeds the {n} training examples",
                    args.cost_batch
                )
            })?;
        Some(run.batch(&idx)?)
    } else {
        None
    };
    Ok(Plan {
        device,
        examples: n,
        epoch,
        sizes,
        cos_sizes,
        blocks,
        density_grid,
        hessian_idx,
        hessian_set,
        cost_set,
        run,
    })
}

/// What the measurement found.
pub struct Measured {
    pub cost: Option<Cost>,
    /// The whole network's curvature (`all`).
    pub whole: Curvature,
    /// Each block's, in `--blocks` order.
    pub per_block: Vec<Curvature>,
    pub samples: Vec<SampleRow>,
    pub cosines: Vec<report::CosineRow>,
    /// Hessian-vector products taken on H (the blocks' and the alignments' included).
    pub hvps: usize,
}

/// The measurement, in the order that keeps the random draws of a run fixed: the cost
/// (its vector from libtorch's generator), the curvature of H and of each block, the
/// minibatch alignments, then the cosine trajectories.
fn measure(args: &Args, plan: &Plan) -> Result<Measured> {
    let model = &plan.run.replay.trainer.model;
    let (hx, hy) = &plan.hessian_set;
    let mut hess = LossHessian::new(model, hx, hy, args.chunk, true)?;
    let cost = match &plan.cost_set {
        Some((x, y)) => Some(cost::measure(model, x, y, args.cost_batch, plan.device)?),
        None => None,
    };
    let whole = curvature(
        args,
        "all",
        model.store.numel(),
        plan.density_grid,
        plan.device,
        &mut |v: &Tensor| hess.hvp(v),
    )?;
    let per_block = blocks::measure(
        args,
        &plan.blocks,
        plan.density_grid,
        plan.device,
        &mut hess,
    )?;
    let basis = whole.eigen.first().map(|r| r.eigen.vectors.shallow_clone());
    let samples = alignment::measure(args, plan, &mut hess, basis.as_ref())?;
    let hvps = hess.products;
    drop(hess);
    let cosines = alignment::cosine_trajectories(args, plan)?;
    Ok(Measured {
        cost,
        whole,
        per_block,
        samples,
        cosines,
        hvps,
    })
}

/// Runs the tool: plan (every check, the checkpoint and data opened), measure (no
/// output), emit.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let plan = plan(&args)?;
    let measured = measure(&args, &plan)?;
    let secs = started.elapsed().as_secs_f64();
    emit(&args, &plan, &measured, secs)
}

/// The tables, the figures, the summary and `--json`.
fn emit(args: &Args, plan: &Plan, m: &Measured, secs: f64) -> Result<()> {
    let state = &plan.run.replay.state;
    let step = state.step;
    let whole = &m.whole;
    let batch_sizes = alignment::by_batch_size(
        plan,
        &m.samples,
        args.top_k,
        whole.top_eigenvalue(),
        whole.trace.unwrap_or((f64::NAN, f64::NAN)),
    );
    let curvatures: Vec<&Curvature> = std::iter::once(whole).chain(&m.per_block).collect();
    let block_rows = blocks::rows(&curvatures, &plan.blocks, step);
    let cosine_summaries = alignment::cosine_summaries(&plan.cos_sizes, &m.cosines);

    let mut meta = Provenance::new("hessian-align", &tool_name("hessian-align"));
    meta.model = Some(state.model.clone());
    meta.dataset = Some(state.data.clone());
    meta.seed = Some(args.seed);
    meta.batch_size = Some(state.batch_size as u64);
    meta.sampling = Some("independent".into());
    let extra = &mut meta.extra;
    extra.insert(
        "checkpoint".into(),
        args.checkpoint.display().to_string().into(),
    );
    extra.insert("hessian_examples".into(), plan.hessian_examples().into());
    extra.insert("top_k".into(), args.top_k.into());
    extra.insert("tol".into(), args.tol().into());
    extra.insert("batchnorm".into(), "eval".into());
    extra.insert("device".into(), device_name(plan.device).into());

    let mut outputs = OutputSet::new();
    if let Some(p) = &args.samples_output {
        outputs.table(p, &report::samples().table(&m.samples)?, &meta)?;
    }
    if let Some(p) = &args.eigen_output {
        let rows = curvature::eigen_rows(&curvatures, step, plan.epoch);
        outputs.table(p, &report::eigenvalues().table(&rows)?, &meta)?;
    }
    if let Some(p) = &args.cosine_output {
        outputs.table(p, &report::cosines().table(&m.cosines)?, &meta)?;
    }
    if let Some(p) = &args.plot {
        outputs.drawn(p, |tmp| {
            figures::plot(tmp, &batch_sizes, &m.cosines, &plan.cos_sizes, plan.epoch)
        })?;
    }
    if let (Some(p), Some(dens)) = (&args.density, &whole.density) {
        let mut dm = meta.clone();
        dm.kind = "hessian-density".into();
        dm.extra.insert("sigma".into(), dens.sigma.into());
        dm.extra
            .insert("slq_probes".into(), (args.slq_probes as u64).into());
        dm.extra
            .insert("slq_steps".into(), (args.slq_steps as u64).into());
        let rows = curvature::density_rows(&curvatures, step);
        outputs.table(p, &report::density().table(&rows)?, &dm)?;
        if let Some(p) = &args.slq_nodes {
            let rows = curvature::node_rows(&curvatures, step);
            outputs.table(p, &report::nodes().table(&rows)?, &dm)?;
        }
        if let Some(p) = &args.density_plot {
            let densities: Vec<(&str, &curvature::Density)> = curvatures
                .iter()
                .filter_map(|c| c.density.as_ref().map(|d| (c.block.as_str(), d)))
                .collect();
            outputs.drawn(p, |tmp| figures::density_plot(tmp, &densities, step))?;
        }
    }
    let blocks_report = report::blocks();
    if let Some(p) = &args.blocks_output {
        let mut bm = meta.clone();
        bm.kind = "hessian-blocks".into();
        bm.extra.insert(
            "blocks".into(),
            args.blocks.clone().unwrap_or_default().into(),
        );
        outputs.table(p, &blocks_report.table(&block_rows)?, &bm)?;
    }
    let batch_sizes_report = report::batch_sizes();
    outputs.table(
        &args.output,
        &batch_sizes_report.table(&batch_sizes)?,
        &meta,
    )?;

    // summary
    if let (Some(p), Some(dens)) = (&args.density, &whole.density) {
        let (lo, hi) = dens.node_range();
        errln!(
            "hessian-align: spectral density from {} probes x {} Lanczos steps, nodes in [{}, {}], sigma {} -> {}",
            dens.probes.len(),
            args.slq_steps,
            num(lo),
            num(hi),
            num(dens.sigma),
            p.display()
        );
    }
    for r in &whole.eigen {
        let e = &r.eigen;
        errln!(
            "{}: top {} eigenvalues {} ({} Hessian-vector products, {:.2} s{})",
            r.method,
            e.values.len(),
            e.values
                .iter()
                .map(|v| num(*v))
                .collect::<Vec<_>>()
                .join(" "),
            e.products,
            r.seconds,
            if e.converged { "" } else { ", not converged" }
        );
    }
    if !block_rows.is_empty() {
        errln!("curvature per block (the diagonal blocks of H; `all` is the whole network):");
        gradscope_tool::console::err(&blocks_report.summary(&block_rows));
    }
    if let Some((t, se)) = whole.trace {
        errln!(
            "trace (Hutchinson, {} probes): {} +- {}",
            args.trace_probes,
            num(t),
            num(se)
        );
    }
    if let Some(c) = &m.cost {
        errln!(
            "cost on {} examples: gradient {:.2} ms, Hessian-vector product ({}) {:.2} ms, ratio {:.2}; by double backward {:.2} ms, ratio {:.2}; a further product with the gradient's graph kept {:.2} ms, ratio {:.2}",
            c.batch,
            c.gradient * 1e3,
            c.method,
            c.hvp * 1e3,
            c.hvp / c.gradient,
            c.double_backward * 1e3,
            c.double_backward / c.gradient,
            c.graph_kept * 1e3,
            c.graph_kept / c.gradient
        );
    }
    gradscope_tool::console::err(&batch_sizes_report.summary(&batch_sizes));
    for c in &cosine_summaries {
        errln!(
            "cosine of consecutive gradients, batch size {}: mean {} sd {} over {} pairs",
            c.batch_size,
            num(c.mean),
            num(c.sd),
            c.pairs
        );
    }
    errln!(
        "hessian-align: {} at step {step} (epoch {}), H on {} examples, {} Hessian-vector products, {secs:.1} s",
        state.model,
        plan.epoch,
        plan.hessian_examples(),
        m.hvps
    );
    if args.json.enabled {
        let v = serde_json::json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "step": step,
            "epoch": plan.epoch,
            "hessian_examples": plan.hessian_examples(),
            "hvps": m.hvps,
            "seconds": secs,
            "eigen": report::eigen_runs().json(&whole.eigen),
            "blocks": blocks_report.json(&block_rows),
            "trace": whole.trace.map(|(t, se)| serde_json::json!({"mean": t, "se": se, "probes": args.trace_probes})),
            "cost": m.cost.as_ref().map(|c| report::cost().json(std::slice::from_ref(c))[0].clone()),
            "alignment": batch_sizes_report.json(&batch_sizes),
            "cosine": report::cosine_summaries().json(&cosine_summaries),
        });
        outputs.json(&v)?;
    }
    outputs.commit()
}
