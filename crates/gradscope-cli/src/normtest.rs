//! `normtest`: is the gradient noise Gaussian, coordinate by coordinate?
//!
//! Two studies ask this question in two ways, and the tool answers both.
//!
//! **Iteration-wise** (default, `--mode iteration`; Wu et al., "Revisiting the
//! characteristics of stochastic gradient noise and dynamics", Tables 1-2 and Figure 2):
//! at one parameter point (a `step` of the gradient matrix) the n minibatch gradients
//! g_1..g_n are drawn; coordinate j of tensor T gives the sample (g_1[j], ..., g_n[j]),
//! whose normality is tested with Shapiro-Wilk (AS R94) and/or the D'Agostino-Pearson K^2
//! test. One summary row per (step, batch size, tensor, test) reports the percentage of coordinates
//! whose test does not reject normality at `--alpha` (the study's "percentage of Gaussian
//! coordinates"), the mean p-value, and the 5/50/95 % quantiles of the Berry-Esseen ratio
//! beta/sigma^3 = E|X - mu|^3 / sigma^3 and of the Mohammadi-Mohammadpour-Ogata tail
//! index (Simsekli et al. 2019) over the coordinates.
//!
//! **Dimension-wise versus iteration-wise** (`--mode dimension`; Xie et al., "On the
//! overlooked structure of stochastic gradients", appendix B.2 and Tables 2-3). The
//! study's gradient history matrix has one row per parameter and one column per
//! iteration (minibatch). A *dimension-wise* gradient is a column: one minibatch gradient
//! read across its coordinates; an *iteration-wise* gradient is a row: one coordinate read
//! across the minibatches. The study tests K = 100 randomly chosen entries of each with
//! scipy's `normaltest` (K^2, its "chi-square normal test"; the whitening it applies first
//! is an affine map, to which K^2 and W are invariant) and reports the mean p-value and
//! the Gaussian rate (share of tested sets with p > 0.05). Here:
//! - dimension-wise: for every gradient (step, sample), `--dim-coords` K coordinates are
//!   drawn at random (without replacement, a fresh draw per gradient) from each tensor
//!   and from the whole gradient (scope `all`), and tested; the rate is over the
//!   gradients of a step;
//! - iteration-wise: at every step, `--iter-samples` K of its n gradients are drawn at
//!   random (one draw per step, kept in sampling order), and every coordinate (or the
//!   `--coords` subset) is tested over those K values; the rate is over coordinates.
//!
//! A coordinate whose samples are all equal (a dead unit, a frozen parameter) has no
//! shape: it is counted in `coords_constant`, noted on stderr, and left out of the
//! percentage, never counted as Gaussian (scipy would answer p = 1 for it).
//!
//! **Split by coordinate** (`--coords START:END`, `--shard I/N`; iteration mode). Each
//! coordinate's tests depend on that coordinate's samples alone, so a run can be cut into
//! blocks of the flattened coordinate index, one process each: every part tests all the
//! coordinates of its block, and the parts' per-coordinate tables concatenated in block
//! order, then sorted stably by step (a no-op for one step), are the whole run's table
//! row for row. Summary numbers are combined from that table, not from the parts'
//! summaries: the percentage of Gaussian coordinates of a tensor is 100 x (rows with p >
//! alpha) / (rows with a p-value), the mean p-value the mean of the p column, the
//! quantiles those of the beta_sigma3 and tail_index columns.
//!
//! **Memory.** The tests need each coordinate across all samples, but a gradient matrix
//! is stored sample by sample, so the tool never holds the matrix. A first pass counts
//! the samples of each step (and checks the whole file: order, NaN, too few samples
//! before any test runs). Then the tested coordinates are cut into blocks of at most
//! `--block-mb` MiB of f32 values (n per coordinate, plus the staging rows and per
//! coordinate results), and the file is read once per block, copying only that block's
//! coordinates into a coordinate-major buffer; at the end of every step the block is
//! tested in parallel (rayon, one workspace per thread) and the results are reduced in
//! coordinate order, so the output is the same for any thread count and any block size.
//! Standard input is copied to a temporary file first, since it cannot be read twice.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::atomic::AtomicFile;
use gradscope_io::{is_stdio, GradReader, Provenance, Sample, TensorLayout};
use gradscope_stats::normality::{
    default_block_length, CoordinateReport, CoordinateTests, TestSelection, Workspace,
    SHAPIRO_WILK_MAX_N, SHAPIRO_WILK_MIN_N, SKEW_TEST_MIN_N,
};
use gradscope_stats::rng::{splitmix64, stream};
use gradscope_tool::args::{one_stdout, table_path, Json, Threads};
use gradscope_tool::coord_split::CoordSplit;
use gradscope_tool::progress::progress;
use gradscope_tool::table_builder::TableBuilder;
use gradscope_tool::text_table::{json_num, num, print_table};
use gradscope_tool::{errln, tool_name, OutputSet};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which reading of the gradient matrix is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Each coordinate over the n gradients of a step (Wu et al.).
    Iteration,
    /// Each gradient over K random coordinates, beside each coordinate over K random
    /// gradients (Xie et al., Tables 2-3).
    Dimension,
}

