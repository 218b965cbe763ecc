//! `noise-scale`: how large a batch is still useful?
//!
//! Reads a gradient matrix once and writes, per parameter point (step) and with
//! `--per-tensor` per tensor, the simple noise scale B_simple = tr(Sigma) / |G|^2 of
//! McCandlish et al., "An Empirical Model of Large-Batch Training" (2018): the batch size
//! at which the minibatch gradient's noise equals its signal, their estimate of the
//! critical batch size. See `gradscope_stats::noise_scale` for both estimators (several
//! batch sizes at a step: the line of E|G_B|^2 = |G|^2 + tr(Sigma)/B in 1/B, appendix A's
//! formulas for two; one batch size: the mean and sample covariance of n minibatches),
//! their delete-a-group jackknife standard errors and intervals.
//!
//! Memory: per minibatch one f64 per scope; for the one-batch-size estimator (the default
//! whenever it may be needed) `--groups` sums of the gradients per batch size, 8 x groups
//! bytes per coordinate (80 by default). `--estimator batch-sizes` keeps none of them.
//!
//! In parts: `--state-out S.parquet` also writes those statistics per step and batch size
//! (see [`crate::noise_state`]), and `--merge S1 S2 ...` merges the states of disjoint
//! parts of one gradient matrix into the table of one pass over all of it, jackknife
//! intervals included.

use crate::noise_state::{self, StateFile, StateOptions, StateWriter};
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::state_file::{self, PartExtent};
use gradscope_io::{GradReader, Provenance, Sample};
use gradscope_stats::noise_scale::{Choice, NoiseScale, NoiseScaleAccumulator};
use gradscope_tool::args::{check_outputs, table_path, GradInput, Json, Threads};
use gradscope_tool::progress::progress;
use gradscope_tool::report::{Column, Report};
use gradscope_tool::{errln, tool_name, OutputSet, UsageError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The gradient noise scale B_simple = tr(Sigma)/|G|^2 (McCandlish et al. 2018) per step.
#[derive(Debug, Parser)]
#[command(name = "noise-scale", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub input: GradInput,

    /// Results: .parquet, .csv or .json by extension, `-` for CSV on stdout. Without it
    /// only the summary on stderr (and `--json` on stdout) is written.
    #[arg(short, long, value_parser = table_path)]
    pub output: Option<PathBuf>,

    /// Also one row per tensor (the noise scale of that tensor's block of coordinates).
    #[arg(long)]
    pub per_tensor: bool,

    /// Which estimator: `auto` fits the batch-size line at steps holding two or more
    /// batch sizes and uses one batch size's minibatches otherwise; `one-batch-size`
    /// gives one row per batch size from its minibatches alone; `batch-sizes` requires
    /// two or more batch sizes at every step.
    #[arg(long, value_enum, default_value_t = EstimatorArg::Auto)]
    pub estimator: EstimatorArg,

    /// Jackknife groups: minibatch i belongs to group i mod K (2 to 1,000; each keeps a
    /// sum of the gradients, 8 bytes per coordinate; groups left without a minibatch are
    /// no replicates).
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub groups: usize,

    /// Also write the sufficient statistics of every step and batch size to this
    /// .parquet file (a state), for `--merge`: the states of disjoint parts of a gradient
    /// matrix merged give the table of one pass over all of it.
    #[arg(long, value_name = "FILE", value_parser = gradscope_tool::args::parquet_path)]
    pub state_out: Option<PathBuf>,

    /// Merge these state files (written by `--state-out` over disjoint parts of one
    /// gradient matrix, in any order) instead of reading gradients: the table, summary and
    /// --json of one pass over all the parts' minibatches. --groups, --per-tensor and
    /// --estimator come from the states.
    #[arg(long, value_name = "STATE", num_args = 1.., conflicts_with_all = ["input", "per_tensor", "estimator", "groups"])]
    pub merge: Vec<PathBuf>,

    #[command(flatten)]
    pub threads: Threads,

    #[command(flatten)]
    pub json: Json,
}

/// `--estimator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorArg {
    Auto,
    OneBatchSize,
    BatchSizes,
}

