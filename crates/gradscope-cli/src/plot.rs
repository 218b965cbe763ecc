//! `plot`: line plots of result tables, so a pipeline can end in a figure without Python.
//!
//! Each input table (CSV or Parquet, as the tools write them) gives one series per `--y`
//! column, and per value of `--group` when given; `--where col=value` keeps matching
//! rows only. Points are drawn in increasing x. The label of a series is the file's
//! `=LABEL` suffix (or its stem), then the y column when there are several, then the
//! group value. Rows whose x or y is missing or not finite (or not positive on a log
//! axis) are left out and counted on stderr.

use crate::read_table::{read_table, Table};
use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_tool::args::png_path;
use gradscope_tool::{errln, OutputSet};
use gradscope_tool::{usage_bail, UsageError};
use std::path::{Path, PathBuf};

/// Draws a PNG line plot from CSV or Parquet result tables.
#[derive(Debug, Parser)]
#[command(name = "plot", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// Input tables, each `FILE` or `FILE=LABEL` (.csv or .parquet).
    #[arg(required = true)]
    pub inputs: Vec<String>,

    /// Output PNG (written under a temporary name and renamed when complete).
    #[arg(short, long, value_parser = png_path)]
    pub output: PathBuf,

    /// Column for the x axis.
    #[arg(short, long)]
    pub x: String,

    /// Column(s) for the y axis, comma-separated; each is a series.
    #[arg(short, long, value_delimiter = ',', required = true)]
    pub y: Vec<String>,

    /// One series per value of this column (e.g. scope, batch_size).
    #[arg(long)]
    pub group: Option<String>,

    /// Keep only rows where COLUMN equals VALUE (repeatable; compared as text).
    #[arg(long = "where", value_name = "COLUMN=VALUE")]
    pub filters: Vec<String>,

    /// Logarithmic x axis.
    #[arg(long)]
    pub log_x: bool,

    /// Logarithmic y axis.
    #[arg(long)]
    pub log_y: bool,

    /// Horizontal reference line(s), `Y` or `Y=LABEL`.
    #[arg(long, value_name = "Y=LABEL")]
    pub hline: Vec<String>,

    /// Draw the series of these y columns dashed, without markers (e.g. a null reference).
    #[arg(long, value_delimiter = ',')]
    pub dashed: Vec<String>,

    /// Title above the plot.
    #[arg(long, default_value = "")]
    pub title: String,

    /// x-axis label [default: the x column].
    #[arg(long)]
    pub x_label: Option<String>,

    /// y-axis label [default: the y columns].
    #[arg(long)]
    pub y_label: Option<String>,

    /// Image width in pixels.
    #[arg(long, default_value_t = 900)]
    pub width: u32,

    /// Image height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// The largest width or height drawn: the image is held in memory (3 bytes a pixel).
const MAX_PIXELS: u32 = 16384;

/// Splits `FILE=LABEL`; the label defaults to the file stem.
fn input_label(spec: &str) -> (PathBuf, String) {
    match spec.rsplit_once('=') {
        Some((f, l)) if !l.is_empty() && !f.is_empty() => (PathBuf::from(f), l.to_string()),
        _ => {
            let p = PathBuf::from(spec);
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_string());
            (p, stem)
        }
    }
}

