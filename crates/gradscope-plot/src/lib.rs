//! PNG figures for the reproductions.
//!
//! A figure is a row of panels; a panel has log or linear axes, line series with markers,
//! and horizontal reference lines. The font is DejaVu Sans, embedded from the `dejavu`
//! crate and registered with plotters' `ab_glyph` backend, so figures render identically
//! on a bare machine with no fonts installed.
//!
//! What a reader can rely on:
//! - every series of a panel has its own style: the caller's colour and line (solid or
//!   dashed), and where two series would look the same, the later one takes the next free
//!   colour, then another marker shape or line pattern ([`Style`]); the legend shows each
//!   series as drawn (a dashed line dashed, its marker);
//! - a log axis spans whole decades, and every decade is labelled (with 2 and 5 between
//!   them when the axis spans two decades or less);
//! - a horizontal reference line is labelled with its value at its right end and in the
//!   legend, and so is a dashed series that is constant (a null value drawn as a series);
//! - the PNG is rendered in memory and written with write-then-rename: a bad size or a
//!   failed write leaves no file, and an existing one untouched.

use anyhow::{anyhow, bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
    /// Horizontal lines (y, label, color); an empty label keeps the line out of the legend
    /// (its value is still written at its right end).
    pub hlines: Vec<(f64, String, usize)>,
}

/// The largest width or height [`draw_png`] accepts, in pixels (a 10000 x 10000 figure
/// takes 300 MB while it is drawn).
pub const MAX_SIDE: u32 = 10_000;

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

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Solid,
    Dashed,
    Dotted,
}

/// The marker drawn at each point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    None,
    Circle,
    Square,
    Triangle,
    Cross,
}

/// How one series is drawn: a palette colour, a line and a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: usize,
    pub line: Line,
    pub marker: Marker,
}

/// The styles the series of one panel are drawn with, in order: each series' own (its
/// colour, dashed or solid, circles or no markers) unless an earlier series already
/// looks like that; then the first free variant, trying the next palette colours first,
/// then other marker shapes (series with markers) or other line patterns (without), so
/// that no two series of a panel look alike while there are fewer than 32 of them.
pub fn styles(series: &[Series]) -> Vec<Style> {
    const MARKERS: [Marker; 4] = [
        Marker::Circle,
        Marker::Square,
        Marker::Triangle,
        Marker::Cross,
    ];
    let mut used: Vec<Style> = Vec::with_capacity(series.len());
    for s in series {
        let line = if s.dashed { Line::Dashed } else { Line::Solid };
        let other_lines = match line {
            Line::Dashed => [Line::Dashed, Line::Dotted, Line::Solid],
            _ => [Line::Solid, Line::Dotted, Line::Dashed],
        };
        let own = Style {
            color: s.color % PALETTE.len(),
            line,
            marker: if s.markers {
                Marker::Circle
            } else {
                Marker::None
            },
        };
        let variant = |round: usize, k: usize| {
            let mut st = own;
            st.color = (own.color + k) % PALETTE.len();
            if s.markers {
                st.marker = MARKERS[round % MARKERS.len()];
            } else {
                st.line = other_lines[round % other_lines.len()];
            }
            st
        };
        let chosen = (0..4)
            .flat_map(|round| (0..PALETTE.len()).map(move |k| (round, k)))
            .map(|(round, k)| variant(round, k))
            .find(|st| !used.contains(st))
            .unwrap_or(own);
        used.push(chosen);
    }
    used
}

/// A value as a label: four significant digits, plain for moderate magnitudes and
/// scientific otherwise (`20107`, `0.1235`, `1.235e-7`).
pub fn value_text(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        scientific(&format!("{v:.3e}"))
    }
}

/// `1.500e7` -> `1.5e7`, `1.0e5` -> `1e5`.
fn scientific(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s.to_string(),
    }
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
        // Whole decades, so that every decade the data touch has its label.
        let a = lo.log10().floor();
        let b = hi.log10().ceil().max(a + 1.0);
        (10f64.powf(a), 10f64.powf(b))
    } else {
        let pad = ((hi - lo) * 0.05).max(hi.abs().max(1e-12) * 1e-3);
        (lo - pad, hi + pad)
    }
}

