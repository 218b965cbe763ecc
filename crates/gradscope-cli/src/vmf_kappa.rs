//! `vmf-kappa`: how concentrated are the directions of minibatch gradients?
//!
//! Reads a gradient matrix (file or stdin stream) once and writes one row per parameter
//! point (step) and batch size (`dump-grads -b 2,4,...` writes several at one step), and
//! with `--per-tensor` one more per tensor, with the von Mises-Fisher
//! concentration of the gradient directions (the vMF study, Lee, Cho and Kang, ICLR 2020),
//! its yardsticks under uniformity, and the norm and signal-to-noise statistics of its
//! section 4.1. See `gradscope_stats::vmf::directional` for every formula.
//!
//! **In parts.** `--state-out` writes each group's sufficient statistics as it ends (see
//! `crate::vmf_state`), and `--merge` combines the states of disjoint parts of one
//! matrix (shards of samples) by Chan, Golub and LeVeque's parallel update
//! (`DirectionalAccumulator::merge`): the table equals one pass over all the gradients to
//! rounding (1e-12 relative in the tests), and the uniform-null simulation, which depends
//! only on n, d, --null-reps and the seed, is the same. The states of a group are merged
//! in the order of their first sample, so the file order changes no bit.
//!
//! Memory is O(dim) whatever the number of gradients: the reader holds one record batch,
//! the accumulator 20-28 bytes per coordinate, and two blocks of gradients (up to
//! `MAX_BLOCK` each, [`BLOCK_BYTES`] at most) 4 bytes per coordinate each. Reading runs
//! on its own thread while the previous block is being accumulated on the others.

use crate::vmf_state::{self, GroupKey, STATE};
use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_io::state_file::{self, PartExtent, StateFile, StateWriter};
use gradscope_io::{GradReader, Provenance, Sample};
use gradscope_stats::vmf::uniformity::{null_kappa, NullKappa};
use gradscope_stats::vmf::{DirectionalAccumulator, Scope, ScopeStats, MAX_BLOCK};
use gradscope_tool::args::{check_outputs, table_path, GradInput, Json, Threads};
use gradscope_tool::progress::progress;
use gradscope_tool::report::{Column, Report};
use gradscope_tool::table_builder::TableBuilder;
use gradscope_tool::usage_bail;
use gradscope_tool::{errln, tool_name, OutputSet};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;

/// Directional statistics (vMF kappa, GS, GNS, angles) of a gradient matrix.
#[derive(Debug, Parser)]
#[command(name = "vmf-kappa", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub input: GradInput,

    /// Results: .parquet, .csv or .json by extension, `-` for CSV on stdout. Without it
    /// only the summary on stderr (and `--json` on stdout) is written.
    #[arg(short, long, value_parser = table_path)]
    pub output: Option<PathBuf>,

    /// Also one row per tensor (each tensor's gradient normalised on its own).
    #[arg(long)]
    pub per_tensor: bool,

    /// Histogram of the angles between each gradient and a random unit vector (the vMF
    /// study's Figure 3): one row per bin with the count expected under uniformity.
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub angles_hist: Option<PathBuf>,

    /// Bins of the angle histogram over 90 +- 10 null standard deviations (a divisor of 4000).
    #[arg(long, default_value_t = 200, requires = "angles_hist")]
    pub angle_bins: usize,

    /// Replicates of the exact null simulation behind kappa_null_mean and kappa_null_sd
    /// (0 skips it; at most 1,000,000).
    #[arg(long, default_value_t = 200, value_parser = gradscope_tool::args::count(0..=1_000_000))]
    pub null_reps: usize,

    /// Seed of the random direction for the angles and of the null simulation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Also write the sufficient statistics of every step, batch size and scope to this
    /// .parquet file (a state), for `--merge`: the table of the states of disjoint parts
    /// of a gradient matrix merged equals the table of one pass over all of it.
    #[arg(long, value_name = "FILE", value_parser = gradscope_tool::args::parquet_path)]
    pub state_out: Option<PathBuf>,

    /// Merge these state files (written by `--state-out` over disjoint parts of one
    /// gradient matrix, in any order) instead of reading gradients: the table, summary and
    /// --json of one pass over all the parts' gradients. --per-tensor and --seed come from
    /// the states.
    #[arg(long, value_name = "STATE", num_args = 1.., conflicts_with_all = ["input", "per_tensor", "seed"])]
    pub merge: Vec<PathBuf>,

    #[command(flatten)]
    pub threads: Threads,

    #[command(flatten)]
    pub json: Json,
}