/// Which normality tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestChoice {
    /// Shapiro-Wilk W (AS R94), 3 <= n <= 5000.
    Shapiro,
    /// D'Agostino-Pearson K^2 (scipy's normaltest), n >= 8.
    Dagostino,
    /// Both, one summary row each.
    Both,
}

/// Per-coordinate Gaussianity tests (Shapiro-Wilk, D'Agostino-Pearson K^2) of a gradient
/// matrix.
#[derive(Debug, Parser)]
#[command(name = "normtest", version, about, long_about = None)]
pub struct Args {
    /// Gradient matrix to read: a Parquet file or Arrow IPC stream, `-` for stdin (copied
    /// to a temporary file first, since it is read once per block of coordinates).
    #[arg(short, long, default_value = "-")]
    pub input: PathBuf,

    /// Summary table, one row per (step, tensor, test): .parquet, .csv or .json by
    /// extension, `-` for CSV on stdout. Without it only the summary on stderr (and
    /// `--json` on stdout) is written.
    #[arg(short, long, value_parser = table_path)]
    pub output: Option<PathBuf>,

    /// `iteration`: each coordinate over the n gradients of a step (the Gaussianity
    /// study). `dimension`: each gradient over --dim-coords random coordinates, beside
    /// each coordinate over --iter-samples random gradients (the structure study).
    #[arg(long, value_enum, default_value_t = Mode::Iteration)]
    pub mode: Mode,

    /// Tests to run: shapiro (Shapiro-Wilk), dagostino (K^2 omnibus), or both.
    #[arg(long, value_enum, default_value_t = TestChoice::Both)]
    pub test: TestChoice,

    /// Significance level: a coordinate counts as Gaussian when its p-value exceeds it.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,

    /// K: test a seeded random subset of K coordinates per tensor (default: all of them;
    /// the same subset at every step). START:END: test the coordinates START..END of the
    /// flattened gradient (0-based, END excluded), one part of a run split by coordinate:
    /// the parts' --per-coordinate tables concatenated are the whole run's.
    #[arg(long, value_name = "K|START:END")]
    pub coords: Option<String>,

    /// Test only shard I of N (I = 0..N-1) of the coordinates: the I-th of N contiguous
    /// blocks of the flattened gradient (iteration mode). The N parts' --per-coordinate
    /// tables concatenated in shard order are the whole run's.
    #[arg(long, value_name = "I/N", conflicts_with = "coords")]
    pub shard: Option<String>,

    /// Iteration mode: when a step holds more than M gradients, test a seeded random
    /// subset of M of them (kept in sampling order). Shapiro-Wilk needs M <= 5000.
    #[arg(long, value_name = "M")]
    pub max_samples: Option<usize>,

    /// Dimension mode: coordinates K drawn for each dimension-wise test (the study's K).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub dim_coords: usize,

    /// Dimension mode: gradients K drawn per step for the iteration-wise tests (the
    /// study's K; all of them when a step has fewer).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub iter_samples: usize,

    /// One row per tested coordinate (step, tensor, index, n, shapiro_w, shapiro_p,
    /// skew_z, kurt_z, k2, k2_p, beta_sigma3, tail_index): .parquet, .csv or .json.
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub per_coordinate: Option<PathBuf>,

    /// Memory for one block of coordinates, in MiB (2^20 bytes): the file is read once
    /// per block. Fractions are allowed.
    #[arg(long, default_value_t = 256.0)]
    pub block_mb: f64,

    /// Seed of the coordinate and sample subsets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub threads: Threads,

    #[command(flatten)]
    pub json: Json,
}

/// Salts that keep the random draws of the different subsets apart.
const SALT_COORDS: u64 = 0x636f_6f72_6473;
const SALT_SAMPLES: u64 = 0x7361_6d70_6c65;
const SALT_DIMENSION: u64 = 0x6469_6d65_6e73;

/// Samples staged (sample-major) before they are transposed into the coordinate-major
/// block buffer: 16 f32 = one 64-byte cache line per coordinate and flush.
const STAGE_ROWS: usize = 16;

/// One parameter point as the first pass saw it.
#[derive(Debug, Clone)]
struct StepInfo {
    step: u64,
    /// Gradients at this step.
    n: usize,
    batch_size: u32,
    /// Position of each gradient in the tested sample (None: not tested), when only a
    /// subset of the gradients is tested.
    slots: Option<Vec<Option<u32>>>,
    /// Gradients tested per coordinate.
    m: usize,
}

impl StepInfo {
    /// Whether `sample` belongs to this group: the same step and batch size.
    fn holds(&self, sample: &Sample) -> bool {
        (self.step, self.batch_size) == (sample.step, sample.batch_size)
    }

