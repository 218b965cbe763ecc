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

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::Provenance;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_stats::describe::mean_sd;
use gradscope_stats::lanczos_quadrature::{gaussian_density, linear_grid, Quadrature};
use gradscope_tool::args::{
    one_stdout, png_path, table_file, table_path, Device as DeviceArg, Json, TorchThreads,
};
use gradscope_tool::progress::progress;
use gradscope_tool::report::{Column, Report};
use gradscope_tool::table_builder::TableBuilder;
use gradscope_tool::text_table::{num, print_table};
use gradscope_tool::{errln, tool_name, OutputSet};
use gradscope_torch::device::{device_name, init_torch, parse_device};
use gradscope_torch::hessian::LossHessian;
use gradscope_torch::hessian_blocks::{blocks, Block, BlockSpec};
use gradscope_torch::hessian_spectrum::{
    hutchinson_trace, lanczos, power_iteration, stochastic_lanczos_quadrature, Eigen,
};
use gradscope_torch::trainer::replay_from;
use gradscope_torch::{datasets, sampler};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

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
#[command(name = "hessian-align", version, about, long_about = None)]
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

    /// Eigen-solver.
    #[arg(long, value_enum, default_value_t = Method::Lanczos)]
    pub method: Method,

    /// Tolerance: Lanczos stops when each top-k Ritz residual is at most tol x |eigenvalue|;
    /// power iteration when the eigenvalue's relative change is below tol.
    #[arg(long, default_value_t = 1e-3)]
    pub tol: f64,

    /// At most this many Hessian-vector products for Lanczos (and per eigenvalue for power
    /// iteration).
    #[arg(long, default_value_t = 200)]
    pub max_iter: usize,

    /// Rademacher probes for Hutchinson's trace (0: no trace).
    #[arg(long, default_value_t = 0)]
    pub trace_probes: usize,

    /// Batch sizes of the consecutive-gradient cosine trajectories (`full` allowed; empty:
    /// none).
    #[arg(long, value_delimiter = ',')]
    pub cosine_batch_sizes: Vec<String>,

    /// Updates per cosine trajectory.
    #[arg(long, default_value_t = 100)]
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
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub slq_probes: usize,

    /// Lanczos steps per probe (Hessian-vector products; memory: this many vectors).
    #[arg(long, value_name = "M", default_value_t = 80)]
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
    /// `tensor`: one per tensor; or comma-separated name prefixes (`conv,fc3`).
    #[arg(long, value_name = "layer|tensor|PREFIX,...")]
    pub blocks: Option<String>,

    /// One row per block (and `all`, the whole network): parameters, top eigenvalue,
    /// trace and its standard error, Hessian-vector products.
    #[arg(long, value_name = "FILE", value_parser = table_path, requires = "blocks")]
    pub blocks_output: Option<PathBuf>,

    /// Gaussian broadening of the density, in eigenvalue units (0: 1/100 of the range of
    /// the quadrature's nodes).
    #[arg(long, default_value_t = 0.0)]
    pub sigma: f64,

    /// The density's grid as LO:HI:POINTS (default: the nodes' range widened by 5 sigma
    /// on each side, 1001 points).
    #[arg(long, value_name = "LO:HI:POINTS", allow_hyphen_values = true)]
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
    #[arg(long, value_name = "FILE", value_parser = table_path)]
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
                s.trim()
                    .parse::<usize>()
                    .with_context(|| format!("{flag} {s}: expected a number or `full`"))?
            };
            if b == 0 || b > n {
                bail!("{flag} {s}: a batch size must be between 1 and the {n} training examples");
            }
            Ok(b)
        })
        .collect()
}

/// One minibatch's measurements.
struct Sample {
    batch_size: usize,
    sample: usize,
    loss: f64,
    grad_norm: f64,
    alignment: f64,
    topk_share: f64,
}

/// One update of a cosine trajectory.
struct CosRow {
    batch_size: usize,
    update: u64,
    step: u64,
    loss: f64,
    grad_norm: f64,
    cosine: f64,
}