/// One angle-histogram bin: lower and upper edge (degrees), count, expected count.
type Bin = (f64, f64, u64, f64);

/// The angle histogram of one (step, batch size, scope).
type HistRows = Vec<(u64, u32, String, Vec<Bin>)>;

/// One result row.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: u64,
    pub stats: ScopeStats,
    pub null: NullKappa,
    pub mean_loss: f64,
    pub batch_size: u32,
}

/// The most memory the gradients of one block may take (bytes; two blocks are in
/// flight). A block passes over the accumulator's f64 state once (see
/// `DirectionalAccumulator::push_block`); 32 MiB gives full blocks of 8 up to a million
/// parameters and single gradients from 8 million.
pub const BLOCK_BYTES: usize = 32 << 20;

/// Gradients per block for a dimension.
fn block_len(dim: usize) -> usize {
    (BLOCK_BYTES / (4 * dim.max(1))).clamp(1, MAX_BLOCK)
}

/// One part of a group in a merge: its first and last sample, its gradient count, the
/// file and the row group.
type Contribution = (u64, u64, u64, usize, usize);

/// Runs the tool: plan (every check, before any work), measure (one pass over the
/// gradients, or a merge of states), emit.
pub fn run(args: Args) -> Result<()> {
    let source = plan(&args)?;
    let mut outputs = OutputSet::new();
    let measured = match source {
        Source::Gradients(reader) => measure(&args, *reader, &mut outputs)?,
        Source::States(states) => merge(&args, states, &mut outputs)?,
    };
    emit(&args, &measured, outputs)
}

/// What the run reads.
enum Source {
    Gradients(Box<GradReader>),
    States(Vec<StateFile>),
}

/// Every check of the arguments, then the input opened (every state checked against the
/// first: the same layout and options).
fn plan(args: &Args) -> Result<Source> {
    if args.angle_bins == 0 || 4000 % args.angle_bins != 0 {
        usage_bail!(
            "--angle-bins {} must divide 4000 (e.g. 50, 100, 200, 400)",
            args.angle_bins
        );
    }
    check_outputs(
        args.json.enabled,
        args.input
            .paths
            .iter()
            .chain(&args.merge)
            .map(PathBuf::as_path),
        [
            args.output.as_deref(),
            args.angles_hist.as_deref(),
            args.state_out.as_deref(),
        ],
    )?;
    args.threads.init();
    if args.merge.is_empty() {
        return Ok(Source::Gradients(Box::new(args.input.open()?)));
    }
    let mut states: Vec<StateFile> = Vec::with_capacity(args.merge.len());
    for path in &args.merge {
        let s = StateFile::open(path, &STATE)?;
        if let Some(first) = states.first() {
            s.check_same_run(first)?;
        }
        states.push(s);
    }
    Ok(Source::States(states))
}

/// What one pass over the input, or a merge, measured.
#[derive(Debug)]
pub struct Measured {
    pub rows: Vec<Row>,
    hist_rows: HistRows,
    meta: Provenance,
    seed: u64,
}

/// The scopes measured besides the whole vector: each tensor with `--per-tensor`.
fn scopes_of(meta: &Provenance, per_tensor: bool) -> Vec<Scope> {
    if !per_tensor {
        return Vec::new();
    }
    meta.layout
        .iter()
        .map(|t| Scope {
            name: t.name.clone(),
            start: t.offset,
            len: t.numel,
        })
        .collect()
}