/// One result row: a step, the batch sizes it used, a scope, and its noise scale.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: u64,
    /// The batch sizes behind the estimate, ascending, space-separated.
    pub batch_sizes: String,
    /// Minibatches behind the estimate.
    pub minibatches: u64,
    pub scope: String,
    pub dim: u64,
    pub estimate: NoiseScale,
}

/// The result rows, described once: table, summary and `--json` come from this.
pub fn report() -> Report<Row> {
    Report::new(vec![
        Column::u64("step", |r: &Row| r.step).summary("step").json(),
        Column::str("scope", |r: &Row| &r.scope)
            .summary("scope")
            .json(),
        Column::str("estimator", |r: &Row| r.estimate.estimator.name()).json(),
        Column::str("batch_sizes", |r: &Row| &r.batch_sizes)
            .summary("batch sizes")
            .json(),
        Column::u64("minibatches", |r: &Row| r.minibatches)
            .summary("n")
            .json(),
        Column::u64("dim", |r: &Row| r.dim).json(),
        Column::f64("grad_sq_norm", |r: &Row| r.estimate.grad_sq_norm)
            .summary("|G|^2")
            .json(),
        Column::f64("grad_sq_norm_se", |r: &Row| r.estimate.grad_sq_norm_se).json(),
        Column::f64("trace_sigma", |r: &Row| r.estimate.trace_sigma)
            .summary("tr Sigma")
            .json(),
        Column::f64("trace_sigma_se", |r: &Row| r.estimate.trace_sigma_se).json(),
        Column::f64("b_simple", |r: &Row| r.estimate.b_simple)
            .unit("examples")
            .summary("B_simple")
            .json(),
        Column::f64("b_simple_se", |r: &Row| r.estimate.b_simple_se)
            .unit("examples")
            .summary("se")
            .json(),
        Column::f64("b_simple_lo", |r: &Row| r.estimate.b_simple_lo)
            .unit("examples")
            .summary("95% lo")
            .json(),
        Column::f64("b_simple_hi", |r: &Row| r.estimate.b_simple_hi)
            .unit("examples")
            .summary("95% hi")
            .json(),
        Column::u64("replicates", |r: &Row| r.estimate.replicates as u64).json(),
    ])
}

/// What `run` decided before reading a gradient.
struct Plan {
    reader: GradReader,
    scopes: Vec<(String, usize, usize)>,
    dim: usize,
    choice: Choice,
    keep_means: bool,
}

/// The most jackknife groups: the delete-a-group jackknife wants groups of several
/// minibatches, and the one-batch-size estimator keeps K sums of the gradients (at 1,000
/// groups, 8 kB per coordinate: 8 GB for a million coordinates).
const MAX_GROUPS: usize = 1000;

fn plan(args: &Args) -> Result<Plan> {
    if !(2..=MAX_GROUPS).contains(&args.groups) {
        return Err(UsageError(format!(
            "--groups {}: from 2 to {MAX_GROUPS} jackknife groups (each keeps a sum of the gradients, 8 bytes per coordinate)",
            args.groups
        ))
        .into());
    }
    args.threads.init();
    let reader = args.input.open()?;
    let meta = reader.meta();
    if !reader.has_batch_size() {
        bail!(
            "{}: no batch_size column: the noise scale needs each minibatch's size",
            args.input.name()
        );
    }
    let scopes = if args.per_tensor {
        meta.layout
            .iter()
            .map(|t| (t.name.clone(), t.offset, t.numel))
            .collect()
    } else {
        Vec::new()
    };
    let (choice, keep_means) = match args.estimator {
        EstimatorArg::Auto => (Choice::Auto, true),
        EstimatorArg::OneBatchSize => (Choice::OneBatchSize, true),
        EstimatorArg::BatchSizes => (Choice::BatchSizes, false),
    };
    let dim = reader.dim();
    Ok(Plan {
        reader,
        scopes,
        dim,
        choice,
        keep_means,
    })
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    check_outputs(
        args.json.enabled,
        args.input
            .paths
            .iter()
            .chain(&args.merge)
            .map(PathBuf::as_path),
        [args.output.as_deref(), args.state_out.as_deref()],
    )?;
    let mut outputs = OutputSet::new();
    let (rows, prov) = if args.merge.is_empty() {
        measure_gradients(&args, &mut outputs)?
    } else {
        merge(&args, &mut outputs)?
    };
    let report = report();
    if let Some(out) = &args.output {
        outputs.table(out, &report.table(&rows)?, &prov)?;
    }
    if args.json.enabled {
        outputs.json(&report.json(&rows))?;
    }
    outputs.commit()?;
    errln!("{}", report.summary(&rows).trim_end());
    Ok(())
}