/// The series of one table.
fn series_of(
    table: &Table,
    path: &Path,
    label: &str,
    args: &Args,
    color: &mut usize,
    dropped: &mut usize,
) -> Result<Vec<Series>> {
    let x = table.numeric(&args.x)?;
    let mut keep = vec![true; table.rows()];
    for f in &args.filters {
        let (col, value) = f
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--where {f}: expected COLUMN=VALUE")))?;
        let text = table.text(col)?;
        for (k, t) in keep.iter_mut().zip(&text) {
            *k &= t.as_deref() == Some(value);
        }
    }
    if !keep.iter().any(|&k| k) {
        if args.filters.is_empty() {
            bail!("{}: the table has no rows", path.display());
        }
        bail!(
            "{}: no rows match {}",
            path.display(),
            args.filters.join(" and ")
        );
    }
    let groups = match &args.group {
        Some(g) => table.text(g)?,
        None => vec![None; table.rows()],
    };
    let mut order: Vec<Option<String>> = Vec::new();
    for (g, &k) in groups.iter().zip(&keep) {
        if k && !order.contains(g) {
            order.push(g.clone());
        }
    }
    let mut out = Vec::new();
    for ycol in &args.y {
        let y = table.numeric(ycol)?;
        for g in &order {
            let mut points: Vec<(f64, f64)> = Vec::new();
            for i in 0..table.rows() {
                if !keep[i] || &groups[i] != g {
                    continue;
                }
                match (x[i], y[i]) {
                    (Some(a), Some(b))
                        if a.is_finite()
                            && b.is_finite()
                            && (!args.log_x || a > 0.0)
                            && (!args.log_y || b > 0.0) =>
                    {
                        points.push((a, b))
                    }
                    _ => *dropped += 1,
                }
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            // One input: name series by column; several: by input, then column.
            let mut name = if args.inputs.len() > 1 {
                label.to_string()
            } else {
                String::new()
            };
            if args.y.len() > 1 || args.inputs.len() == 1 {
                name = format!("{name} {ycol}");
            }
            if let Some(g) = g {
                name = format!("{name} {}={g}", args.group.as_deref().unwrap_or(""));
            }
            // A dashed series (a reference: the paper's values, a null) takes the colour
            // of the solid series drawn just before it, so each pair reads together.
            let s = if args.dashed.contains(ycol) {
                Series::new(name.trim(), points, color.saturating_sub(1)).dashed()
            } else {
                *color += 1;
                Series::new(name.trim(), points, *color - 1)
            };
            out.push(s);
        }
    }
    Ok(out)
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    if !(1..=MAX_PIXELS).contains(&args.width) || !(1..=MAX_PIXELS).contains(&args.height) {
        usage_bail!(
            "--width {} --height {}: each must lie in 1..={MAX_PIXELS} pixels",
            args.width,
            args.height
        );
    }
    if args.x.trim().is_empty() || args.y.iter().any(|y| y.trim().is_empty()) {
        usage_bail!("-x and -y name columns: an empty name (as in `-y a,`) names none");
    }
    if let Some(f) = args
        .filters
        .iter()
        .find(|f| f.split_once('=').is_none_or(|(c, _)| c.trim().is_empty()))
    {
        usage_bail!("--where {f}: expected COLUMN=VALUE");
    }
    let inputs: Vec<PathBuf> = args.inputs.iter().map(|s| input_label(s).0).collect();
    gradscope_tool::args::check_outputs(
        false,
        inputs.iter().map(PathBuf::as_path),
        [Some(args.output.as_path())],
    )?;
    // A --dashed name that is no -y column would silently dash nothing.
    if let Some(d) = args.dashed.iter().find(|d| !args.y.contains(d)) {
        usage_bail!(
            "--dashed {d}: not one of the -y columns ({})",
            args.y.join(", ")
        );
    }
    let mut hlines = Vec::new();
    for (i, h) in args.hline.iter().enumerate() {
        let (y, label) = h.split_once('=').unwrap_or((h.as_str(), ""));
        let y: f64 = y.parse().map_err(|e| {
            UsageError(format!(
                "--hline {h}: expected a number, optionally =LABEL: {e}"
            ))
        })?;
        if !y.is_finite() {
            usage_bail!("--hline {h}: a line is drawn at a finite value");
        }
        hlines.push((y, label.to_string(), 7 - (i % 4)));
    }
    let mut series = Vec::new();
    let mut color = 0;
    let mut dropped = 0;
    for spec in &args.inputs {
        let (path, label) = input_label(spec);
        let table = read_table(&path)?;
        series.extend(
            series_of(&table, &path, &label, &args, &mut color, &mut dropped)
                .with_context(|| path.display().to_string())?,
        );
    }
    if series.iter().all(|s| s.points.is_empty()) {
        bail!("nothing to draw: no row has a finite x and y");
    }
    if dropped > 0 {
        errln!(
            "plot: {dropped} points left out (missing, not finite, or not positive on a log axis)"
        );
    }
    let panel = Panel {
        title: args.title.clone(),
        x_label: args.x_label.clone().unwrap_or_else(|| args.x.clone()),
        y_label: args.y_label.clone().unwrap_or_else(|| args.y.join(", ")),
        log_x: args.log_x,
        log_y: args.log_y,
        series,
        hlines,
    };
    let mut outputs = OutputSet::new();
    outputs.drawn(&args.output, |tmp| {
        draw_png(tmp, args.width, args.height, &[panel])
    })?;
    outputs.commit()?;
    errln!("plot: wrote {}", args.output.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_suffix_or_stem() {
        assert_eq!(
            input_label("runs/a/kappa.csv=seed 1"),
            (PathBuf::from("runs/a/kappa.csv"), "seed 1".into())
        );
        assert_eq!(
            input_label("runs/a/kappa.csv"),
            (PathBuf::from("runs/a/kappa.csv"), "kappa".into())
        );
    }
}