/// The options a state records: those that change the statistics it holds.
fn state_options(per_tensor: bool, seed: u64) -> serde_json::Map<String, serde_json::Value> {
    let mut o = serde_json::Map::new();
    o.insert("--per-tensor".into(), per_tensor.into());
    o.insert("--seed".into(), seed.into());
    o
}

/// Turns each finished group (one step and batch size) into result rows, its angle
/// histograms and, with `--state-out`, its rows of the state file: the one code path of
/// both a pass over gradients and a merge, so that their tables agree.
struct Groups<'a> {
    args: &'a Args,
    seed: u64,
    scopes: Vec<Scope>,
    rows: Vec<Row>,
    hist_rows: HistRows,
    null_cache: HashMap<(u64, usize), NullKappa>,
    state: Option<StateWriter>,
}

impl<'a> Groups<'a> {
    fn new(args: &'a Args, meta: &Provenance, per_tensor: bool, seed: u64) -> Result<Self> {
        let state = match &args.state_out {
            Some(path) => {
                let prov = STATE.provenance(
                    &tool_name("vmf-kappa"),
                    meta,
                    state_options(per_tensor, seed),
                );
                Some(StateWriter::create(path, vmf_state::schema(), &prov)?)
            }
            None => None,
        };
        Ok(Self {
            args,
            seed,
            scopes: scopes_of(meta, per_tensor),
            rows: Vec::new(),
            hist_rows: Vec::new(),
            null_cache: HashMap::new(),
            state,
        })
    }

    fn finish(&mut self, key: GroupKey, acc: DirectionalAccumulator, loss_sum: f64) -> Result<()> {
        let args = self.args;
        let (step, bs) = (key.step, key.batch_size as u32);
        let n = acc.count();
        let hists = if args.angles_hist.is_some() {
            acc.angle_histograms(args.angle_bins)
        } else {
            Vec::new()
        };
        for (i, st) in acc.finish().into_iter().enumerate() {
            let null = if args.null_reps > 0 && st.n > 0 {
                let seed = self.seed;
                *self
                    .null_cache
                    .entry((st.n, st.dim))
                    .or_insert_with(|| null_kappa(st.n as usize, st.dim, args.null_reps, seed))
            } else {
                NullKappa {
                    mean: f64::NAN,
                    sd: f64::NAN,
                    replicates: 0,
                }
            };
            if let Some(h) = hists.get(i) {
                self.hist_rows.push((step, bs, st.scope.clone(), h.clone()));
            }
            self.rows.push(Row {
                step,
                stats: st,
                null,
                mean_loss: loss_sum / n as f64,
                batch_size: bs,
            });
        }
        if let Some(w) = &mut self.state {
            w.write_group(&vmf_state::to_batch(
                key,
                loss_sum,
                &self.scopes,
                acc.into_state(),
            )?)?;
        }
        Ok(())
    }

    /// The measured rows; the state file staged with the run's outputs.
    fn done(self, meta: Provenance, outputs: &mut OutputSet) -> Result<Measured> {
        if let Some(w) = self.state {
            outputs.staged(w.finish()?);
        }
        Ok(Measured {
            rows: self.rows,
            hist_rows: self.hist_rows,
            meta,
            seed: self.seed,
        })
    }
}