/// The options a state records, from the flags of a pass over gradients.
fn state_options(args: &Args) -> StateOptions {
    StateOptions {
        groups: args.groups,
        per_tensor: args.per_tensor,
        estimator: args
            .estimator
            .to_possible_value()
            .expect("no skipped values")
            .get_name()
            .to_string(),
    }
}

/// The result table's provenance: the gradient matrix's as its source.
fn table_provenance(source: Provenance, groups: usize) -> Provenance {
    let mut prov = Provenance::new("noise-scale", &tool_name("noise-scale"));
    prov.source = Some(Box::new(source));
    prov.extra.insert("groups".into(), groups.into());
    prov
}

/// One pass over a gradient matrix; with --state-out its state is staged in `outputs`.
fn measure_gradients(args: &Args, outputs: &mut OutputSet) -> Result<(Vec<Row>, Provenance)> {
    let Plan {
        mut reader,
        scopes,
        dim,
        choice,
        keep_means,
    } = plan(args)?;
    let meta = reader.meta().clone();
    let name = args.input.name();
    let ranges: Vec<(usize, usize)> = scopes.iter().map(|s| (s.1, s.2)).collect();
    let mut state_out = match &args.state_out {
        Some(p) => {
            let prov =
                noise_state::provenance(&tool_name("noise-scale"), &meta, &state_options(args));
            Some(StateWriter::create(p, &prov)?)
        }
        None => None,
    };
    let mut rows: Vec<Row> = Vec::new();
    let bar = progress(None, "noise-scale");
    let mut sample = Sample::default();
    let mut current: Option<(u64, NoiseScaleAccumulator)> = None;
    let mut finish = |step: u64, acc: &NoiseScaleAccumulator, rows: &mut Vec<Row>| -> Result<()> {
        if let Some(w) = state_out.as_mut() {
            w.write_step(step, acc)?;
        }
        measure(step, acc, choice, &scopes, dim, rows)
            .with_context(|| format!("{name}: step {step}"))
    };
    while reader.next_sample(&mut sample)? {
        if current.as_ref().is_some_and(|c| c.0 != sample.step) {
            let (step, acc) = current.take().expect("checked");
            finish(step, &acc, &mut rows)?;
        }
        if current.is_none() {
            let acc = NoiseScaleAccumulator::new(dim, ranges.clone(), args.groups, keep_means)?;
            current = Some((sample.step, acc));
        }
        let (_, acc) = current.as_mut().expect("set above");
        acc.push(
            sample.batch_size as u64,
            sample.sample as u64,
            &sample.values,
        )
        .with_context(|| format!("{name}: step {}, sample {}", sample.step, sample.sample))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    match current.take() {
        Some((step, acc)) => finish(step, &acc, &mut rows)?,
        None => bail!("{name}: the gradient matrix holds no samples"),
    }
    if let Some(w) = state_out {
        outputs.staged(w.finish()?);
    }
    Ok((rows, table_provenance(meta, args.groups)))
}

/// The states of `--merge`, merged step by step (one step's parts in memory at a time),
/// measured as one pass would have been.
fn merge(args: &Args, outputs: &mut OutputSet) -> Result<(Vec<Row>, Provenance)> {
    let mut states: Vec<StateFile> = Vec::with_capacity(args.merge.len());
    for path in &args.merge {
        let state = StateFile::open(path)?;
        if let Some(first) = states.first() {
            state.check_same_run(first)?;
        }
        states.push(state);
    }
    let first = &states[0];
    let options = first.options().clone();
    let layout = first.layout().to_vec();
    let dim: usize = layout.iter().map(|t| t.numel).sum();
    let scopes: Vec<(String, usize, usize)> = if options.per_tensor {
        layout
            .iter()
            .map(|t| (t.name.clone(), t.offset, t.numel))
            .collect()
    } else {
        Vec::new()
    };
    let ranges: Vec<(usize, usize)> = scopes.iter().map(|s| (s.1, s.2)).collect();
    let estimator = EstimatorArg::from_str(&options.estimator, false).map_err(|_| {
        anyhow::anyhow!(
            "{}: unknown --estimator {} in the state",
            first.path().display(),
            options.estimator
        )
    })?;
    let (choice, keep_means) = match estimator {
        EstimatorArg::Auto => (Choice::Auto, true),
        EstimatorArg::OneBatchSize => (Choice::OneBatchSize, true),
        EstimatorArg::BatchSizes => (Choice::BatchSizes, false),
    };
    // (step, file, row group), ascending by step, then in the order of the files.
    let mut index: Vec<(u64, usize, usize)> = Vec::new();
    for (f, state) in states.iter().enumerate() {
        for (g, step) in state.steps()?.into_iter().enumerate() {
            index.push((step, f, g));
        }
    }
    index.sort_by_key(|&(step, f, g)| (step, f, g));
    if index.is_empty() {
        bail!("{}: the states hold no steps", first.path().display());
    }
    let mut state_out = match &args.state_out {
        Some(p) => {
            let prov =
                noise_state::provenance(&tool_name("noise-scale"), &first.source(), &options);
            Some(StateWriter::create(p, &prov)?)
        }
        None => None,
    };
    let mut rows = Vec::new();
    for part in index.chunk_by(|a, b| a.0 == b.0) {
        let step = part[0].0;
        let mut acc = NoiseScaleAccumulator::new(dim, ranges.clone(), options.groups, keep_means)?;
        // batch size -> its parts, in file order.
        let mut extents: BTreeMap<u64, Vec<PartExtent>> = BTreeMap::new();
        for &(_, f, g) in part {
            let s = states[f].batch_state(g, scopes.len(), dim)?;
            extents.entry(s.batch_size).or_default().push(PartExtent {
                first: s.first_sample,
                last: s.last_sample,
                count: s.n(),
                file: states[f].path(),
            });
            acc.merge_state(s)
                .with_context(|| format!("{}: step {step}", states[f].path().display()))?;
        }
        for (&batch_size, parts) in &extents {
            state_file::check_disjoint(step, batch_size, "minibatches", parts)?;
        }
        if let Some(w) = state_out.as_mut() {
            w.write_step(step, &acc)?;
        }
        measure(step, &acc, choice, &scopes, dim, &mut rows)
            .with_context(|| format!("the merged states: step {step}"))?;
    }
    if let Some(w) = state_out {
        outputs.staged(w.finish()?);
    }
    let mut prov = table_provenance(first.source(), options.groups);
    prov.extra.insert(
        "merged".into(),
        args.merge
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .into(),
    );
    Ok((rows, prov))
}

/// The rows of one step: by `choice`, from everything its accumulator holds.
fn measure(
    step: u64,
    acc: &NoiseScaleAccumulator,
    choice: Choice,
    scopes: &[(String, usize, usize)],
    dim: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let sizes = acc.batch_sizes();
    let push = |ests: Vec<NoiseScale>, used: &[(u64, u64)], rows: &mut Vec<Row>| {
        let batch_sizes = used
            .iter()
            .map(|b| b.0.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let minibatches = used.iter().map(|b| b.1).sum();
        for (i, e) in ests.into_iter().enumerate() {
            let (scope, len) = match i {
                0 => ("all".to_string(), dim),
                _ => (scopes[i - 1].0.clone(), scopes[i - 1].2),
            };
            rows.push(Row {
                step,
                batch_sizes: batch_sizes.clone(),
                minibatches,
                scope,
                dim: len as u64,
                estimate: e,
            });
        }
    };
    match choice {
        Choice::OneBatchSize => {
            for &(b, n) in &sizes {
                push(acc.estimate_one_batch_size(b)?, &[(b, n)], rows);
            }
        }
        _ => push(acc.estimate(choice)?, &sizes, rows),
    }
    Ok(())
}
