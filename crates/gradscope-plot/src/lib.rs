//! PNG figures for the reproductions.
//!
//! A figure is a row of panels; a panel has log or linear axes, line series with markers,
//! and horizontal reference lines. The font is DejaVu Sans, embedded from the `dejavu`
//! crate and registered with plotters' `ab_glyph` backend, so figures render identically
//! on a bare machine with no fonts installed.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// One line of points.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Index into the palette.
    pub color: usize,
    pub dashed: bool,
    pub markers: bool,
}

impl Series {
    pub fn new(label: &str, points: Vec<(f64, f64)>, color: usize) -> Self {
        Self {
            label: label.to_string(),
            points,
            color,
            dashed: false,
            markers: true,
        }
    }
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self.markers = false;
        self
    }
    pub fn without_markers(mut self) -> Self {
        self.markers = false;
        self
    }
}

/// One panel.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal lines (y, label, color); an empty label keeps the line out of the legend.
    pub hlines: Vec<(f64, String, usize)>,
}

/// The palette (colour-blind safe, Okabe and Ito 2008).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (a, b) = (lo.log10(), hi.log10());
        let pad = ((b - a) * 0.05).max(0.05);
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    } else {
        let pad = ((hi - lo) * 0.05).max(hi.abs().max(1e-12) * 1e-3);
        (lo - pad, hi + pad)
    }
}

/// Draws `panels` side by side into a PNG of `width` x `height` pixels.
pub fn draw_png(path: &Path, width: u32, height: u32, panels: &[Panel]) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(panel, area).map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))?;
    }
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// A tick label: plain for moderate magnitudes (no trailing `.0`), scientific otherwise.
/// `span` is the axis range: a tick within 1e-9 of it from zero is zero (the tick
/// positions are accumulated in floating point and land at, e.g., -2.2e-16).
fn tick(v: f64, span: f64) -> String {
    let a = v.abs();
    if v == 0.0 || a <= 1e-9 * span.abs() {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(p: &Panel, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let xs = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
    let ys = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.1))
        .chain(p.hlines.iter().map(|h| h.0));
    let (x0, x1) = range(xs, p.log_x);
    let (y0, y1) = range(ys, p.log_y);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(p.x_label.as_str())
                .y_desc(p.y_label.as_str())
                .label_style(("sans-serif", 13))
                .x_label_formatter(&|v| tick(*v, if p.log_x { 0.0 } else { x1 - x0 }))
                .y_label_formatter(&|v| tick(*v, if p.log_y { 0.0 } else { y1 - y0 }))
                .draw()?;
            for (y, label, c) in &p.hlines {
                let color = PALETTE[*c % PALETTE.len()];
                let line = chart.draw_series(DashedLineSeries::new(
                    vec![(x0, *y), (x1, *y)],
                    6,
                    4,
                    color.stroke_width(1),
                ))?;
                // An unlabelled line (a reference such as y = 0) stays out of the legend.
                if !label.is_empty() {
                    line.label(label.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
                }
            }
            for s in &p.series {
                let color = PALETTE[s.color % PALETTE.len()];
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| {
                        x.is_finite()
                            && y.is_finite()
                            && (!p.log_x || *x > 0.0)
                            && (!p.log_y || *y > 0.0)
                    })
                    .collect();
                let drawn = if s.dashed {
                    chart.draw_series(DashedLineSeries::new(
                        pts.clone(),
                        6,
                        4,
                        color.stroke_width(2),
                    ))?
                } else {
                    chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                };
                drawn.label(s.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
                if s.markers {
                    chart.draw_series(pts.iter().map(|&q| Circle::new(q, 3, color.filled())))?;
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }};
    }
    match (p.log_x, p.log_y) {
        (true, true) => {
            finish!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?)
        }
        (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_plainly() {
        assert_eq!(tick(-2.220446049250313e-16, 2.2), "0");
        assert_eq!(tick(0.2, 2.2), "0.2");
        assert_eq!(tick(-0.8, 2.2), "-0.8");
        assert_eq!(tick(40.0, 200.0), "40");
        assert_eq!(tick(2.5e-7, 1e-6), "2.5e-7");
        // On a log axis (span 0) nothing is snapped to zero.
        assert_eq!(tick(1e-7, 0.0), "1.0e-7");
    }

    #[test]
    fn draws_a_png_without_system_fonts() {
        let dir = std::env::temp_dir().join(format!("gradscope-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.png");
        let panel = Panel {
            title: "test".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: true,
            log_y: true,
            series: vec![Series::new("a", vec![(1.0, 2.0), (10.0, 20.0)], 1)],
            hlines: vec![(5.0, "ref".into(), 2)],
        };
        draw_png(&path, 400, 300, &[panel.clone(), panel]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        std::fs::remove_dir_all(dir).ok();
    }
}
