//! `vmf-kappa`: how concentrated are the directions of minibatch gradients?
//!
//! Reads a gradient matrix (file or stdin stream) once and writes one row per parameter
//! point (step) and batch size (`dump-grads -b 2,4,...` writes several at one step), and
//! with `--per-tensor` one more per tensor, with the von Mises-Fisher
//! concentration of the gradient directions (the vMF study, Lee, Cho and Kang, ICLR 2020),
//! its yardsticks under uniformity, and the norm and signal-to-noise statistics of its
//! section 4.1. See `gradscope_stats::vmf::directional` for every formula.
//!
//! Memory is O(dim) whatever the number of gradients: the reader holds one record batch,
//! the accumulator 20-28 bytes per coordinate, and two blocks of gradients (up to
//! `MAX_BLOCK` each, [`BLOCK_BYTES`] at most) 4 bytes per coordinate each. Reading runs
//! on its own thread while the previous block is being accumulated on the others.

use crate::app::{init_threads, progress, tool_name};
use crate::summary::{num, print_table};
use crate::table::TableBuilder;
use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_io::{write_table, GradReader, Provenance, Sample};
use gradscope_stats::vmf::uniformity::{null_kappa, NullKappa};
use gradscope_stats::vmf::{DirectionalAccumulator, Scope, ScopeStats, MAX_BLOCK};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;

/// Directional statistics (vMF kappa, GS, GNS, angles) of a gradient matrix.
#[derive(Debug, Parser)]
#[command(name = "vmf-kappa", version, about, long_about = None)]
pub struct Args {
    /// Gradient matrix to read: a Parquet file or Arrow IPC stream, `-` for stdin.
    #[arg(short, long, default_value = "-")]
    pub input: PathBuf,

    /// Results: .parquet, .csv or .json by extension, `-` for CSV on stdout. Without it
    /// only the summary on stderr (and `--json` on stdout) is written.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Also one row per tensor (each tensor's gradient normalised on its own).
    #[arg(long)]
    pub per_tensor: bool,

    /// Histogram of the angles between each gradient and a random unit vector (the vMF
    /// study's Figure 3): one row per bin with the count expected under uniformity.
    #[arg(long, value_name = "FILE")]
    pub angles_hist: Option<PathBuf>,

    /// Bins of the angle histogram over 90 +- 10 null standard deviations (a divisor of 4000).
    #[arg(long, default_value_t = 200)]
    pub angle_bins: usize,

    /// Replicates of the exact null simulation behind kappa_null_mean and kappa_null_sd
    /// (0 skips it).
    #[arg(long, default_value_t = 200)]
    pub null_reps: usize,

    /// Seed of the random direction for the angles and of the null simulation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    init_threads(args.threads);
    if args.angle_bins == 0 || 4000 % args.angle_bins != 0 {
        bail!(
            "--angle-bins {} must divide 4000 (e.g. 50, 100, 200, 400)",
            args.angle_bins
        );
    }
    for out in [&args.output, &args.angles_hist].into_iter().flatten() {
        if out.as_os_str() != "-" {
            gradscope_io::TableFormat::from_path(out)?;
        }
    }
    let mut reader = GradReader::open(&args.input)?;
    let meta = reader.meta().clone();
    let dim = reader.dim();
    let scopes: Vec<Scope> = if args.per_tensor {
        meta.layout
            .iter()
            .map(|t| Scope {
                name: t.name.clone(),
                start: t.offset,
                len: t.numel,
            })
            .collect()
    } else {
        Vec::new()
    };
    let bar = progress(None, "vmf-kappa");
    let mut rows: Vec<Row> = Vec::new();
    let mut hist_rows: HistRows = Vec::new();
    let mut null_cache: HashMap<(u64, usize), NullKappa> = HashMap::new();

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
        let mut current: Option<(u64, DirectionalAccumulator, f64, u32)> = None;
        let want_hist = args.angles_hist.is_some();
        let mut finish = |step: u64, acc: DirectionalAccumulator, loss_sum: f64, bs: u32| {
            let n = acc.count();
            let hists = if want_hist {
                acc.angle_histograms(args.angle_bins)
            } else {
                Vec::new()
            };
            for (i, st) in acc.finish().into_iter().enumerate() {
                let null = if args.null_reps > 0 && st.n > 0 {
                    *null_cache.entry((st.n, st.dim)).or_insert_with(|| {
                        null_kappa(st.n as usize, st.dim, args.null_reps, args.seed)
                    })
                } else {
                    NullKappa {
                        mean: f64::NAN,
                        sd: f64::NAN,
                        replicates: 0,
                    }
                };
                if let Some(h) = hists.get(i) {
                    hist_rows.push((step, bs, st.scope.clone(), h.clone()));
                }
                rows.push(Row {
                    step,
                    stats: st,
                    null,
                    mean_loss: loss_sum / n as f64,
                    batch_size: bs,
                });
            }
        };
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
                .is_some_and(|c| (c.0, c.3) != (buf.step, buf.batch_size))
            {
                let (step, mut acc, loss, bs) = current.take().expect("checked");
                flush(&mut acc, &mut pending);
                finish(step, acc, loss, bs);
            }
            let cur = current.get_or_insert_with(|| {
                (
                    buf.step,
                    DirectionalAccumulator::new(dim, scopes.clone(), args.seed),
                    0.0,
                    buf.batch_size,
                )
            });
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
        if let Some((step, mut acc, loss, bs)) = current.take() {
            flush(&mut acc, &mut pending);
            finish(step, acc, loss, bs);
        }
        drop(free_tx);
        Ok(())
    });
    bar.finish_and_clear();
    read_result?;
    if rows.is_empty() {
        bail!(
            "{}: the gradient matrix holds no samples",
            args.input.display()
        );
    }

    let mut prov = Provenance::new("vmf-kappa", &tool_name("vmf-kappa"));
    prov.source = Some(Box::new(meta.clone()));
    prov.extra.insert("null_reps".into(), args.null_reps.into());
    prov.extra.insert("seed".into(), args.seed.into());
    if let Some(out) = &args.output {
        write_table(out, &results_table(&rows)?, &prov)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Some(out) = &args.angles_hist {
        let mut p = prov.clone();
        p.kind = "vmf-kappa-angles".into();
        write_table(out, &hist_table(&hist_rows)?, &p)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    print_summary(&rows);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json_rows(&rows))?);
    }
    Ok(())
}