/// One pass over the gradients: the rows and the angle histograms (and the state file,
/// staged). Writes nothing.
fn measure(args: &Args, mut reader: GradReader, outputs: &mut OutputSet) -> Result<Measured> {
    let meta = reader.meta().clone();
    let dim = reader.dim();
    let mut groups = Groups::new(args, &meta, args.per_tensor, args.seed)?;
    let scopes = groups.scopes.clone();
    let bar = progress(None, "vmf-kappa");
    // The reader thread fills buffers; this thread accumulates them a block at a time.
    // 2 blocks + 1 buffers circulate, so the reader fills the next block while this
    // one is accumulated.
    let block = block_len(dim);
    let buffers = 2 * block + 1;
    let (full_tx, full_rx) = mpsc::sync_channel::<Sample>(buffers);
    let (free_tx, free_rx) = mpsc::sync_channel::<Sample>(buffers);
    for _ in 0..buffers {
        free_tx.send(Sample::default()).ok();
    }
    let read_result = std::thread::scope(|s| -> Result<()> {
        let handle = s.spawn(move || -> Result<()> {
            while let Ok(mut buf) = free_rx.recv() {
                if !reader.next_sample(&mut buf)? {
                    return Ok(());
                }
                if full_tx.send(buf).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        });
        // The group being accumulated: its key (first_sample the smallest sample index
        // seen), accumulator and summed loss.
        let mut current: Option<(GroupKey, DirectionalAccumulator, f64)> = None;
        // Accumulates the pending gradients and hands their buffers back to the reader
        // (which may have finished: then they are dropped).
        let flush = |acc: &mut DirectionalAccumulator, pending: &mut Vec<Sample>| {
            let refs: Vec<&[f32]> = pending.iter().map(|b| b.values.as_slice()).collect();
            acc.push_block(&refs);
            for buf in pending.drain(..) {
                free_tx.send(buf).ok();
            }
        };
        let mut pending: Vec<Sample> = Vec::with_capacity(block);
        for buf in full_rx.iter() {
            // A new group at each new step or batch size.
            if current
                .as_ref()
                .is_some_and(|c| (c.0.step, c.0.batch_size) != (buf.step, buf.batch_size as u64))
            {
                let (key, mut acc, loss) = current.take().expect("checked");
                flush(&mut acc, &mut pending);
                groups.finish(key, acc, loss)?;
            }
            let cur = current.get_or_insert_with(|| {
                (
                    GroupKey {
                        step: buf.step,
                        batch_size: buf.batch_size as u64,
                        first_sample: buf.sample as u64,
                        last_sample: buf.sample as u64,
                    },
                    DirectionalAccumulator::new(dim, scopes.clone(), args.seed),
                    0.0,
                )
            });
            cur.0.first_sample = cur.0.first_sample.min(buf.sample as u64);
            cur.0.last_sample = cur.0.last_sample.max(buf.sample as u64);
            cur.2 += buf.loss;
            bar.inc(1);
            pending.push(buf);
            if pending.len() == block {
                flush(&mut cur.1, &mut pending);
            }
        }
        // The reader has finished (its sender is gone): join it before the last block,
        // so that a read error is reported rather than results from a truncated input.
        let joined = handle
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread failed"))?;
        joined?;
        if let Some((key, mut acc, loss)) = current.take() {
            flush(&mut acc, &mut pending);
            groups.finish(key, acc, loss)?;
        }
        drop(free_tx);
        Ok(())
    });
    bar.finish_and_clear();
    read_result?;
    if groups.rows.is_empty() {
        bail!(
            "{}: the gradient matrix holds no samples",
            args.input.name()
        );
    }
    groups.done(meta, outputs)
}

/// The states merged, group by group: every state file's groups are indexed (their keys
/// only), then each group's parts are read, one at a time, and merged in the order of
/// their first sample (so the bits do not depend on the order of the files), and the
/// group is finished as a pass over its gradients would finish it. Memory: two groups'
/// states, whatever the number of groups and files. Writes nothing.
fn merge(args: &Args, states: Vec<StateFile>, outputs: &mut OutputSet) -> Result<Measured> {
    let first = &states[0];
    let opts = first.options();
    let name = first.path().display();
    let per_tensor = opts
        .get("--per-tensor")
        .and_then(|v| v.as_bool())
        .with_context(|| format!("{name}: the state's options lack --per-tensor"))?;
    let seed = opts
        .get("--seed")
        .and_then(|v| v.as_u64())
        .with_context(|| format!("{name}: the state's options lack --seed"))?;
    let meta = match &first.provenance().source {
        Some(s) => (**s).clone(),
        None => Provenance::inferred(first.layout().to_vec()),
    };
    let dim = meta.dim();
    let mut groups = Groups::new(args, &meta, per_tensor, seed)?;
    let scopes = groups.scopes.clone();
    // (step, batch size) -> the parts: (first sample, file, row group).
    let mut parts: BTreeMap<(u64, u64), Vec<Contribution>> = BTreeMap::new();
    for (f, s) in states.iter().enumerate() {
        for g in 0..s.row_groups() {
            let (key, count) =
                vmf_state::key_of(s.path(), &s.read(g, Some(&vmf_state::KEY_COLUMNS))?)?;
            parts.entry((key.step, key.batch_size)).or_default().push((
                key.first_sample,
                key.last_sample,
                count,
                f,
                g,
            ));
        }
    }
    let mut order: Vec<GroupKey> = Vec::with_capacity(parts.len());
    for (&(step, batch_size), p) in parts.iter_mut() {
        p.sort_unstable();
        let extents: Vec<PartExtent> = p
            .iter()
            .map(|c| PartExtent {
                first: c.0,
                last: c.1,
                count: c.2,
                file: states[c.3].path(),
            })
            .collect();
        state_file::check_disjoint(step, batch_size, "gradients", &extents)?;
        let first = p[0].0;
        let last = p.iter().map(|c| c.1).max().expect("a group has a part");
        order.push(GroupKey {
            step,
            batch_size,
            first_sample: first,
            last_sample: last,
        });
    }
    order.sort_unstable_by_key(|k| (k.step, k.first_sample, k.batch_size));
    for key in order {
        let mut merged: Option<(DirectionalAccumulator, f64)> = None;
        for &(_, _, _, f, g) in &parts[&(key.step, key.batch_size)] {
            let s = &states[f];
            let (_, loss, state) =
                vmf_state::from_batch(s.path(), &s.read(g, None)?, dim, &scopes)?;
            let acc = DirectionalAccumulator::from_state(dim, scopes.clone(), seed, state)
                .map_err(|e| anyhow::anyhow!("{}: {e}", s.path().display()))?;
            match &mut merged {
                None => merged = Some((acc, loss)),
                Some((m, l)) => {
                    m.merge(&acc)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", s.path().display()))?;
                    *l += loss;
                }
            }
        }
        let (acc, loss) = merged.expect("every key has a part");
        groups.finish(key, acc, loss)?;
    }
    if groups.rows.is_empty() {
        bail!("{name}: the states hold no gradients");
    }
    groups.done(meta, outputs)
}

/// The results table, the angle histogram, the summary on stderr and `--json`.
fn emit(args: &Args, m: &Measured, mut outputs: OutputSet) -> Result<()> {
    let mut prov = Provenance::new("vmf-kappa", &tool_name("vmf-kappa"));
    prov.source = Some(Box::new(m.meta.clone()));
    prov.extra.insert("null_reps".into(), args.null_reps.into());
    // The seed in its own field: a second `seed` key in `extra` would make the
    // provenance unreadable by `Provenance::from_json` (a duplicate field).
    prov.seed = Some(m.seed);
    let report = report();
    if let Some(out) = &args.output {
        outputs.table(out, &report.table(&m.rows)?, &prov)?;
    }
    if let Some(out) = &args.angles_hist {
        let mut p = prov.clone();
        p.kind = "vmf-kappa-angles".into();
        outputs.table(out, &hist_table(&m.hist_rows)?, &p)?;
    }
    print_summary(&report, &m.rows);
    if args.json.enabled {
        outputs.json(&report.json(&m.rows))?;
    }
    outputs.commit()
}

/// The result rows, described once: the table has every column in this order, the
/// summary those with a label, `--json` those marked so. Formulas and units:
/// `gradscope_stats::vmf::directional`.
pub fn report() -> Report<Row> {
    Report::new(vec![
        Column::u64("step", |r: &Row| r.step).summary("step").json(),
        Column::str("scope", |r: &Row| r.stats.scope.as_str())
            .summary("scope")
            .json(),
        Column::u64("n", |r: &Row| r.stats.n).summary("n").json(),
        Column::u64("dim", |r: &Row| r.stats.dim as u64)
            .summary("dim")
            .json(),
        Column::f64("r_bar", |r: &Row| r.stats.r_bar).json(),
        Column::f64("kappa", |r: &Row| r.stats.kappa)
            .summary("kappa")
            .json(),
        Column::f64("kappa_ml", |r: &Row| r.stats.kappa_ml)
            .summary("kappa_ml")
            .json(),
        Column::f64("kappa_null_mean", |r: &Row| r.null.mean)
            .summary("null mean")
            .json(),
        Column::f64("kappa_null_sd", |r: &Row| r.null.sd)
            .summary("null sd")
            .json(),
        Column::f64("rayleigh_z", |r: &Row| r.stats.rayleigh.z)
            .summary("rayleigh_z")
            .json(),
        Column::f64("rayleigh_p", |r: &Row| r.stats.rayleigh.p).json(),
        Column::f64("mean_norm", |r: &Row| r.stats.mean_norm)
            .unit("gradient units")
            .json(),
        Column::f64("std_norm", |r: &Row| r.stats.std_norm)
            .unit("gradient units")
            .json(),
        Column::f64("gns", |r: &Row| r.stats.gns)
            .summary("gns")
            .json(),
        Column::f64("norm_snr", |r: &Row| r.stats.norm_snr).json(),
        Column::f64("gs", |r: &Row| r.stats.gs).summary("gs").json(),
        Column::f64("snr", |r: &Row| r.stats.snr).json(),
        Column::u64("n_zero", |r: &Row| r.stats.n_zero).json(),
        Column::f64("mean_grad_norm", |r: &Row| r.stats.mean_grad_norm).unit("gradient units"),
        Column::f64("trace_cov", |r: &Row| r.stats.trace_cov).unit("gradient units squared"),
        Column::f64("rayleigh_t", |r: &Row| r.stats.rayleigh.statistic),
        Column::f64("angle_mean", |r: &Row| r.stats.angles.mean)
            .unit("degrees")
            .json(),
        Column::f64("angle_sd", |r: &Row| r.stats.angles.sd)
            .unit("degrees")
            .json(),
        Column::f64("angle_null_sd", |r: &Row| r.stats.angles.null_sd).unit("degrees"),
        Column::f64("angle_mean_z", |r: &Row| r.stats.angles.mean_z),
        Column::f64("angle_sd_ratio", |r: &Row| r.stats.angles.sd_ratio).summary("angle_sd/null"),
        Column::f64("angle_ks", |r: &Row| r.stats.angles.ks).json(),
        Column::f64("mean_loss", |r: &Row| r.mean_loss).unit("nats"),
        Column::u64("batch_size", |r: &Row| r.batch_size as u64).summary_when_varied("batch"),
    ])
}

fn hist_table(rows: &HistRows) -> Result<arrow::record_batch::RecordBatch> {
    let flat: Vec<(u64, u32, &str, Bin)> = rows
        .iter()
        .flat_map(|(s, bs, n, h)| h.iter().map(move |b| (*s, *bs, n.as_str(), *b)))
        .collect();
    TableBuilder::new()
        .u64("step", flat.iter().map(|r| r.0))
        .u64("batch_size", flat.iter().map(|r| r.1 as u64))
        .str("scope", flat.iter().map(|r| r.2))
        .f64("angle_lo", flat.iter().map(|r| r.3 .0))
        .f64("angle_hi", flat.iter().map(|r| r.3 .1))
        .f64("angle_mid", flat.iter().map(|r| 0.5 * (r.3 .0 + r.3 .1)))
        .u64("count", flat.iter().map(|r| r.3 .2))
        .f64("expected_uniform", flat.iter().map(|r| r.3 .3))
        .build()
}

fn print_summary(report: &Report<Row>, rows: &[Row]) {
    gradscope_tool::console::err(&report.summary(rows));
    let zero: u64 = rows
        .iter()
        .filter(|r| r.stats.scope == "all")
        .map(|r| r.stats.n_zero)
        .sum();
    if zero > 0 {
        errln!("note: {zero} zero gradients had no direction and were left out of r_bar, kappa and the angles (column n_zero)");
    }
}