    fn slot(&self, pos: usize) -> Option<usize> {
        match &self.slots {
            None => Some(pos),
            Some(s) => s[pos].map(|v| v as usize),
        }
    }
}

/// The results of one coordinate that the tool keeps (NaN: not run or undefined).
#[derive(Debug, Clone, Copy)]
struct CoordOut {
    constant: bool,
    shapiro_w: f64,
    shapiro_p: f64,
    skew_z: f64,
    kurt_z: f64,
    k2: f64,
    k2_p: f64,
    beta_sigma3: f64,
    tail_index: f64,
}

impl From<&CoordinateReport> for CoordOut {
    fn from(r: &CoordinateReport) -> Self {
        let f = |x: Option<f64>| x.unwrap_or(f64::NAN);
        Self {
            constant: r.constant,
            shapiro_w: f(r.shapiro_w),
            shapiro_p: f(r.shapiro_p),
            skew_z: f(r.skew_z),
            kurt_z: f(r.kurt_z),
            k2: f(r.k2),
            k2_p: f(r.k2_p),
            beta_sigma3: f(r.beta_sigma3),
            tail_index: f(r.tail_index),
        }
    }
}

/// Counts behind one test's Gaussian percentage and mean p-value.
#[derive(Debug, Clone, Default)]
struct TestAgg {
    /// Non-constant sets with a p-value.
    with_p: u64,
    /// Of those, p > alpha.
    accepted: u64,
    /// Sum of their p-values (f64, in coordinate order).
    sum_p: f64,
}

impl TestAgg {
    fn add(&mut self, p: f64, alpha: f64) {
        if !p.is_nan() {
            self.with_p += 1;
            self.accepted += u64::from(p > alpha);
            self.sum_p += p;
        }
    }
}

/// Everything one (step, scope) accumulates.
#[derive(Debug, Clone, Default)]
struct Agg {
    tested: u64,
    constant: u64,
    shapiro: TestAgg,
    dagostino: TestAgg,
    beta_sigma3: Vec<f64>,
    tail_index: Vec<f64>,
}

impl Agg {
    fn add(&mut self, c: &CoordOut, alpha: f64, keep_quantiles: bool) {
        self.tested += 1;
        if c.constant {
            self.constant += 1;
            return;
        }
        self.shapiro.add(c.shapiro_p, alpha);
        self.dagostino.add(c.k2_p, alpha);
        if keep_quantiles {
            if c.beta_sigma3.is_finite() {
                self.beta_sigma3.push(c.beta_sigma3);
            }
            if c.tail_index.is_finite() {
                self.tail_index.push(c.tail_index);
            }
        }
    }
}

/// One summary row.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: u64,
    pub tensor: String,
    /// "iteration" or "dimension".
    pub wise: &'static str,
    /// "shapiro" or "dagostino".
    pub test: &'static str,
    /// Values per tested set (samples per coordinate, or coordinates per gradient).
    pub n: u64,
    pub batch_size: u32,
    pub tested: u64,
    pub constant: u64,
    /// Non-constant sets without a p-value (the test is undefined for them).
    pub undefined: u64,
    pub gaussian: u64,
    pub gaussian_pct: f64,
    pub mean_p: f64,
    /// Quantiles 5, 50, 95 % of beta/sigma^3 and of the tail index (NaN where not kept).
    pub beta_q: [f64; 3],
    pub tail_q: [f64; 3],
}

/// One per-coordinate row.
#[derive(Debug, Clone)]
struct CoordRow {
    step_idx: u32,
    scope: u32,
    index: u64,
    n: u32,
    out: CoordOut,
}

/// The input as a path that can be read more than once.
struct Input {
    path: PathBuf,
    /// The name for messages.
    name: String,
    /// The spool file of a stream read from stdin: an uncommitted [`AtomicFile`] in the
    /// temporary directory, so it is removed at exit, and seen by whatever removes live
    /// temporary files on a signal.
    _spill: Option<AtomicFile>,
}

fn open_input(input: &Path) -> Result<Input> {
    if !is_stdio(input) {
        return Ok(Input {
            path: input.to_path_buf(),
            name: input.display().to_string(),
            _spill: None,
        });
    }
    let spill = AtomicFile::create(&std::env::temp_dir().join("normtest-stdin.arrows"))
        .context("stdin: cannot create a temporary file to hold the stream (set TMPDIR)")?;
    let mut file = spill.file()?;
    let bytes = std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|n| file.sync_data().map(|()| n))
        .context("stdin: cannot copy the stream to a temporary file (is TMPDIR full?)")?;
    errln!(
        "note: stdin: copied the stream ({} MiB) to a temporary file, since the coordinates \
         are read once per block; it is removed at exit",
        num(bytes as f64 / 1048576.0)
    );
    Ok(Input {
        path: spill.path().to_path_buf(),
        name: "stdin".into(),
        _spill: Some(spill),
    })
}

/// Opens the input; a spilled stream's errors name stdin, not the temporary file.
fn open_reader(input: &Input) -> Result<GradReader> {
    GradReader::open(&input.path).map_err(|e| rename(e, input))
}