/// `--cost-batch` timings (seconds, medians of 10) on one minibatch.
struct Cost {
    gradient: f64,
    /// A fresh product as the tool takes it (`method`).
    hvp: f64,
    double_backward: f64,
    /// A further product with the gradient's graph kept.
    graph_kept: f64,
    method: &'static str,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    one_stdout(
        args.json.enabled,
        [
            Some(args.output.as_path()),
            args.samples_output.as_deref(),
            args.eigen_output.as_deref(),
            args.cosine_output.as_deref(),
            args.blocks_output.as_deref(),
        ],
    )?;
    if args.chunk == 0 || args.minibatches == 0 {
        bail!("--chunk and --minibatches must be at least 1");
    }
    if args.tol.is_nan() || args.tol <= 0.0 {
        bail!("--tol must be positive");
    }
    let density_grid = match &args.density {
        Some(_) => {
            if args.slq_probes == 0 {
                bail!("--slq-probes 0: the density needs at least 1 probe");
            }
            if args.slq_steps == 0 {
                bail!("--slq-steps 0: the density needs at least 1 Lanczos step per probe");
            }
            if !(args.sigma.is_finite() && args.sigma >= 0.0) {
                bail!("--sigma {}: must be 0 (automatic) or positive", args.sigma);
            }
            args.grid.as_deref().map(parse_grid).transpose()?
        }
        None => None,
    };
    let block_spec = args.blocks.as_deref().map(BlockSpec::parse).transpose()?;
    if block_spec.is_some() && args.top_k == 0 && args.trace_probes == 0 && args.density.is_none() {
        bail!("--blocks: nothing to measure per block: ask for -k, --trace-probes or --density");
    }
    let device = parse_device(&args.device.name)?;
    init_torch(args.threads.count, args.seed);
    let dirs = datasets::search_dirs(args.data_dir.as_deref());
    let replay = replay_from(&args.checkpoint, &dirs, device)?;
    let state = replay.state.clone();
    let train = &replay.data.train;
    let n = train.len();
    let sizes = parse_sizes(&args.batch_sizes, n, "--batch-sizes")?;
    let cos_sizes = parse_sizes(&args.cosine_batch_sizes, n, "--cosine-batch-sizes")?;
    let model = &replay.trainer.model;
    let d = model.store.numel();
    if args.top_k > d {
        bail!("--top-k {} exceeds the model's {d} parameters", args.top_k);
    }
    let block_list: Vec<Block> = match &block_spec {
        Some(spec) => blocks(spec, &model.store.layout())?,
        None => Vec::new(),
    };
    let per_epoch = replay.trainer.batches_per_epoch();
    let epoch = state.step / per_epoch.max(1);

    // the Hessian's set
    let h_idx: Vec<i64> = if args.hessian_samples == 0 {
        (0..n as i64).collect()
    } else if args.hessian_samples > n {
        bail!(
            "--hessian-samples {} exceeds the {n} training examples",
            args.hessian_samples
        );
    } else {
        sampler::independent(n, args.hessian_samples, args.seed, u64::MAX)
    };
    let (hx, hy) = train.batch(&h_idx, Device::Cpu)?;
    let mut hess = LossHessian::new(model, &hx, &hy, args.chunk, true)?;

    // cost of one HVP against one gradient on the same minibatch
    let cost = if args.cost_batch > 0 {
        if args.cost_batch > n {
            bail!(
                "--cost-batch {} exceeds the {n} training examples",
                args.cost_batch
            );
        }
        let idx = sampler::independent(n, args.cost_batch, args.seed, u64::MAX - 1);
        let (x, y) = train.batch(&idx, Device::Cpu)?;
        let mut h = LossHessian::new(model, &x, &y, args.cost_batch, false)?;
        let v = Tensor::f_randn([d as i64], (Kind::Double, device))?;
        let (_, _) = h.gradient()?; // warm-up
        let _ = h.hvp(&v)?;
        let mut db = LossHessian::new(model, &x, &y, args.cost_batch, false)?.double_backward();
        let _ = db.hvp(&v)?; // warm-up
        let mut kept = LossHessian::new(model, &x, &y, args.cost_batch, true)?;
        let _ = kept.hvp(&v)?; // warm-up
        let mut t: [Vec<f64>; 4] = Default::default();
        for _ in 0..10 {
            let c = Instant::now();
            let _ = h.gradient()?;
            t[0].push(c.elapsed().as_secs_f64());
            let c = Instant::now();
            let _ = h.hvp(&v)?;
            t[1].push(c.elapsed().as_secs_f64());
            let c = Instant::now();
            let _ = db.hvp(&v)?;
            t[2].push(c.elapsed().as_secs_f64());
            let c = Instant::now();
            let _ = kept.hvp(&v)?;
            t[3].push(c.elapsed().as_secs_f64());
        }
        let [g, hv, dbl, k] = t.map(median);
        Some(Cost {
            gradient: g,
            hvp: hv,
            double_backward: dbl,
            graph_kept: k,
            method: if h.uses_r_operator() {
                "R-operator"
            } else {
                "double backward"
            },
        })
    } else {
        None
    };

    // the curvature of the whole Hessian, then of each block
    let whole = curvature(&args, "all", d, density_grid, device, &mut |v: &Tensor| {
        hess.hvp(v)
    })?;
    let bar = progress(Some(block_list.len() as u64), "blocks");
    let mut per_block = Vec::with_capacity(block_list.len());
    for b in &block_list {
        let c = curvature(
            &args,
            &b.name,
            b.dim,
            density_grid,
            device,
            &mut |v: &Tensor| b.apply(v, |w| hess.hvp(w)),
        )?;
        per_block.push(c);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let eigen = &whole.eigen;
    let trace = whole.trace;
    let density = &whole.density;
    let basis = eigen.first().map(|(_, e, _)| e.vectors.shallow_clone());

    // alignment per minibatch
    let total: usize = sizes
        .iter()
        .map(|&b| if b == n { 1 } else { args.minibatches })
        .sum();
    let bar = progress(Some(total as u64), "hessian-align");
    let mut samples = Vec::new();
    for (bi, &b) in sizes.iter().enumerate() {
        let count = if b == n { 1 } else { args.minibatches };
        for i in 0..count {
            let idx: Vec<i64> = if b == n {
                (0..n as i64).collect()
            } else {
                sampler::independent(n, b, args.seed, ((bi as u64) << 32) | i as u64)
            };
            let (x, y) = train.batch(&idx, Device::Cpu)?;
            let (loss, g) = LossHessian::new(model, &x, &y, args.chunk, false)?.gradient()?;
            let gg = g.f_dot(&g)?.f_double_value(&[])?;
            let hg = hess.hvp(&g)?;
            let alignment = g.f_dot(&hg)?.f_double_value(&[])? / gg;
            let topk_share = match &basis {
                Some(u) => {
                    u.f_mv(&g)?
                        .f_square()?
                        .f_sum(Kind::Double)?
                        .f_double_value(&[])?
                        / gg
                }
                None => f64::NAN,
            };
            samples.push(Sample {
                batch_size: b,
                sample: i,
                loss,
                grad_norm: gg.sqrt(),
                alignment,
                topk_share,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let hvps = hess.products;
    drop(hess);

    // cosine trajectories
    let mut cos_rows: Vec<CosRow> = Vec::new();
    if !cos_sizes.is_empty() && args.cosine_steps > 0 {
        let bar = progress(
            Some((cos_sizes.len() * args.cosine_steps) as u64),
            "trajectories",
        );
        for &b in &cos_sizes {
            let mut r = replay_from(&args.checkpoint, &dirs, device)?;
            let start = if b == state.batch_size {
                state.step
            } else {
                r.trainer.set_batch_size(b, n);
                epoch * r.trainer.batches_per_epoch()
            };
            r.trainer.keep_grad = true;
            let mut prev: Option<Tensor> = None;
            for u in 0..args.cosine_steps as u64 {
                let done = r.trainer.step(&r.data.train, start + u)?;
                let g = done
                    .grad
                    .context("no gradient kept")?
                    .f_to_kind(Kind::Double)?;
                let norm = g.f_norm()?.f_double_value(&[])?;
                let cosine = match &prev {
                    Some(p) => {
                        p.f_dot(&g)?.f_double_value(&[])?
                            / (p.f_norm()?.f_double_value(&[])? * norm)
                    }
                    None => f64::NAN,
                };
                cos_rows.push(CosRow {
                    batch_size: b,
                    update: u + 1,
                    step: start + u + 1,
                    loss: done.loss,
                    grad_norm: norm,
                    cosine,
                });
                prev = Some(g);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();

    // tables
    struct Summary {
        b: usize,
        count: usize,
        align: (f64, f64),
        share: (f64, f64),
        norm: f64,
        loss: f64,
    }
    let summaries: Vec<Summary> = sizes
        .iter()
        .map(|&b| {
            let s: Vec<&Sample> = samples.iter().filter(|s| s.batch_size == b).collect();
            let a: Vec<f64> = s.iter().map(|s| s.alignment).collect();
            let t: Vec<f64> = s.iter().map(|s| s.topk_share).collect();
            Summary {
                b,
                count: s.len(),
                align: mean_sd(&a),
                share: mean_sd(&t),
                norm: mean_sd(&s.iter().map(|s| s.grad_norm).collect::<Vec<_>>()).0,
                loss: mean_sd(&s.iter().map(|s| s.loss).collect::<Vec<_>>()).0,
            }
        })
        .collect();
    let top = eigen
        .first()
        .and_then(|(_, e, _)| e.values.first().copied())
        .unwrap_or(f64::NAN);
    let (tr, tr_se) = trace.unwrap_or((f64::NAN, f64::NAN));
    let nrow = summaries.len();
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
    extra.insert("hessian_examples".into(), h_idx.len().into());
    extra.insert("top_k".into(), args.top_k.into());
    extra.insert("tol".into(), args.tol.into());
    extra.insert("batchnorm".into(), "eval".into());
    extra.insert("device".into(), device_name(device).into());
    let summary_table = TableBuilder::new()
        .u64("step", std::iter::repeat_n(state.step, nrow))
        .u64("epoch", std::iter::repeat_n(epoch, nrow))
        .u64("batch_size", summaries.iter().map(|s| s.b as u64))
        .u64("minibatches", summaries.iter().map(|s| s.count as u64))
        .f64("alignment_mean", summaries.iter().map(|s| s.align.0))
        .f64("alignment_sd", summaries.iter().map(|s| s.align.1))
        .f64("topk_share_mean", summaries.iter().map(|s| s.share.0))
        .f64("topk_share_sd", summaries.iter().map(|s| s.share.1))
        .f64("grad_norm_mean", summaries.iter().map(|s| s.norm))
        .f64("loss_mean", summaries.iter().map(|s| s.loss))
        .u64("top_k", std::iter::repeat_n(args.top_k as u64, nrow))
        .f64("top_eigenvalue", std::iter::repeat_n(top, nrow))
        .f64("hessian_trace", std::iter::repeat_n(tr, nrow))
        .f64("hessian_trace_se", std::iter::repeat_n(tr_se, nrow))
        .u64(
            "hessian_examples",
            std::iter::repeat_n(h_idx.len() as u64, nrow),
        )
        .build()?;
    let mut outputs = OutputSet::new();
    if let Some(p) = &args.samples_output {
        let t = TableBuilder::new()
            .u64("step", std::iter::repeat_n(state.step, samples.len()))
            .u64("batch_size", samples.iter().map(|s| s.batch_size as u64))
            .u64("sample", samples.iter().map(|s| s.sample as u64))
            .f64("loss", samples.iter().map(|s| s.loss))
            .f64("grad_norm", samples.iter().map(|s| s.grad_norm))
            .f64("alignment", samples.iter().map(|s| s.alignment))
            .f64("topk_share", samples.iter().map(|s| s.topk_share))
            .build()?;
        outputs.table(p, &t, &meta)?;
    }
    let curvatures: Vec<&Curvature> = std::iter::once(&whole).chain(&per_block).collect();
    if let Some(p) = &args.eigen_output {
        let mut block = Vec::new();
        let mut method = Vec::new();
        let mut rank = Vec::new();
        let mut value = Vec::new();
        let mut resid = Vec::new();
        let mut prods = Vec::new();
        for (c, (m, e, _)) in curvatures
            .iter()
            .flat_map(|c| c.eigen.iter().map(move |x| (c, x)))
        {
            for (i, (v, r)) in e.values.iter().zip(&e.residuals).enumerate() {
                block.push(c.block.clone());
                method.push(m.to_string());
                rank.push(i as u64 + 1);
                value.push(*v);
                resid.push(*r);
                prods.push(e.products as u64);
            }
        }
        let t = TableBuilder::new()
            .u64("step", std::iter::repeat_n(state.step, rank.len()))
            .u64("epoch", std::iter::repeat_n(epoch, rank.len()))
            .str("block", block)
            .str("method", method)
            .u64("rank", rank)
            .f64("eigenvalue", value)
            .f64("residual", resid)
            .u64("hvps", prods)
            .build()?;
        outputs.table(p, &t, &meta)?;
    }
    if let Some(p) = &args.cosine_output {
        let t = TableBuilder::new()
            .u64("batch_size", cos_rows.iter().map(|r| r.batch_size as u64))
            .u64("update", cos_rows.iter().map(|r| r.update))
            .u64("step", cos_rows.iter().map(|r| r.step))
            .f64("loss", cos_rows.iter().map(|r| r.loss))
            .f64("grad_norm", cos_rows.iter().map(|r| r.grad_norm))
            .f64("cosine", cos_rows.iter().map(|r| r.cosine))
            .build()?;
        outputs.table(p, &t, &meta)?;
    }
    if let Some(p) = &args.plot {
        outputs.drawn(p, |tmp| {
            plot(
                tmp,
                &summaries
                    .iter()
                    .map(|s| (s.b, s.align.0, s.align.1))
                    .collect::<Vec<_>>(),
                &cos_rows,
                &cos_sizes,
                epoch,
            )
        })?;
    }
    let densities: Vec<(&str, &Density)> = curvatures
        .iter()
        .filter_map(|c| c.density.as_ref().map(|d| (c.block.as_str(), d)))
        .collect();
    if let (Some(p), Some(dens)) = (&args.density, density) {
        let mut m = meta.clone();
        m.kind = "hessian-density".into();
        m.extra.insert("sigma".into(), dens.sigma.into());
        m.extra
            .insert("slq_probes".into(), (args.slq_probes as u64).into());
        m.extra
            .insert("slq_steps".into(), (args.slq_steps as u64).into());
        let rows: Vec<(&str, f64, f64)> = densities
            .iter()
            .flat_map(|(b, d)| d.grid.iter().zip(&d.values).map(move |(x, y)| (*b, *x, *y)))
            .collect();
        let t = TableBuilder::new()
            .u64("step", std::iter::repeat_n(state.step, rows.len()))
            .str("block", rows.iter().map(|r| r.0))
            .f64("eigenvalue", rows.iter().map(|r| r.1))
            .f64("density", rows.iter().map(|r| r.2))
            .build()?;
        outputs.table(p, &t, &m)?;
        if let Some(p) = &args.slq_nodes {
            let rows: Vec<(&str, u64, f64, f64)> = densities
                .iter()
                .flat_map(|(b, d)| {
                    d.probes.iter().enumerate().flat_map(move |(l, q)| {
                        q.nodes
                            .iter()
                            .zip(&q.weights)
                            .map(move |(x, w)| (*b, l as u64, *x, *w))
                    })
                })
                .collect();
            let t = TableBuilder::new()
                .u64("step", std::iter::repeat_n(state.step, rows.len()))
                .str("block", rows.iter().map(|r| r.0))
                .u64("probe", rows.iter().map(|r| r.1))
                .f64("eigenvalue", rows.iter().map(|r| r.2))
                .f64("weight", rows.iter().map(|r| r.3))
                .build()?;
            outputs.table(p, &t, &m)?;
        }
        if let Some(p) = &args.density_plot {
            outputs.drawn(p, |tmp| density_plot(tmp, &densities, state.step))?;
        }
    }
    let block_rows: Vec<BlockRow> = if block_list.is_empty() {
        Vec::new()
    } else {
        curvatures
            .iter()
            .map(|c| {
                let (trace, trace_se) = c.trace.unwrap_or((f64::NAN, f64::NAN));
                BlockRow {
                    step: state.step,
                    block: c.block.clone(),
                    tensors: block_list
                        .iter()
                        .find(|b| b.name == c.block)
                        .map(|b| b.tensors.join(","))
                        .unwrap_or_default(),
                    parameters: c.dim as u64,
                    top_eigenvalue: c
                        .eigen
                        .first()
                        .and_then(|(_, e, _)| e.values.first().copied())
                        .unwrap_or(f64::NAN),
                    trace,
                    trace_se,
                    hvps: c.hvps as u64,
                }
            })
            .collect()
    };
    let block_table = block_report();
    if let Some(p) = &args.blocks_output {
        let mut m = meta.clone();
        m.kind = "hessian-blocks".into();
        m.extra.insert(
            "blocks".into(),
            args.blocks.clone().unwrap_or_default().into(),
        );
        outputs.table(p, &block_table.table(&block_rows)?, &m)?;
    }
    outputs.table(&args.output, &summary_table, &meta)?;
    if let (Some(p), Some(dens)) = (&args.density, density) {
        let nodes = dens.probes.iter().flat_map(|q| q.nodes.iter().copied());
        let (lo, hi) = nodes.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
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

    // summary
    for (m, e, t) in eigen {
        errln!(
            "{m}: top {} eigenvalues {} ({} Hessian-vector products, {t:.2} s{})",
            e.values.len(),
            e.values
                .iter()
                .map(|v| num(*v))
                .collect::<Vec<_>>()
                .join(" "),
            e.products,
            if e.converged { "" } else { ", not converged" }
        );
    }
    if !block_rows.is_empty() {
        errln!("curvature per block (the diagonal blocks of H; `all` is the whole network):");
        gradscope_tool::console::err(&block_table.summary(&block_rows));
    }
    if let Some((t, se)) = trace {
        errln!(
            "trace (Hutchinson, {} probes): {} +- {}",
            args.trace_probes,
            num(t),
            num(se)
        );
    }
    if let Some(c) = &cost {
        errln!(
            "cost on {} examples: gradient {:.2} ms, Hessian-vector product ({}) {:.2} ms, ratio {:.2}; by double backward {:.2} ms, ratio {:.2}; a further product with the gradient's graph kept {:.2} ms, ratio {:.2}",
            args.cost_batch,
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
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            vec![
                if s.b == n {
                    format!("{} (full)", s.b)
                } else {
                    s.b.to_string()
                },
                s.count.to_string(),
                num(s.align.0),
                num(s.align.1),
                num(s.share.0),
                num(s.norm),
            ]
        })
        .collect();
    print_table(
        &[
            "batch size",
            "minibatches",
            "alignment",
            "sd",
            "top-k share",
            "|g|",
        ],
        &rows,
    );
    for &b in &cos_sizes {
        let c: Vec<f64> = cos_rows
            .iter()
            .filter(|r| r.batch_size == b && r.cosine.is_finite())
            .map(|r| r.cosine)
            .collect();
        let (m, sd) = mean_sd(&c);
        errln!(
            "cosine of consecutive gradients, batch size {b}: mean {} sd {} over {} pairs",
            num(m),
            num(sd),
            c.len()
        );
    }
    errln!(
        "hessian-align: {} at step {} (epoch {epoch}), H on {} examples, {hvps} Hessian-vector products, {secs:.1} s",
        state.model,
        state.step,
        h_idx.len()
    );
    if args.json.enabled {
        let v = serde_json::json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "step": state.step,
            "epoch": epoch,
            "hessian_examples": h_idx.len(),
            "hvps": hvps,
            "seconds": secs,
            "eigen": eigen.iter().map(|(m, e, t)| serde_json::json!({
                "method": m, "values": e.values, "residuals": e.residuals,
                "hvps": e.products, "converged": e.converged, "seconds": t,
            })).collect::<Vec<_>>(),
            "blocks": block_table.json(&block_rows),
            "trace": trace.map(|(t, se)| serde_json::json!({"mean": t, "se": se, "probes": args.trace_probes})),
            "cost": cost.map(|c| serde_json::json!({
                "batch": args.cost_batch, "method": c.method, "gradient_s": c.gradient,
                "hvp_s": c.hvp, "ratio": c.hvp / c.gradient,
                "hvp_double_backward_s": c.double_backward,
                "ratio_double_backward": c.double_backward / c.gradient,
                "hvp_graph_kept_s": c.graph_kept, "ratio_graph_kept": c.graph_kept / c.gradient})),
            "alignment": summaries.iter().map(|s| serde_json::json!({
                "batch_size": s.b, "minibatches": s.count, "mean": s.align.0, "sd": s.align.1,
                "topk_share_mean": if s.share.0.is_nan() { None } else { Some(s.share.0) },
            })).collect::<Vec<_>>(),
            "cosine": cos_sizes.iter().map(|&b| {
                let c: Vec<f64> = cos_rows.iter().filter(|r| r.batch_size == b && r.cosine.is_finite()).map(|r| r.cosine).collect();
                let (m, sd) = mean_sd(&c);
                serde_json::json!({"batch_size": b, "mean": m, "sd": sd, "pairs": c.len()})
            }).collect::<Vec<_>>(),
        });
        outputs.json(&v)?;
    }
    outputs.commit()
}

/// Figure 5 (alignment mean +- sd against batch size, log x) and Figure 7 (cosine of
/// consecutive gradients along each trajectory).
fn plot(
    path: &Path,
    align: &[(usize, f64, f64)],
    cos: &[CosRow],
    cos_sizes: &[usize],
    epoch: u64,
) -> Result<()> {
    let mut panels = Vec::new();
    // the alignment panel, unless it would show a single batch size beside the cosines
    if align.len() > 1 || cos.is_empty() {
        panels.push(Panel {
            title: format!("alignment g'Hg/|g|^2 after epoch {epoch}"),
            x_label: "batch size".into(),
            y_label: "alignment".into(),
            log_x: true,
            log_y: false,
            series: vec![
                Series::new("mean", align.iter().map(|a| (a.0 as f64, a.1)).collect(), 1),
                Series::new(
                    "mean + sd",
                    align.iter().map(|a| (a.0 as f64, a.1 + a.2)).collect(),
                    1,
                )
                .dashed(),
                Series::new(
                    "mean - sd",
                    align.iter().map(|a| (a.0 as f64, a.1 - a.2)).collect(),
                    1,
                )
                .dashed(),
            ],
            hlines: vec![],
        });
    }
    if !cos.is_empty() {
        panels.push(Panel {
            title: "cosine of consecutive minibatch gradients".into(),
            x_label: "updates from the checkpoint".into(),
            y_label: "cos(g_t-1, g_t)".into(),
            log_x: false,
            log_y: false,
            series: cos_sizes
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    Series::new(
                        &format!("batch size {b}"),
                        cos.iter()
                            .filter(|r| r.batch_size == b && r.cosine.is_finite())
                            .map(|r| (r.update as f64, r.cosine))
                            .collect(),
                        i + 1,
                    )
                    .without_markers()
                })
                .collect(),
            hlines: vec![(0.0, String::new(), 7)],
        });
    }
    draw_png(path, 620 * panels.len() as u32, 460, &panels)
}

/// The broadened spectral density on its grid, with the quadrature it came from.
struct Density {
    probes: Vec<Quadrature>,
    sigma: f64,
    grid: Vec<f64>,
    values: Vec<f64>,
}

/// `--grid LO:HI:POINTS`.
fn parse_grid(s: &str) -> Result<(f64, f64, usize)> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || {
        anyhow::anyhow!("--grid {s}: expected LO:HI:POINTS with LO < HI and 2 to 1,000,000 points")
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let lo: f64 = parts[0].parse().map_err(|_| bad())?;
    let hi: f64 = parts[1].parse().map_err(|_| bad())?;
    let n: usize = parts[2].parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi && (2..=1_000_000).contains(&n)) {
        return Err(bad());
    }
    Ok((lo, hi, n))
}

/// sigma 0 means 1/100 of the nodes' range; no grid means that range widened by 5 sigma.
fn spectral_density(
    probes: Vec<Quadrature>,
    sigma: f64,
    grid: Option<(f64, f64, usize)>,
) -> Result<Density> {
    let lo = probes
        .iter()
        .flat_map(|q| q.nodes.iter().copied())
        .fold(f64::INFINITY, f64::min);
    let hi = probes
        .iter()
        .flat_map(|q| q.nodes.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let sigma = if sigma > 0.0 {
        sigma
    } else {
        ((hi - lo) / 100.0).max(f64::MIN_POSITIVE.sqrt() * hi.abs().max(1.0))
    };
    let (a, b, n) = grid.unwrap_or((lo - 5.0 * sigma, hi + 5.0 * sigma, 1001));
    let grid = linear_grid(a, b, n);
    let values = gaussian_density(&probes, &grid, sigma)?;
    Ok(Density {
        probes,
        sigma,
        grid,
        values,
    })
}

/// The curvature of one symmetric operator: the whole Hessian (`all`) or a diagonal block.
struct Curvature {
    /// The block's name (`all`: the whole network).
    block: String,
    /// Its dimension.
    dim: usize,
    /// (method, eigenpairs, seconds) per solver asked for.
    eigen: Vec<(&'static str, Eigen, f64)>,
    /// Hutchinson's (mean, standard error).
    trace: Option<(f64, f64)>,
    density: Option<Density>,
    /// Operator products taken.
    hvps: usize,
}

/// Top eigenvalues (-k, capped at the operator's dimension), Hutchinson's trace and the
/// SLQ density of the `dim` x `dim` operator `apply`, as the arguments ask; every method
/// takes the same seeds whatever the block, so a run is reproducible block by block.
fn curvature(
    args: &Args,
    block: &str,
    dim: usize,
    grid: Option<(f64, f64, usize)>,
    device: Device,
    apply: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Curvature> {
    let mut hvps = 0usize;
    let mut counted = |v: &Tensor| {
        hvps += 1;
        apply(v)
    };
    let k = args.top_k.min(dim);
    let mut eigen: Vec<(&'static str, Eigen, f64)> = Vec::new();
    if k > 0 {
        if matches!(args.method, Method::Lanczos | Method::Both) {
            let c = Instant::now();
            let e = lanczos(
                dim,
                k,
                args.max_iter,
                args.tol,
                args.seed,
                device,
                &mut counted,
            )?;
            eigen.push(("lanczos", e, c.elapsed().as_secs_f64()));
        }
        if matches!(args.method, Method::Power | Method::Both) {
            let c = Instant::now();
            let e = power_iteration(
                dim,
                k,
                args.max_iter,
                args.tol,
                args.seed,
                device,
                &mut counted,
            )?;
            eigen.push(("power", e, c.elapsed().as_secs_f64()));
        }
        for (m, e, _) in &eigen {
            if !e.converged {
                let of = if block == "all" {
                    String::new()
                } else {
                    format!(" on block {block}")
                };
                errln!(
                    "hessian-align: warning: {m}{of} did not reach --tol {} within --max-iter {} (see the residual column)",
                    args.tol, args.max_iter
                );
            }
        }
    }
    let trace = if args.trace_probes > 0 {
        Some(hutchinson_trace(
            dim,
            args.trace_probes,
            args.seed,
            device,
            &mut counted,
        )?)
    } else {
        None
    };
    let density = match &args.density {
        Some(_) => Some(spectral_density(
            stochastic_lanczos_quadrature(
                dim,
                args.slq_probes,
                args.slq_steps,
                args.seed,
                device,
                &mut counted,
            )?,
            args.sigma,
            grid,
        )?),
        None => None,
    };
    Ok(Curvature {
        block: block.to_string(),
        dim,
        eigen,
        trace,
        density,
        hvps,
    })
}

/// One row of `--blocks-output`.
struct BlockRow {
    step: u64,
    block: String,
    tensors: String,
    parameters: u64,
    top_eigenvalue: f64,
    trace: f64,
    trace_se: f64,
    hvps: u64,
}

/// The per-block table, its summary and its JSON, described once.
fn block_report() -> Report<BlockRow> {
    Report::new(vec![
        Column::u64("step", |r: &BlockRow| r.step),
        Column::str("block", |r: &BlockRow| &r.block)
            .summary("block")
            .json(),
        Column::str("tensors", |r: &BlockRow| &r.tensors).json(),
        Column::u64("parameters", |r: &BlockRow| r.parameters)
            .summary("parameters")
            .json(),
        Column::f64("top_eigenvalue", |r: &BlockRow| r.top_eigenvalue)
            .unit("loss / parameter^2")
            .summary("top eigenvalue")
            .json(),
        Column::f64("trace", |r: &BlockRow| r.trace)
            .unit("loss / parameter^2")
            .summary("trace")
            .json(),
        Column::f64("trace_se", |r: &BlockRow| r.trace_se)
            .unit("loss / parameter^2")
            .summary("trace se")
            .json(),
        Column::u64("hvps", |r: &BlockRow| r.hvps)
            .summary("HVPs")
            .json(),
    ])
}

/// The densities (the whole network's and each block's) on a log y axis, as Ghorbani,
/// Krishnan and Xiao (2019) draw theirs in Figure 1: the outliers several decades below
/// the bulk are visible only so. A log axis has no zero, and a Gaussian's tails underflow:
/// values below 1e-6 of the highest are drawn at that floor.
fn density_plot(path: &Path, curves: &[(&str, &Density)], step: u64) -> Result<()> {
    let peak = curves
        .iter()
        .flat_map(|(_, d)| d.values.iter().copied())
        .fold(0.0f64, f64::max);
    let floor = peak * 1e-6;
    let series = curves
        .iter()
        .enumerate()
        .map(|(i, (name, d))| {
            Series::new(
                name,
                d.grid
                    .iter()
                    .zip(&d.values)
                    .map(|(x, y)| (*x, y.max(floor)))
                    .collect(),
                i % 8,
            )
            .without_markers()
        })
        .collect();
    draw_png(
        path,
        760,
        520,
        &[Panel {
            title: format!("Hessian spectral density (SLQ) at step {step}"),
            x_label: "eigenvalue".into(),
            y_label: "density".into(),
            log_x: false,
            log_y: true,
            series,
            hlines: vec![],
        }],
    )
}
