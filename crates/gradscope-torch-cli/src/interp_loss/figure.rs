//! The walk study's Figure 1 from the interpolations.

use super::replay::StepRow;
use anyhow::Result;
use gradscope_plot::{draw_png, Panel, Series};

/// The study's Figure 1: loss (and accuracy) against iteration, interpolations between
/// iterates, and the valley floor (dashed).
pub fn plot(path: &std::path::Path, rows: &[StepRow], max_steps: usize) -> Result<()> {
    let shown: Vec<&StepRow> = rows.iter().take(max_steps.max(1)).collect();
    let mut loss_line = Vec::new();
    let mut acc_line = Vec::new();
    let mut iterates = Vec::new();
    let mut floor = Vec::new();
    for r in &shown {
        let t0 = (r.step - 1) as f64;
        for (i, &a) in r.alphas.iter().enumerate() {
            loss_line.push((t0 + a, r.losses[i]));
            acc_line.push((t0 + a, r.accs[i]));
        }
        iterates.push((t0, r.interp.loss_start));
        floor.push((t0 + r.interp.alpha_min, r.interp.loss_min));
    }
    if let Some(r) = shown.last() {
        iterates.push((r.step as f64, r.interp.loss_end));
    }
    let first = shown.first().map(|r| r.step).unwrap_or(0);
    let (e0, e1) = (
        shown.first().map(|r| r.epoch).unwrap_or(0),
        shown.last().map(|r| r.epoch).unwrap_or(0),
    );
    let title = format!(
        "updates {first}..{} ({})",
        shown.last().map(|r| r.step).unwrap_or(0),
        if e0 == e1 {
            format!("epoch {e0}")
        } else {
            format!("epochs {e0}-{e1}")
        }
    );
    let loss = Panel {
        title: format!("training loss, {title}"),
        x_label: "iteration".into(),
        y_label: "training loss".into(),
        log_x: false,
        log_y: false,
        series: vec![
            Series::new("interpolation", loss_line, 1).without_markers(),
            Series::new("iterates", iterates, 7),
            Series::new("valley floor", floor, 2).dashed(),
        ],
        hlines: vec![],
    };
    let acc = Panel {
        title: format!("training accuracy, {title}"),
        x_label: "iteration".into(),
        y_label: "training accuracy".into(),
        log_x: false,
        log_y: false,
        series: vec![Series::new("interpolation", acc_line, 3).without_markers()],
        hlines: vec![],
    };
    draw_png(path, 1400, 480, &[loss, acc])
}
