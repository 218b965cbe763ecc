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
//! coordinates of its block, and for a matrix of one parameter point the parts'
//! per-coordinate tables concatenated in block order are the whole run's table row for
//! row (with several steps or batch sizes, the same holds group by group: each part
//! writes its rows group after group, as the whole run does). Summary numbers are combined from that table, not from the parts'
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
//!
//! The module's parts: [`plan`] (every check of the arguments, the input opened),
//! [`input`] (a stream on stdin spooled to a file), [`steps`] (the first pass: the
//! steps, their counts and the gradients each tests), [`dimension_wise`] (the
//! dimension-wise tests, made during the first pass), [`coordinates`] (which coordinates
//! are tested), [`iteration_wise`] (the block passes: each coordinate over the gradients
//! of a step), [`draws`] (the seeded random subsets), [`test_plans`] (the tests per
//! sample size), [`aggregate`] (the counts and quantiles behind a summary row) and
//! [`report`] (the summary rows and the per-coordinate rows, each described once).

pub mod aggregate;
pub mod coordinates;
pub mod dimension_wise;
pub mod draws;
pub mod input;
pub mod iteration_wise;
pub mod plan;
pub mod report;
pub mod steps;
pub mod test_plans;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::{Provenance, TensorLayout};
use gradscope_tool::args::{table_path, GradInput, Json, Threads};
use gradscope_tool::{tool_name, OutputSet};
use report::{CoordRow, Row};
use std::path::PathBuf;
use steps::StepInfo;

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
#[command(name = "normtest", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    // A stream on stdin is copied to a temporary file first, since it is read once per
    // block of coordinates (the module's notes).
    #[command(flatten)]
    pub input: GradInput,

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

    /// K: test a seeded random subset of K coordinates per tensor, every coordinate of a
    /// tensor with at most K (default: all of them; the same subset at every step).
    /// START:END: test the coordinates START..END of the flattened gradient (0-based, END
    /// excluded), one part of a run split by coordinate: the parts' --per-coordinate
    /// tables concatenated are the whole run's.
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

    /// Dimension mode: coordinates K drawn for each dimension-wise test (the study's K)
    /// [default: 100].
    #[arg(long = "dim-coords", value_name = "K")]
    pub dim_coords_arg: Option<usize>,

    /// Dimension mode: gradients K drawn per step for the iteration-wise tests (the
    /// study's K; all of them when a step has fewer) [default: 100].
    #[arg(long = "iter-samples", value_name = "K")]
    pub iter_samples_arg: Option<usize>,

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

/// The study's K for both draws of dimension mode.
const STUDY_K: usize = 100;

impl Args {
    /// `--dim-coords`, or the study's 100.
    pub fn dim_coords(&self) -> usize {
        self.dim_coords_arg.unwrap_or(STUDY_K)
    }

    /// `--iter-samples`, or the study's 100.
    pub fn iter_samples(&self) -> usize {
        self.iter_samples_arg.unwrap_or(STUDY_K)
    }
}
/// Runs the tool: plan (every check of the arguments, the input opened), measure (the
/// passes over the gradients; writes nothing), emit (the tables, the summary on stderr,
/// `--json`).
pub fn run(args: Args) -> Result<()> {
    let (plan, reader) = plan::plan(&args)?;
    let measured = measure(&args, &plan, reader)?;
    emit(&args, &plan, &measured)
}

/// What the passes over the gradients found.
struct Measured {
    /// The gradient matrix's provenance.
    meta: Provenance,
    layout: Vec<TensorLayout>,
    steps: Vec<StepInfo>,
    /// The tests run, in row order ("shapiro", "dagostino").
    tests: Vec<&'static str>,
    /// The part of a split run: its coordinates of the flattened gradient.
    part: Option<std::ops::Range<usize>>,
    /// The summary rows, in (step, scope, wise, test) order.
    rows: Vec<Row>,
    /// One row per tested coordinate (with --per-coordinate), in (step, tensor, index)
    /// order.
    per_coord: Vec<CoordRow>,
}

/// The first pass (the steps, and in dimension mode the dimension-wise tests), the
/// gradients and coordinates tested, the block passes, the summary rows. Writes nothing.
fn measure(
    args: &Args,
    plan: &plan::Plan,
    mut reader: gradscope_io::GradReader,
) -> Result<Measured> {
    let input = &plan.input;
    let meta = reader.meta().clone();
    let layout: Vec<TensorLayout> = meta.layout.clone();
    let first = steps::first_pass(args, plan, &mut reader, &meta)?;
    let mut steps = first.steps;
    steps::choose_tested(&mut steps, args, plan)?;

    // The part of a split run: its coordinates, checked against the dimension.
    let part = match plan.split {
        Some(sp) => Some(sp.range(meta.dim())?),
        None => None,
    };
    let coords = coordinates::tested(&layout, part.as_ref(), plan.subset_k, args.seed);
    let mut tested =
        iteration_wise::test_blocks(args, plan, &steps, &layout, &coords, first.samples_total)?;

    let tests = plan.tests();
    let rows = aggregate::summary_rows(
        &steps,
        &layout,
        meta.dim(),
        &mut tested.aggs,
        first.dim_aggs,
        &tests,
        plan.dimension,
        args.dim_coords(),
    );
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
    let mut per_coord = tested.per_coord;
    per_coord.sort_by_key(|r| (r.step_idx, r.scope, r.index));
    Ok(Measured {
        meta,
        layout,
        steps,
        tests,
        part,
        rows,
        per_coord,
    })
}

/// The per-coordinate table, the summary table, the summary on stderr and `--json`.
fn emit(args: &Args, plan: &plan::Plan, m: &Measured) -> Result<()> {
    let dimension = plan.dimension;
    let mut prov = Provenance::new("normtest", &tool_name("normtest"));
    prov.source = Some(Box::new(m.meta.clone()));
    let extra = [
        (
            "mode",
            serde_json::json!(if dimension { "dimension" } else { "iteration" }),
        ),
        ("tests", serde_json::json!(m.tests)),
        ("alpha", serde_json::json!(args.alpha)),
        (
            "coords",
            match &m.part {
                Some(r) => serde_json::json!(format!("{}:{}", r.start, r.end)),
                None => serde_json::json!(plan.subset_k),
            },
        ),
        ("max_samples", serde_json::json!(args.max_samples)),
        (
            "dim_coords",
            serde_json::json!(dimension.then_some(args.dim_coords())),
        ),
        (
            "iter_samples",
            serde_json::json!(dimension.then_some(args.iter_samples())),
        ),
        ("seed", serde_json::json!(args.seed)),
    ];
    for (k, v) in extra {
        prov.extra.insert(k.into(), v);
    }
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.per_coordinate {
        let mut p = prov.clone();
        p.kind = "normtest-coordinates".into();
        let lines = report::coordinate_lines(&m.per_coord, &m.steps, &m.layout);
        outputs.table(out, &report::coordinate_report().table(&lines)?, &p)?;
    }
    let report = report::summary_report(dimension);
    if let Some(out) = &args.output {
        outputs.table(out, &report.table(&m.rows)?, &prov)?;
    }
    report::print_summary(&report, &m.rows, dimension, args.alpha);
    if args.json.enabled {
        outputs.json(&report.json(&m.rows))?;
    }
    outputs.commit()
}