fn results_table(rows: &[Row]) -> Result<arrow::record_batch::RecordBatch> {
    let s = |f: fn(&Row) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    TableBuilder::new()
        .u64("step", rows.iter().map(|r| r.step))
        .str("scope", rows.iter().map(|r| r.stats.scope.as_str()))
        .u64("n", rows.iter().map(|r| r.stats.n))
        .u64("dim", rows.iter().map(|r| r.stats.dim as u64))
        .f64("r_bar", s(|r| r.stats.r_bar))
        .f64("kappa", s(|r| r.stats.kappa))
        .f64("kappa_ml", s(|r| r.stats.kappa_ml))
        .f64("kappa_null_mean", s(|r| r.null.mean))
        .f64("kappa_null_sd", s(|r| r.null.sd))
        .f64("rayleigh_z", s(|r| r.stats.rayleigh.z))
        .f64("rayleigh_p", s(|r| r.stats.rayleigh.p))
        .f64("mean_norm", s(|r| r.stats.mean_norm))
        .f64("std_norm", s(|r| r.stats.std_norm))
        .f64("gns", s(|r| r.stats.gns))
        .f64("norm_snr", s(|r| r.stats.norm_snr))
        .f64("gs", s(|r| r.stats.gs))
        .f64("snr", s(|r| r.stats.snr))
        .u64("n_zero", rows.iter().map(|r| r.stats.n_zero))
        .f64("mean_grad_norm", s(|r| r.stats.mean_grad_norm))
        .f64("trace_cov", s(|r| r.stats.trace_cov))
        .f64("rayleigh_t", s(|r| r.stats.rayleigh.statistic))
        .f64("angle_mean", s(|r| r.stats.angles.mean))
        .f64("angle_sd", s(|r| r.stats.angles.sd))
        .f64("angle_null_sd", s(|r| r.stats.angles.null_sd))
        .f64("angle_mean_z", s(|r| r.stats.angles.mean_z))
        .f64("angle_sd_ratio", s(|r| r.stats.angles.sd_ratio))
        .f64("angle_ks", s(|r| r.stats.angles.ks))
        .f64("mean_loss", s(|r| r.mean_loss))
        .u64("batch_size", rows.iter().map(|r| r.batch_size as u64))
        .build()
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

fn print_summary(rows: &[Row]) {
    let header = [
        "step",
        "scope",
        "n",
        "dim",
        "kappa",
        "null mean",
        "null sd",
        "kappa_ml",
        "rayleigh_z",
        "gns",
        "gs",
        "angle_sd/null",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![
                r.step.to_string(),
                r.stats.scope.clone(),
                r.stats.n.to_string(),
                r.stats.dim.to_string(),
            ];
            v.extend(
                [
                    r.stats.kappa,
                    r.null.mean,
                    r.null.sd,
                    r.stats.kappa_ml,
                    r.stats.rayleigh.z,
                    r.stats.gns,
                    r.stats.gs,
                    r.stats.angles.sd_ratio,
                ]
                .map(num),
            );
            v
        })
        .collect();
    print_table(&header, &body);
    let zero: u64 = rows
        .iter()
        .filter(|r| r.stats.scope == "all")
        .map(|r| r.stats.n_zero)
        .sum();
    if zero > 0 {
        eprintln!("note: {zero} zero gradients had no direction and were left out of r_bar, kappa and the angles (column n_zero)");
    }
}

fn json_rows(rows: &[Row]) -> serde_json::Value {
    let f = |x: f64| {
        if x.is_finite() {
            serde_json::json!(x)
        } else {
            serde_json::Value::Null
        }
    };
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "step": r.step, "scope": r.stats.scope, "n": r.stats.n, "n_zero": r.stats.n_zero, "dim": r.stats.dim,
                    "r_bar": f(r.stats.r_bar), "kappa": f(r.stats.kappa), "kappa_ml": f(r.stats.kappa_ml),
                    "kappa_null_mean": f(r.null.mean), "kappa_null_sd": f(r.null.sd),
                    "rayleigh_z": f(r.stats.rayleigh.z), "rayleigh_p": f(r.stats.rayleigh.p),
                    "mean_norm": f(r.stats.mean_norm), "std_norm": f(r.stats.std_norm), "gns": f(r.stats.gns),
                    "norm_snr": f(r.stats.norm_snr), "gs": f(r.stats.gs), "snr": f(r.stats.snr),
                    "angle_mean": f(r.stats.angles.mean), "angle_sd": f(r.stats.angles.sd), "angle_ks": f(r.stats.angles.ks),
                })
            })
            .collect(),
    )
}