/// Decades spanned by a log axis from `lo` to `hi`.
fn decades(lo: f64, hi: f64) -> f64 {
    (hi / lo).log10()
}

/// The label of a tick on a log axis: decades always; 2 and 5 times a decade too when the
/// axis spans two decades or less; nothing for the other ticks.
fn log_tick(v: f64, decades: f64) -> String {
    let e = v.log10().floor();
    let mantissa = v / 10f64.powf(e);
    let near = |m: f64| (mantissa - m).abs() < 1e-6 * m;
    let decade = near(1.0) || near(10.0);
    if decade || (decades <= 2.0 + 1e-9 && (near(2.0) || near(5.0))) {
        tick(v, 0.0)
    } else {
        String::new()
    }
}

/// Draws `panels` side by side into a PNG of `width` x `height` pixels at `path`.
///
/// Errors (nothing is written): a width or height of 0 or above [`MAX_SIDE`], no panel, a
/// drawing or encoding failure, an unwritable destination.
pub fn draw_png(path: &Path, width: u32, height: u32, panels: &[Panel]) -> Result<()> {
    for (what, v) in [("width", width), ("height", height)] {
        if !(1..=MAX_SIDE).contains(&v) {
            bail!(
                "cannot write {}: the {what} must be between 1 and {MAX_SIDE} pixels, got {v}",
                path.display()
            );
        }
    }
    if panels.is_empty() {
        bail!("cannot write {}: no panel to draw", path.display());
    }
    register_font();
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let areas = root.split_evenly((1, panels.len()));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw_panel(panel, area).map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))?;
        }
        root.present()
            .map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))?;
    }
    let png = encode_png(&rgb, width, height)
        .map_err(|e| anyhow!("cannot write {}: PNG encoding failed: {e}", path.display()))?;
    gradscope_io::atomic::write_bytes(path, &png)
}

