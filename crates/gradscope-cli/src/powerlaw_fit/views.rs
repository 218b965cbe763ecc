//! `--views`: the structure study's element views of a gradient matrix (its Table 2):
//! top-k power-law tests of every gradient's elements (dimension-wise) and of every
//! coordinate's values over the n gradients (iteration-wise), as magnitudes of the noise
//! |g - g_bar| (or, `--views-raw`, |g|), reported as rates over the sets.

use super::report::{views_report, ViewRow};
use super::{Args, ViewArg};
use crate::spectra_from_file::GradMatrix;
use anyhow::Result;
use gradscope_io::Provenance;
use gradscope_stats::spectrum::views::coordinate_means;
use gradscope_stats::spectrum::{dimension_wise, iteration_wise, view_fits, ViewFits};
use gradscope_tool::{errln, tool_name, OutputSet};
use rayon::prelude::*;

/// The views' rates and what they were measured on.
pub struct Views {
    pub prov: Provenance,
    pub rows: Vec<ViewRow>,
}

/// Reads the step's n x d matrix and fits the top `k` of every set of each view. Writes
/// nothing.
pub fn measure(args: &Args, k: usize) -> Result<Views> {
    let m = GradMatrix::open(&args.input, args.step, usize::MAX)?;
    let (n, d) = (m.n, m.dim);
    let mut prov = Provenance::new("powerlaw-fit-views", &tool_name("powerlaw-fit"));
    prov.command = std::env::args().collect();
    prov.source = Some(Box::new(m.meta.clone()));
    prov.extra.insert("step".into(), m.step.into());
    prov.extra.insert("samples".into(), (n as u64).into());
    prov.extra.insert("top_k".into(), (k as u64).into());
    prov.extra
        .insert("centred".into(), (!args.views_raw).into());
    let step = m.step;
    let batch_size = m.meta.batch_size.unwrap_or(0);
    let x = m.into_matrix()?;
    let means = (!args.views_raw).then(|| coordinate_means(&x, n, d));
    let mut out: Vec<(ViewArg, ViewFits)> = Vec::new();
    for &v in &args.views {
        // Parallel over chunks of sets; the chunks' sums are combined in order.
        let count = match v {
            ViewArg::Dimension => n,
            ViewArg::Iteration => d,
        };
        let chunk = count.div_ceil(64).max(1);
        let parts: Vec<ViewFits> = (0..count)
            .collect::<Vec<_>>()
            .par_chunks(chunk)
            .map(|idx| {
                view_fits(
                    idx.iter().map(|&j| match v {
                        ViewArg::Dimension => dimension_wise(&x, d, j, means.as_deref()),
                        ViewArg::Iteration => iteration_wise(&x, n, d, j, !args.views_raw),
                    }),
                    k,
                )
            })
            .collect();
        let mut tot = ViewFits {
            tested: 0,
            skipped: 0,
            accepted: 0,
            mean_ks: 0.0,
            mean_alpha: 0.0,
        };
        for p in &parts {
            tot.tested += p.tested;
            tot.skipped += p.skipped;
            tot.accepted += p.accepted;
            if p.tested > 0 {
                tot.mean_ks += p.mean_ks * p.tested as f64;
                tot.mean_alpha += p.mean_alpha * p.tested as f64;
            }
        }
        tot.mean_ks /= tot.tested as f64;
        tot.mean_alpha /= tot.tested as f64;
        out.push((v, tot));
    }
    let name = |v: ViewArg| match v {
        ViewArg::Dimension => "dimension",
        ViewArg::Iteration => "iteration",
    };
    let ks_crit = 1.36 / (k as f64).sqrt();
    let rows = out
        .into_iter()
        .map(|(v, fits)| ViewRow {
            step,
            batch_size,
            view: name(v),
            samples: n as u64,
            dim: d as u64,
            top_k: k as u64,
            fits,
            ks_crit,
        })
        .collect();
    Ok(Views { prov, rows })
}

/// The table, the summary on stderr and `--json`.
pub fn emit(args: &Args, v: &Views) -> Result<()> {
    let report = views_report();
    let mut outputs = OutputSet::new();
    if let Some(o) = &args.output {
        outputs.table(o, &report.table(&v.rows)?, &v.prov)?;
    }
    if let Some(r) = v.rows.first() {
        errln!(
            "{} gradients of {} values (step {}), top-{} fits of {}",
            r.samples,
            r.dim,
            r.step,
            r.top_k,
            if args.views_raw { "|g|" } else { "|g - g_bar|" }
        );
    }
    gradscope_tool::console::err(&report.summary(&v.rows));
    if args.json.enabled {
        outputs.json(&report.json(&v.rows))?;
    }
    outputs.commit()
}
