//! The figures: the study's Figure 5 (alignment against batch size) and Figure 7 (cosine
//! of consecutive gradients), and the spectral densities on a log y axis.

use super::curvature::Density;
use super::report::{BatchSizeRow, CosineRow};
use anyhow::Result;
use gradscope_plot::{draw_png, Panel, Series};
use std::path::Path;

/// Figure 5 (alignment mean +- sd against batch size, log x) and Figure 7 (cosine of
/// consecutive gradients along each trajectory).
pub fn plot(
    path: &Path,
    align: &[BatchSizeRow],
    cos: &[CosineRow],
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
                Series::new(
                    "mean",
                    align
                        .iter()
                        .map(|a| (a.batch_size as f64, a.alignment_mean))
                        .collect(),
                    1,
                ),
                Series::new(
                    "mean + sd",
                    align
                        .iter()
                        .map(|a| (a.batch_size as f64, a.alignment_mean + a.alignment_sd))
                        .collect(),
                    1,
                )
                .dashed(),
                Series::new(
                    "mean - sd",
                    align
                        .iter()
                        .map(|a| (a.batch_size as f64, a.alignment_mean - a.alignment_sd))
                        .collect(),
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
                            .filter(|r| r.batch_size == b as u64 && r.cosine.is_finite())
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

/// The densities (the whole network's and each block's) on a log y axis, as Ghorbani,
/// Krishnan and Xiao (2019) draw theirs in Figure 1: the outliers several decades below
/// the bulk are visible only so. A log axis has no zero, and a Gaussian's tails underflow:
/// values below 1e-6 of the highest are drawn at that floor.
pub fn density_plot(path: &Path, curves: &[(&str, &Density)], step: u64) -> Result<()> {
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