/// 8-bit RGB pixels, row by row, as a PNG file.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// A tick label: plain for moderate magnitudes (no trailing `.0`), scientific otherwise.
/// `span` is the axis range: a tick within 1e-9 of it from zero is zero (the tick
/// positions are accumulated in floating point and land at, e.g., -2.2e-16).
fn tick(v: f64, span: f64) -> String {
    let a = v.abs();
    if v == 0.0 || a <= 1e-9 * span.abs() {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        scientific(&format!("{v:.1e}"))
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The legend sample of a style: 24 pixels of its line, with its marker in the middle.
/// One element type for every style (a closure per style would need boxing): four line
/// segments (a solid line repeats its one) and all four markers, those not drawn fully
/// transparent.
macro_rules! legend_glyph {
    ($style:expr) => {{
        let style: Style = $style;
        let color = PALETTE[style.color];
        move |(x, y): (i32, i32)| {
            let stroke = color.stroke_width(2);
            let segments: [(i32, i32); 4] = match style.line {
                Line::Solid => [(0, 24); 4],
                Line::Dashed => [(0, 7), (11, 18), (22, 24), (0, 7)],
                Line::Dotted => [(0, 2), (6, 8), (12, 14), (18, 20)],
            };
            let seg =
                |i: usize| PathElement::new(vec![(segments[i].0, 0), (segments[i].1, 0)], stroke);
            let shown = |m: Marker| {
                if style.marker == m {
                    color.filled()
                } else {
                    TRANSPARENT.filled()
                }
            };
            EmptyElement::at((x, y))
                + seg(0)
                + seg(1)
                + seg(2)
                + seg(3)
                + Circle::new((12, 0), 3, shown(Marker::Circle))
                + Rectangle::new([(9, -3), (15, 3)], shown(Marker::Square))
                + TriangleMarker::new((12, 0), 4, shown(Marker::Triangle))
                + Cross::new((12, 0), 3, shown(Marker::Cross).stroke_width(2))
        }
    }};
}

/// A reference line's legend text: its label and its value.
fn reference_label(label: &str, y: f64) -> String {
    if label.is_empty() {
        value_text(y)
    } else {
        format!("{label} = {}", value_text(y))
    }
}

/// The constant y of a series (every point the same value to 1e-12), if it is one.
fn constant_y(points: &[(f64, f64)]) -> Option<f64> {
    let first = points.first()?.1;
    points
        .iter()
        .all(|p| (p.1 - first).abs() <= 1e-12 * first.abs())
        .then_some(first)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn draw_panel(p: &Panel, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let visible = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!p.log_x || x > 0.0) && (!p.log_y || y > 0.0)
    };
    let xs = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
    let ys = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.1))
        .chain(p.hlines.iter().map(|h| h.0));
    let (x0, x1) = range(xs, p.log_x);
    let (y0, y1) = range(ys, p.log_y);
    // Enough key points for one per decade; plotters drops decades beyond its hint.
    let labels = |log: bool, lo: f64, hi: f64| {
        if log {
            (decades(lo, hi).round() as usize + 2).max(10)
        } else {
            10
        }
    };
    let styles = styles(&p.series);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let (dx, dy) = (decades(x0, x1), decades(y0, y1));
            chart
                .configure_mesh()
                .x_desc(p.x_label.as_str())
                .y_desc(p.y_label.as_str())
                .x_labels(labels(p.log_x, x0, x1))
                .y_labels(labels(p.log_y, y0, y1))
                .label_style(("sans-serif", 13))
                .x_label_formatter(&|v| {
                    if p.log_x {
                        log_tick(*v, dx)
                    } else {
                        tick(*v, x1 - x0)
                    }
                })
                .y_label_formatter(&|v| {
                    if p.log_y {
                        log_tick(*v, dy)
                    } else {
                        tick(*v, y1 - y0)
                    }
                })
                .draw()?;
            for (y, label, c) in &p.hlines {
                let color = PALETTE[*c % PALETTE.len()];
                let line = chart.draw_series(DashedLineSeries::new(
                    vec![(x0, *y), (x1, *y)],
                    6,
                    4,
                    color.stroke_width(1),
                ))?;
                // An unlabelled line (a reference such as y = 0) stays out of the legend;
                // every line carries its value at its right end.
                if !label.is_empty() {
                    line.label(reference_label(label, *y))
                        .legend(legend_glyph!(Style {
                            color: *c % PALETTE.len(),
                            line: Line::Dashed,
                            marker: Marker::None,
                        }));
                }
                chart.draw_series(std::iter::once(Text::new(
                    value_text(*y),
                    (x1, *y),
                    ("sans-serif", 12)
                        .into_font()
                        .color(&color)
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                )))?;
            }
            for (s, &style) in p.series.iter().zip(&styles) {
                let color = PALETTE[style.color];
                let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(visible).collect();
                let stroke = color.stroke_width(2);
                let drawn = match style.line {
                    Line::Solid => chart.draw_series(LineSeries::new(pts.clone(), stroke))?,
                    Line::Dashed => {
                        chart.draw_series(DashedLineSeries::new(pts.clone(), 7, 4, stroke))?
                    }
                    Line::Dotted => {
                        chart.draw_series(DashedLineSeries::new(pts.clone(), 2, 4, stroke))?
                    }
                };
                let label = match constant_y(&pts) {
                    Some(y) if style.line != Line::Solid && pts.len() > 1 => {
                        reference_label(&s.label, y)
                    }
                    _ => s.label.clone(),
                };
                drawn.label(label).legend(legend_glyph!(style));
                let fill = color.filled();
                match style.marker {
                    Marker::None => {}
                    Marker::Circle => {
                        chart.draw_series(pts.iter().map(|&q| Circle::new(q, 3, fill)))?;
                    }
                    Marker::Square => {
                        chart.draw_series(pts.iter().map(|&q| {
                            EmptyElement::at(q) + Rectangle::new([(-3, -3), (3, 3)], fill)
                        }))?;
                    }
                    Marker::Triangle => {
                        chart.draw_series(pts.iter().map(|&q| TriangleMarker::new(q, 4, fill)))?;
                    }
                    Marker::Cross => {
                        chart.draw_series(pts.iter().map(|&q| Cross::new(q, 3, stroke)))?;
                    }
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .legend_area_size(30)
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
        assert_eq!(tick(1e-7, 0.0), "1e-7");
        assert_eq!(tick(1e5, 0.0), "1e5");
    }

    #[test]
    fn log_axes_span_whole_decades_and_label_each() {
        // make demo's kappa: data 6.6e4..8.0e5 and the null mean 2.01e4.
        let (lo, hi) = range([2.0107e4, 6.6e4, 8.0e5].into_iter(), true);
        assert_eq!((lo, hi), (1e4, 1e6));
        assert_eq!(range([3.0, 3.0].into_iter(), true), (1.0, 10.0));
        assert_eq!(log_tick(1e4, 2.0), "10000");
        assert_eq!(log_tick(1e5 * (1.0 + 1e-15), 2.0), "1e5");
        assert_eq!(log_tick(2e4, 2.0), "20000");
        assert_eq!(log_tick(5e-3, 2.0), "0.005");
        assert_eq!(log_tick(3e4, 2.0), "");
        // Wider axes: decades only.
        assert_eq!(log_tick(2e4, 5.0), "");
        assert_eq!(log_tick(1e-6, 5.0), "1e-6");
    }

    #[test]
    fn values_read_with_four_digits() {
        assert_eq!(value_text(20106.694669903947), "20107");
        assert_eq!(value_text(0.123456), "0.1235");
        assert_eq!(value_text(1.5), "1.5");
        assert_eq!(value_text(-2.0), "-2");
        assert_eq!(value_text(0.0), "0");
        assert_eq!(value_text(1.23456e-7), "1.235e-7");
        assert_eq!(value_text(1.5e7), "1.5e7");
        assert_eq!(reference_label("null mean", 20106.69), "null mean = 20107");
        assert_eq!(constant_y(&[(0.0, 2.0), (1.0, 2.0)]), Some(2.0));
        assert_eq!(constant_y(&[(0.0, 2.0), (1.0, 2.1)]), None);
    }

    #[test]
    fn no_two_series_look_alike() {
        let line = |c: usize| Series::new("s", vec![], c);
        // Callers' distinct styles are kept: a solid/dashed pair may share a colour.
        let kept = styles(&[line(1), line(1).dashed(), line(2)]);
        assert_eq!(
            kept[0],
            Style {
                color: 1,
                line: Line::Solid,
                marker: Marker::Circle
            }
        );
        assert_eq!(
            kept[1],
            Style {
                color: 1,
                line: Line::Dashed,
                marker: Marker::None
            }
        );
        assert_eq!(kept[2].color, 2);
        // Twenty solid series asking for colour 0 (or wrapping the palette): all distinct.
        let many: Vec<Series> = (0..20).map(|i| line(i % 3)).collect();
        let st = styles(&many);
        for i in 0..st.len() {
            for j in 0..i {
                assert_ne!(st[i], st[j], "series {i} and {j}");
            }
        }
        assert_eq!(st[8].marker, Marker::Square);
        let dashed: Vec<Series> = (0..10).map(|_| line(0).dashed()).collect();
        let st = styles(&dashed);
        assert_eq!(st[8].line, Line::Dotted);
    }

    #[test]
    fn a_bad_size_writes_nothing_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let panel = Panel {
            series: vec![Series::new("a", vec![(1.0, 2.0), (2.0, 3.0)], 1)],
            ..Panel::default()
        };
        draw_png(&path, 200, 100, std::slice::from_ref(&panel)).unwrap();
        let before = std::fs::read(&path).unwrap();
        for (w, h) in [(0, 100), (200, 0), (MAX_SIDE + 1, 100)] {
            let e = draw_png(&path, w, h, std::slice::from_ref(&panel)).unwrap_err();
            assert!(
                format!("{e:#}").contains("must be between 1 and 10000 pixels"),
                "{e:#}"
            );
        }
        assert!(draw_png(&path, 200, 100, &[]).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a temporary is left"
        );
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
        let info = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap()
            .info()
            .clone();
        assert_eq!((info.width, info.height), (400, 300));
        std::fs::remove_dir_all(dir).ok();
    }
}