fn rename(e: anyhow::Error, input: &Input) -> anyhow::Error {
    if input._spill.is_some() {
        let tmp = input.path.display().to_string();
        anyhow!(gradscope_tool::exit::one_line(&e).replace(&tmp, "stdin"))
    } else {
        e
    }
}

/// The quantile q of sorted finite values: linear interpolation between order
/// statistics (Hyndman and Fan's type 7, numpy's and R's default); NaN when empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn quantiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    [0.05, 0.5, 0.95].map(|q| quantile(&v, q))
}

/// `k` distinct indices below `len`, drawn uniformly and sorted (all of them when
/// `k >= len`).
fn subset(rng: &mut gradscope_stats::rng::Rng, len: usize, k: usize) -> Vec<usize> {
    if k >= len {
        return (0..len).collect();
    }
    let mut v = rand::seq::index::sample(rng, len, k).into_vec();
    v.sort_unstable();
    v
}

/// The plans per sample size, built once: the tail index needs a block length dividing
/// n, which a prime n lacks (its column is then null, with a note).
struct Plans {
    selection: TestSelection,
    plans: HashMap<usize, CoordinateTests>,
}

impl Plans {
    fn get(&mut self, n: usize) -> Result<&CoordinateTests> {
        if !self.plans.contains_key(&n) {
            let mut sel = self.selection;
            if sel.tail_index && default_block_length(n).is_none() {
                errln!(
                    "note: the tail index needs a block length dividing the sample size; \
                     {n} has none (a prime), so its column is null for samples of {n}"
                );
                sel.tail_index = false;
            }
            let plan = CoordinateTests::new(n, sel).map_err(|e| anyhow!("samples of {n}: {e}"))?;
            self.plans.insert(n, plan);
        }
        Ok(&self.plans[&n])
    }
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha {} must lie strictly between 0 and 1", args.alpha);
    }
    if !(args.block_mb.is_finite() && args.block_mb > 0.0) {
        bail!(
            "--block-mb {} must be a positive number of MiB",
            args.block_mb
        );
    }
    // --coords is a count (a random subset per tensor) or a range (a part of a split run).
    let (subset_k, split) = match (&args.coords, &args.shard) {
        (Some(c), _) if c.contains(':') => (None, Some(CoordSplit::parse_range("--coords", c)?)),
        (Some(c), _) => {
            let k: usize = c.trim().parse().map_err(|_| {
                anyhow!("--coords {c}: expected a number of coordinates K or a range START:END")
            })?;
            (Some(k), None)
        }
        (None, Some(sh)) => (None, Some(CoordSplit::parse_shard(sh)?)),
        (None, None) => (None, None),
    };
    if subset_k == Some(0) {
        bail!("--coords 0 tests nothing: give a positive number of coordinates per tensor");
    }
    if let Some(sp) = split {
        if args.mode == Mode::Dimension {
            bail!(
                "{}: a split by coordinate applies to --mode iteration (dimension-wise tests draw from every coordinate of a gradient)",
                sp.describe()
            );
        }
    }
    one_stdout(
        args.json.enabled,
        [args.output.as_deref(), args.per_coordinate.as_deref()],
    )?;
    args.threads.init();
    let shapiro = matches!(args.test, TestChoice::Shapiro | TestChoice::Both);
    let dagostino = matches!(args.test, TestChoice::Dagostino | TestChoice::Both);
    let min_n = if dagostino {
        SKEW_TEST_MIN_N
    } else {
        SHAPIRO_WILK_MIN_N
    };
    let dimension = args.mode == Mode::Dimension;
    if dimension && args.dim_coords < min_n {
        bail!(
            "--dim-coords {} is too few: the selected tests need at least {min_n} values",
            args.dim_coords
        );
    }
    if dimension && args.iter_samples < min_n {
        bail!(
            "--iter-samples {} is too few: the selected tests need at least {min_n} values",
            args.iter_samples
        );
    }
    if let Some(m) = args.max_samples {
        if m < min_n {
            bail!("--max-samples {m} is too few: the selected tests need at least {min_n} samples");
        }
    }

    let input = open_input(&args.input)?;
    let mut reader = open_reader(&input)?;
    let meta = reader.meta().clone();
    let layout: Vec<TensorLayout> = meta.layout.clone();
    let all_scope = layout.len();
    let selection = TestSelection {
        shapiro_wilk: shapiro,
        dagostino,
        moments: true,
        tail_index: true,
        tail_block: None,
    };
    let dim_selection = TestSelection {
        moments: false,
        tail_index: false,
        ..selection
    };

    // Pass 1: the steps and their sample counts; in dimension mode also the
    // dimension-wise tests, which need one gradient at a time.
    let bar = progress(None, "normtest: counting");
    let mut steps: Vec<StepInfo> = Vec::new();
    let mut dim_aggs: Vec<Vec<Agg>> = Vec::new();
    let mut dim_plans = Plans {
        selection: dim_selection,
        plans: HashMap::new(),
    };
    let mut dim_ws = Workspace::default();
    let mut gathered: Vec<f32> = Vec::new();
    let mut sample = Sample::default();
    let mut samples_total: u64 = 0;
    while reader
        .next_sample(&mut sample)
        .map_err(|e| rename(e, &input))?
    {
        // A group per step and batch size (`dump-grads -b 64,128` writes both at one step).
        if steps.last().is_none_or(|s| !s.holds(&sample)) {
            steps.push(StepInfo {
                step: sample.step,
                n: 0,
                batch_size: sample.batch_size,
                slots: None,
                m: 0,
            });
            dim_aggs.push(vec![Agg::default(); layout.len() + 1]);
        }
        let info = steps.last_mut().expect("pushed above");
        info.n += 1;
        if dimension {
            let aggs = dim_aggs.last_mut().expect("pushed above");
            let mut rng = stream(seed_for(args.seed, SALT_DIMENSION), samples_total);
            for scope in 0..=layout.len() {
                let (offset, numel) = if scope == all_scope {
                    (0, meta.dim())
                } else {
                    (layout[scope].offset, layout[scope].numel)
                };
                let k = args.dim_coords.min(numel);
                if k < min_n {
                    continue;
                }
                gathered.clear();
                gathered.extend(
                    subset(&mut rng, numel, k)
                        .into_iter()
                        .map(|i| sample.values[offset + i]),
                );
                let plan = dim_plans.get(k)?;
                let report = plan
                    .run_f32(&gathered, &mut dim_ws)
                    .map_err(|e| anyhow!("{}: {e}", input.name))?;
                aggs[scope].add(&CoordOut::from(&report), args.alpha, false);
            }
        }
        samples_total += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if steps.is_empty() {
        bail!("{}: the gradient matrix holds no samples", input.name);
    }

    // Which gradients of each step are tested.
    for (i, info) in steps.iter_mut().enumerate() {
        let limit = if dimension {
            Some(args.iter_samples)
        } else {
            args.max_samples
        };
        info.m = info.n;
        if let Some(k) = limit.filter(|&k| k < info.n) {
            let mut rng = stream(seed_for(args.seed, SALT_SAMPLES), i as u64);
            let mut slots = vec![None; info.n];
            for (slot, pos) in subset(&mut rng, info.n, k).into_iter().enumerate() {
                slots[pos] = Some(slot as u32);
            }
            info.slots = Some(slots);
            info.m = k;
        }
        let what = if dimension {
            "iteration-wise tests over --iter-samples"
        } else {
            "each coordinate's test"
        };
        if shapiro && info.m < SHAPIRO_WILK_MIN_N {
            bail!(
                "{}: step {} holds {} gradient(s): Shapiro-Wilk needs at least {} samples per coordinate (write more minibatch gradients per step)",
                input.name, info.step, info.n, SHAPIRO_WILK_MIN_N
            );
        }
        if info.m < min_n {
            bail!(
                "{}: step {} holds {} gradients: D'Agostino's skewness test needs at least {min_n} samples per coordinate (use --test shapiro, or write more gradients per step)",
                input.name, info.step, info.n
            );
        }
        if shapiro && info.m > SHAPIRO_WILK_MAX_N {
            bail!(
                "{}: step {} holds {} gradients: Shapiro-Wilk (AS R94) is validated for at most {SHAPIRO_WILK_MAX_N} samples; use --max-samples {SHAPIRO_WILK_MAX_N} (a seeded random subset) or --test dagostino",
                input.name, info.step, info.n
            );
        }
        if dimension && info.n < args.iter_samples {
            errln!(
                "note: step {} holds {} gradients, fewer than --iter-samples {}: the {what} use all of them",
                info.step, info.n, args.iter_samples
            );
        }
    }

    // The part of a split run: its coordinates, checked against the dimension.
    let part = match split {
        Some(sp) => Some(sp.range(meta.dim())?),
        None => None,
    };
    // The tested coordinates, in layout order: (scope, index in the tensor).
    let mut coords: Vec<(u32, u64)> = Vec::new();
    for (t, tensor) in layout.iter().enumerate() {
        if let Some(r) = &part {
            // The tensor's coordinates inside the part, all of them tested.
            let lo = r.start.clamp(tensor.offset, tensor.offset + tensor.numel);
            let hi = r.end.clamp(tensor.offset, tensor.offset + tensor.numel);
            coords.extend((lo..hi).map(|j| (t as u32, (j - tensor.offset) as u64)));
            continue;
        }
        let k = subset_k.unwrap_or(tensor.numel);
        let mut rng = stream(seed_for(args.seed, SALT_COORDS), t as u64);
        coords.extend(
            subset(&mut rng, tensor.numel, k)
                .into_iter()
                .map(|i| (t as u32, i as u64)),
        );
    }
    let m_max = steps.iter().map(|s| s.m).max().expect("a step");
    let per_coord_bytes = 4 * (m_max + STAGE_ROWS)
        + std::mem::size_of::<CoordOut>()
        + if args.per_coordinate.is_some() {
            std::mem::size_of::<CoordRow>()
        } else {
            0
        };
    let width = ((args.block_mb * 1048576.0) as usize / per_coord_bytes).max(1);
    let blocks: Vec<&[(u32, u64)]> = coords.chunks(width).collect();

    // Pass 2..: one read of the file per block of coordinates.
    let mut plans = Plans {
        selection,
        plans: HashMap::new(),
    };
    for info in &steps {
        plans.get(info.m)?;
    }
    let keep_all = dimension;
    let mut aggs: Vec<Vec<Agg>> = vec![vec![Agg::default(); layout.len() + 1]; steps.len()];
    let mut per_coord: Vec<CoordRow> = Vec::new();
    let bar = progress(Some(samples_total * blocks.len() as u64), "normtest");
    if blocks.len() > 1 {
        errln!(
            "note: {} coordinates in {} blocks of up to {width} (--block-mb {}): the input is read {} times",
            coords.len(),
            blocks.len(),
            args.block_mb,
            blocks.len() + 1
        );
    }
    let mut buf: Vec<f32> = Vec::new();
    let mut stage: Vec<f32> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    for block in &blocks {
        offsets.clear();
        offsets.extend(
            block
                .iter()
                .map(|&(t, i)| layout[t as usize].offset + i as usize),
        );
        let w = block.len();
        stage.resize(STAGE_ROWS * w, 0.0);
        let mut reader = open_reader(&input)?;
        let mut step_idx: Option<usize> = None;
        let mut pos = 0usize;
        let mut staged = 0usize;
        let mut first_slot = 0usize;
        let mut test_step = |idx: usize, buf: &[f32]| -> Result<()> {
            let info = &steps[idx];
            let plan = plans.get(info.m)?;
            let outs: Vec<CoordOut> = buf[..w * info.m]
                .par_chunks(info.m)
                .map_init(
                    || plan.workspace(),
                    |ws, col| plan.run_f32(col, ws).map(|r| CoordOut::from(&r)),
                )
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("{}: step {}: {e}", input.name, info.step))?;
            for (&(t, i), out) in block.iter().zip(&outs) {
                aggs[idx][t as usize].add(out, args.alpha, true);
                if keep_all {
                    aggs[idx][all_scope].add(out, args.alpha, true);
                }
                if args.per_coordinate.is_some() {
                    per_coord.push(CoordRow {
                        step_idx: idx as u32,
                        scope: t,
                        index: i,
                        n: info.m as u32,
                        out: *out,
                    });
                }
            }
            Ok(())
        };
        // Moves the staged rows (sample-major) into the coordinate-major buffer.
        let flush = |buf: &mut [f32], stage: &[f32], staged: usize, first_slot: usize, m: usize| {
            for j in 0..w {
                let dst = &mut buf[j * m + first_slot..j * m + first_slot + staged];
                for (r, d) in dst.iter_mut().enumerate() {
                    *d = stage[r * w + j];
                }
            }
        };
        loop {
            let more = reader
                .next_sample(&mut sample)
                .map_err(|e| rename(e, &input))?;
            let new_step = !more || step_idx.is_none_or(|i| !steps[i].holds(&sample));
            if new_step {
                if let Some(i) = step_idx {
                    flush(&mut buf, &stage, staged, first_slot, steps[i].m);
                    staged = 0;
                    if pos != steps[i].n {
                        bail!(
                            "{}: changed while being read (step {} had {} gradients, now {pos})",
                            input.name,
                            steps[i].step,
                            steps[i].n
                        );
                    }
                    test_step(i, &buf)?;
                }
                if !more {
                    break;
                }
                let next = step_idx.map_or(0, |i| i + 1);
                if steps.get(next).is_none_or(|s| !s.holds(&sample)) {
                    bail!(
                        "{}: changed while being read (unexpected step {})",
                        input.name,
                        sample.step
                    );
                }
                step_idx = Some(next);
                pos = 0;
                buf.resize(w * steps[next].m, 0.0);
            }
            let info = &steps[step_idx.expect("set above")];
            if pos >= info.n {
                bail!(
                    "{}: changed while being read (step {} has more gradients than before)",
                    input.name,
                    info.step
                );
            }
            if let Some(slot) = info.slot(pos) {
                if staged == 0 {
                    first_slot = slot;
                }
                let row = &mut stage[staged * w..(staged + 1) * w];
                for (d, &g) in row.iter_mut().zip(&offsets) {
                    *d = sample.values[g];
                }
                staged += 1;
                if staged == STAGE_ROWS {
                    flush(&mut buf, &stage, staged, first_slot, info.m);
                    staged = 0;
                }
            }
            pos += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    drop(buf);

    // Summary rows, in (step, scope, wise, test) order.
    let tests: Vec<&'static str> = [(shapiro, "shapiro"), (dagostino, "dagostino")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    let scopes = if dimension {
        layout.len() + 1
    } else {
        layout.len()
    };
    for (idx, info) in steps.iter().enumerate() {
        for scope in 0..scopes {
            let name = if scope == all_scope {
                "all".to_string()
            } else {
                layout[scope].name.clone()
            };
            let mut wise = vec![(
                "iteration",
                info.m as u64,
                std::mem::take(&mut aggs[idx][scope]),
            )];
            if dimension {
                let numel = if scope == all_scope {
                    meta.dim()
                } else {
                    layout[scope].numel
                };
                let k = args.dim_coords.min(numel) as u64;
                wise.push(("dimension", k, std::mem::take(&mut dim_aggs[idx][scope])));
            }
            for (kind, n, agg) in wise {
                if agg.tested == 0 {
                    continue;
                }
                let beta_q = if kind == "iteration" {
                    quantiles(agg.beta_sigma3)
                } else {
                    [f64::NAN; 3]
                };
                let tail_q = if kind == "iteration" {
                    quantiles(agg.tail_index)
                } else {
                    [f64::NAN; 3]
                };
                for &test in &tests {
                    let t = if test == "shapiro" {
                        &agg.shapiro
                    } else {
                        &agg.dagostino
                    };
                    rows.push(Row {
                        step: info.step,
                        tensor: name.clone(),
                        wise: kind,
                        test,
                        n,
                        batch_size: info.batch_size,
                        tested: agg.tested,
                        constant: agg.constant,
                        undefined: agg.tested - agg.constant - t.with_p,
                        gaussian: t.accepted,
                        gaussian_pct: if t.with_p > 0 {
                            100.0 * t.accepted as f64 / t.with_p as f64
                        } else {
                            f64::NAN
                        },
                        mean_p: if t.with_p > 0 {
                            t.sum_p / t.with_p as f64
                        } else {
                            f64::NAN
                        },
                        beta_q,
                        tail_q,
                    });
                }
            }
        }
    }
    let tested_sets: u64 = rows
        .iter()
        .filter(|r| r.test == tests[0])
        .map(|r| r.tested - r.constant)
        .sum();
    if tested_sets == 0 {
        bail!(
            "{}: every tested coordinate is constant (all its gradients equal, e.g. zero): there is nothing whose normality could be tested",
            input.name
        );
    }

    let mut prov = Provenance::new("normtest", &tool_name("normtest"));
    prov.source = Some(Box::new(meta.clone()));
    let extra = [
        (
            "mode",
            serde_json::json!(if dimension { "dimension" } else { "iteration" }),
        ),
        ("tests", serde_json::json!(tests)),
        ("alpha", serde_json::json!(args.alpha)),
        (
            "coords",
            match &part {
                Some(r) => serde_json::json!(format!("{}:{}", r.start, r.end)),
                None => serde_json::json!(subset_k),
            },
        ),
        ("max_samples", serde_json::json!(args.max_samples)),
        (
            "dim_coords",
            serde_json::json!(dimension.then_some(args.dim_coords)),
        ),
        (
            "iter_samples",
            serde_json::json!(dimension.then_some(args.iter_samples)),
        ),
        ("seed", serde_json::json!(args.seed)),
    ];
    for (k, v) in extra {
        prov.extra.insert(k.into(), v);
    }
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.per_coordinate {
        per_coord.sort_by_key(|r| (r.step_idx, r.scope, r.index));
        let mut p = prov.clone();
        p.kind = "normtest-coordinates".into();
        outputs.table(out, &coordinate_table(&per_coord, &steps, &layout)?, &p)?;
    }
    if let Some(out) = &args.output {
        outputs.table(out, &summary_table(&rows, dimension)?, &prov)?;
    }
    print_summary(&rows, dimension, args.alpha);
    if args.json.enabled {
        outputs.json(&json_rows(&rows))?;
    }
    outputs.commit()
}

