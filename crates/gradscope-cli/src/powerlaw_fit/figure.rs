//! `--plot`: each fit (at most 6 panels) on log-log axes with its fitted line, as value
//! against rank (the study's Figure 1) or as the empirical CCDF.

use super::report::FitRow;
use super::PlotKind;
use anyhow::Result;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_tool::errln;
use gradscope_tool::text_table::num;
use std::path::Path;

/// Up to `max` indices of `0..n`, evenly spaced in log scale (always 0 and n - 1).
fn log_spaced(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..max)
        .map(|i| ((n as f64).powf(i as f64 / (max - 1) as f64) - 1.0).round() as usize)
        .map(|i| i.min(n - 1))
        .collect();
    v.dedup();
    v
}

/// Draws the first 6 fits to the PNG `path`.
pub fn plot(path: &Path, rows: &[FitRow], kind: PlotKind) -> Result<()> {
    let shown = &rows[..rows.len().min(6)];
    if rows.len() > 6 {
        errln!("note: --plot shows the first 6 of {} fits", rows.len());
    }
    let panels: Vec<Panel> = shown
        .iter()
        .map(|r| {
            let mut desc = r.data.clone();
            desc.sort_unstable_by(|a, b| b.total_cmp(a));
            let n = desc.len() as f64;
            let f = &r.fit;
            let tail_frac = f.n_tail as f64 / n;
            let idx = log_spaced(desc.len(), 1500);
            let (data, line, x_label, y_label) = match kind {
                PlotKind::Rank => {
                    // Fitted rank curve: rank(x) = n_tail (x/xmin)^(1-alpha), so
                    // x(r) = xmin (r/n_tail)^(-1/(alpha-1)) for r <= n_tail.
                    let pts: Vec<(f64, f64)> =
                        idx.iter().map(|&i| ((i + 1) as f64, desc[i])).collect();
                    let line: Vec<(f64, f64)> = log_spaced(f.n_tail, 200)
                        .into_iter()
                        .map(|i| {
                            let r = (i + 1) as f64;
                            (
                                r,
                                f.xmin * (r / f.n_tail as f64).powf(-1.0 / (f.alpha - 1.0)),
                            )
                        })
                        .collect();
                    (pts, line, "rank", "value")
                }
                PlotKind::Ccdf => {
                    // Empirical P(X >= x) = rank / n; fitted (n_tail/n)(x/xmin)^(1-alpha).
                    let pts: Vec<(f64, f64)> =
                        idx.iter().map(|&i| (desc[i], (i + 1) as f64 / n)).collect();
                    let xmax = desc[0];
                    let line: Vec<(f64, f64)> = (0..=100)
                        .map(|j| {
                            let x = f.xmin * (xmax / f.xmin).powf(j as f64 / 100.0);
                            (x, tail_frac * (x / f.xmin).powf(1.0 - f.alpha))
                        })
                        .collect();
                    (pts, line, "x", "P(X >= x)")
                }
            };
            Panel {
                title: format!(
                    "{} {}: alpha {:.3}, d_ks {:.4} (d_c {:.4})",
                    r.scope, r.series, f.alpha, f.ks_distance, r.ks_crit
                ),
                x_label: x_label.into(),
                y_label: y_label.into(),
                log_x: true,
                log_y: true,
                series: vec![
                    Series::new("data", data, 1).without_markers(),
                    Series::new(&format!("power law, xmin {}", num(f.xmin)), line, 2).dashed(),
                ],
                hlines: Vec::new(),
            }
        })
        .collect();
    draw_png(path, 560 * panels.len().max(1) as u32, 460, &panels)
}