fn seed_for(seed: u64, salt: u64) -> u64 {
    splitmix64(seed ^ salt)
}

fn summary_table(rows: &[Row], dimension: bool) -> Result<arrow::record_batch::RecordBatch> {
    let (tested, constant, undefined) = if dimension {
        ("sets_tested", "sets_constant", "sets_undefined")
    } else {
        ("coords_tested", "coords_constant", "coords_undefined")
    };
    let mut t = TableBuilder::new()
        .u64("step", rows.iter().map(|r| r.step))
        .str("tensor", rows.iter().map(|r| r.tensor.as_str()));
    if dimension {
        t = t.str("wise", rows.iter().map(|r| r.wise));
    }
    t.str("test", rows.iter().map(|r| r.test))
        .u64("n", rows.iter().map(|r| r.n))
        .u64(tested, rows.iter().map(|r| r.tested))
        .u64(constant, rows.iter().map(|r| r.constant))
        .u64(undefined, rows.iter().map(|r| r.undefined))
        .u64("gaussian", rows.iter().map(|r| r.gaussian))
        .f64("gaussian_pct", rows.iter().map(|r| r.gaussian_pct))
        .f64("mean_p", rows.iter().map(|r| r.mean_p))
        .f64("beta_sigma3_q05", rows.iter().map(|r| r.beta_q[0]))
        .f64("beta_sigma3_q50", rows.iter().map(|r| r.beta_q[1]))
        .f64("beta_sigma3_q95", rows.iter().map(|r| r.beta_q[2]))
        .f64("tail_index_q05", rows.iter().map(|r| r.tail_q[0]))
        .f64("tail_index_q50", rows.iter().map(|r| r.tail_q[1]))
        .f64("tail_index_q95", rows.iter().map(|r| r.tail_q[2]))
        .u64("batch_size", rows.iter().map(|r| r.batch_size as u64))
        .build()
}

fn coordinate_table(
    rows: &[CoordRow],
    steps: &[StepInfo],
    layout: &[TensorLayout],
) -> Result<arrow::record_batch::RecordBatch> {
    let f = |g: fn(&CoordOut) -> f64| rows.iter().map(move |r| g(&r.out)).collect::<Vec<f64>>();
    TableBuilder::new()
        .u64("step", rows.iter().map(|r| steps[r.step_idx as usize].step))
        .str(
            "tensor",
            rows.iter().map(|r| layout[r.scope as usize].name.as_str()),
        )
        .u64("index", rows.iter().map(|r| r.index))
        .u64("n", rows.iter().map(|r| r.n as u64))
        .f64("shapiro_w", f(|o| o.shapiro_w))
        .f64("shapiro_p", f(|o| o.shapiro_p))
        .f64("skew_z", f(|o| o.skew_z))
        .f64("kurt_z", f(|o| o.kurt_z))
        .f64("k2", f(|o| o.k2))
        .f64("k2_p", f(|o| o.k2_p))
        .f64("beta_sigma3", f(|o| o.beta_sigma3))
        .f64("tail_index", f(|o| o.tail_index))
        .build()
}

fn print_summary(rows: &[Row], dimension: bool, alpha: f64) {
    let mut header = vec!["step", "tensor"];
    if dimension {
        header.push("wise");
    }
    header.extend([
        "test",
        "n",
        "tested",
        "constant",
        "gaussian %",
        "mean p",
        "beta/s3 q50",
        "tail q50",
    ]);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.step.to_string(), r.tensor.clone()];
            if dimension {
                v.push(r.wise.to_string());
            }
            v.extend([
                r.test.to_string(),
                r.n.to_string(),
                r.tested.to_string(),
                r.constant.to_string(),
            ]);
            v.extend([r.gaussian_pct, r.mean_p, r.beta_q[1], r.tail_q[1]].map(num));
            v
        })
        .collect();
    print_table(&header, &body);
    let first = rows.first().map(|r| r.test);
    let constant: Vec<String> = rows
        .iter()
        .filter(|r| Some(r.test) == first && r.constant > 0 && !(dimension && r.tensor == "all"))
        .map(|r| {
            format!(
                "{} at step {}: {} of {}",
                r.tensor, r.step, r.constant, r.tested
            )
        })
        .collect();
    if !constant.is_empty() {
        errln!(
            "note: constant coordinates (every gradient equal, e.g. dead units), not tested and left out of gaussian % (column {}): {}",
            if dimension { "sets_constant" } else { "coords_constant" },
            constant.join("; ")
        );
    }
    let undefined: u64 = rows.iter().map(|r| r.undefined).sum();
    if undefined > 0 {
        errln!("note: {undefined} test results were undefined (spread below floating-point resolution) and left out of gaussian % (column *_undefined)");
    }
    errln!("gaussian %: share of tested non-constant sets with p > {alpha}");
}

fn json_rows(rows: &[Row]) -> serde_json::Value {
    let f = json_num;
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "step": r.step, "tensor": r.tensor, "wise": r.wise, "test": r.test, "n": r.n,
                    "tested": r.tested, "constant": r.constant, "undefined": r.undefined,
                    "gaussian": r.gaussian, "gaussian_pct": f(r.gaussian_pct), "mean_p": f(r.mean_p),
                    "beta_sigma3_q50": f(r.beta_q[1]), "tail_index_q50": f(r.tail_q[1]),
                    "batch_size": r.batch_size,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.05, 0.5, 0.95]) = [1.2, 3.0, 8.8]
        let q = quantiles(vec![4.0, 1.0, 10.0, 3.0, 2.0]);
        assert!(
            (q[0] - 1.2).abs() < 1e-12 && q[1] == 3.0 && (q[2] - 8.8).abs() < 1e-12,
            "{q:?}"
        );
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn subsets_are_sorted_distinct_and_seeded() {
        let a = subset(&mut stream(1, 2), 1000, 50);
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, subset(&mut stream(1, 2), 1000, 50));
        assert_eq!(subset(&mut stream(1, 2), 5, 50), vec![0, 1, 2, 3, 4]);
    }
}
