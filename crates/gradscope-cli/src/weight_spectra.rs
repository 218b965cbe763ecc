//! `weight-spectra`: power laws of a network's weight-matrix spectra, per layer.
//!
//! For each weight tensor of a safetensors file (a gradscope `train` checkpoint, or any
//! safetensors file of F64/F32/F16/BF16 weights) of rank 2 (dense), 3 (Conv1D) or 4
//! (Conv2D), reshaped into `N x M` matrices (`N >= M`) as WeightWatcher 0.7.7 does, the
//! eigenvalues of `W^T W / N` of all its matrices together (the layer's ESD, see
//! `gradscope_stats::weight_spectrum`), their power-law fit through the same code as
//! `powerlaw-fit --column` (continuous MLE exponent, `xmin` by the KS scan, KS distance;
//! `gradscope_stats::powerlaw`), the stable rank and the spectral norm.
//!
//! Which tensors: every floating tensor of rank 2-4 whose ESD has at least `--min-evals`
//! eigenvalues (WeightWatcher's `min_evals`, 8), except, in a gradscope checkpoint (a file
//! with a `__state__` tensor), the optimiser's state `optim.*`. Biases, norm scales and
//! other rank-1 tensors are not matrices and are passed over; integer tensors are listed
//! in a note. WeightWatcher, reading a state dict, takes only names ending in `.weight`
//! and skips rank-3 tensors, layers of `N > 50000` and ESDs over 15000 eigenvalues;
//! those limits are not ours.
//!
//! Where the fit differs from WeightWatcher's default (`pl_package='ww'`, its `WWFit`,
//! not the `powerlaw` package, which it uses only with `pl_package='powerlaw'` or
//! `fix_fingers`): both take the MLE exponent `1 + n / sum ln(x/xmin)` and the KS
//! distance against the empirical CDF just below each point, and choose the `xmin` of
//! least distance. WWFit's candidates are every sorted eigenvalue but the largest (ties
//! included, so a tail can be two points); ours, the `powerlaw` package's, the distinct
//! values but the two largest (every tail keeps three). WWFit accepts any `alpha > 1`, as
//! `--alpha-max inf` (our default) does; the `powerlaw` package and `powerlaw-fit`'s
//! default reject `alpha >= 3`. WWFit drops eigenvalues `<= 1e-5` in its own units (`sigma^2`)
//! before fitting, which can drop real eigenvalues of small weights; we drop the numerical
//! zeros `<= lambda_max * N * eps`. For fewer than 20 eigenvalues WWFit switches to a
//! bias-corrected exponent `1 + (n - 1)/sum ln(x/xmin)` chosen by `D - 0.868/sqrt(n)`
//! over tails of at least 8; we fit such layers the same way as any other. Away from
//! those cases the two give the same xmin and alpha.
//!
//! One row per layer: `layer, dtype, shape, kind, N, M, slices, num_evals, num_positive,
//! alpha, xmin, ks_d, n_tail, sigma, lambda_max, stable_rank, spectral_norm,
//! log10_spectral_norm` (alpha, xmin, ks_d, sigma null where no fit was possible, e.g.
//! fewer than four distinct positive eigenvalues). Everything is computed before
//! anything is written, so a failed run leaves no file.

use anyhow::{bail, Context, Result};
use arrow::record_batch::RecordBatch;
use clap::Parser;
use gradscope_io::safetensors_file::{SafetensorsFile, TensorEntry};
use gradscope_io::Provenance;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_stats::powerlaw::PowerLawFit;
use gradscope_stats::weight_spectrum::{layer_shape, weight_spectrum, WeightSpectrum};
use gradscope_tool::args::{check_outputs, png_path, table_file, table_path, Json, Threads};
use gradscope_tool::report::{Column, Report};
use gradscope_tool::table_builder::TableBuilder;
use gradscope_tool::text_table::num;
use gradscope_tool::usage_bail;
use gradscope_tool::{errln, tool_name, OutputSet};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The checkpoint record of a gradscope `train` checkpoint.
const CHECKPOINT_STATE: &str = "__state__";
/// The prefix of a gradscope checkpoint's optimiser state.
const CHECKPOINT_OPTIM: &str = "optim.";

/// Per-layer power-law fits of weight-matrix eigenvalues (WeightWatcher's alpha), stable
/// ranks and spectral norms of a safetensors file.
#[derive(Debug, Parser)]
#[command(name = "weight-spectra", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// The weights: a safetensors file (a gradscope checkpoint or any other).
    #[arg(short, long)]
    pub input: PathBuf,

    /// One row per layer: .parquet, .csv or .json by extension, `-` for CSV on stdout.
    /// Without it only the summary on stderr (and --json on stdout) is written.
    #[arg(short, long, value_parser = table_path)]
    pub output: Option<PathBuf>,

    /// Also write every eigenvalue (layer, rank, eigenvalue; descending within a layer,
    /// numerical zeros included) to this table (.parquet, .csv, .json).
    #[arg(long, value_name = "FILE", value_parser = table_file)]
    pub spectrum_output: Option<PathBuf>,

    /// Skip layers whose ESD has fewer eigenvalues than this (WeightWatcher's
    /// `min_evals`, default 8).
    #[arg(long, default_value_t = 8)]
    pub min_evals: usize,

    /// In the KS scan, candidates whose alpha is not below this are invalid. Default
    /// `inf`, as WeightWatcher's fit; 3 is the `powerlaw` package's (and `powerlaw-fit`'s)
    /// default range.
    #[arg(long, default_value_t = f64::INFINITY)]
    pub alpha_max: f64,

    /// Draw one layer's spectrum (PNG): the ESD as a log-binned density and its
    /// complementary CDF, on log axes, with the fitted power law.
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// The layer --plot draws (default: the one with the most weights).
    #[arg(long, value_name = "NAME", requires = "plot")]
    pub plot_layer: Option<String>,

    // Layers run in parallel, and so do each layer's products and KS scan.
    #[command(flatten)]
    pub threads: Threads,

    #[command(flatten)]
    pub json: Json,
}

/// One layer's results.
#[derive(Debug, Clone)]
pub struct LayerRow {
    /// The tensor's name.
    pub layer: String,
    /// Its dtype as stored (`F32`, `BF16`, ...).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The spectrum and norms.
    pub spectrum: WeightSpectrum,
    /// Significant eigenvalues (above the numerical-zero tolerance).
    pub num_positive: usize,
    /// The fit, or why there is none.
    pub fit: std::result::Result<PowerLawFit, String>,
}

impl LayerRow {
    fn fit_value(&self, f: impl Fn(&PowerLawFit) -> f64) -> f64 {
        self.fit.as_ref().map(f).unwrap_or(f64::NAN)
    }

    fn shape_text(&self) -> String {
        let s: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        s.join("x")
    }
}

/// The layers a file holds, in file order, and notes on the tensors passed over.
pub fn select_layers(file: &SafetensorsFile, min_evals: usize) -> (Vec<TensorEntry>, Vec<String>) {
    let checkpoint = file.contains(CHECKPOINT_STATE);
    let mut notes = Vec::new();
    let mut layers = Vec::new();
    let mut too_small = Vec::new();
    for t in file.tensors() {
        if checkpoint && (t.name == CHECKPOINT_STATE || t.name.starts_with(CHECKPOINT_OPTIM)) {
            continue;
        }
        let Some(ls) = layer_shape(&t.shape) else {
            // Biases and scalars are no matrices; a tensor of 5 or more axes (a Conv3d
            // kernel) is one that WeightWatcher has no reading of: say so.
            if t.shape.len() > 4 && t.is_float() {
                notes.push(format!(
                    "{}: a {}-D tensor (WeightWatcher reads dense layers and 1-D and 2-D convolutions only); passed over",
                    t.name,
                    t.shape.len()
                ));
            }
            continue;
        };
        if !t.is_float() {
            notes.push(format!(
                "{}: dtype {} is not a floating type; passed over",
                t.name, t.dtype
            ));
            continue;
        }
        if ls.eigenvalue_count() < min_evals.max(1) {
            too_small.push(format!(
                "{} ({} eigenvalues)",
                t.name,
                ls.eigenvalue_count()
            ));
            continue;
        }
        layers.push(t.clone());
    }
    if !too_small.is_empty() {
        notes.push(format!(
            "fewer than --min-evals {min_evals} eigenvalues, skipped: {}",
            too_small.join(", ")
        ));
    }
    (layers, notes)
}

/// Computes every selected layer's row (layers in parallel), in file order.
pub fn layer_rows(
    file: &SafetensorsFile,
    layers: &[TensorEntry],
    alpha_max: f64,
) -> Result<Vec<LayerRow>> {
    layers
        .par_iter()
        .map(|t| {
            let what = || format!("{}: tensor {}", file.path().display(), t.name);
            let values = file.read_f64(t)?;
            let spectrum = weight_spectrum(&t.shape, &values).with_context(what)?;
            drop(values);
            let num_positive = spectrum.significant().len();
            let fit = spectrum.fit(alpha_max).map_err(|e| e.to_string());
            Ok(LayerRow {
                layer: t.name.clone(),
                dtype: t.dtype.to_string(),
                shape: t.shape.clone(),
                spectrum,
                num_positive,
                fit,
            })
        })
        .collect()
}

/// A value of the fit, or the text of a missing one.
fn fit_text(r: &LayerRow, f: impl Fn(&PowerLawFit) -> String) -> String {
    r.fit.as_ref().map(f).unwrap_or("-".into())
}

/// The per-layer rows, described once: the table has every column but `fit_error`, the
/// summary those with a label, `--json` every one (`shape` as an array there). Units:
/// eigenvalues (`xmin`, `lambda_max`) are those of `W^T W / N`, squared weight units;
/// `spectral_norm` is in weight units; alpha, ks_d, sigma and stable_rank are
/// dimensionless (see `gradscope_stats::weight_spectrum` and `gradscope_stats::powerlaw`).
pub fn report() -> Report<LayerRow> {
    Report::new(vec![
        Column::str("layer", |r: &LayerRow| r.layer.as_str())
            .summary("layer")
            .json(),
        Column::str("dtype", |r: &LayerRow| r.dtype.as_str()).json(),
        Column::string("shape", LayerRow::shape_text)
            .summary("shape")
            .json_with(|r| serde_json::json!(r.shape)),
        Column::str("kind", |r: &LayerRow| r.spectrum.shape.kind.name()).json(),
        Column::u64("N", |r: &LayerRow| r.spectrum.shape.n as u64)
            .summary("N")
            .json(),
        Column::u64("M", |r: &LayerRow| r.spectrum.shape.m as u64)
            .summary("M")
            .json(),
        Column::u64("slices", |r: &LayerRow| r.spectrum.shape.slices as u64).json(),
        Column::u64("num_evals", |r: &LayerRow| {
            r.spectrum.eigenvalues.len() as u64
        })
        .summary("evals")
        .json(),
        Column::u64("num_positive", |r: &LayerRow| r.num_positive as u64).json(),
        Column::f64("alpha", |r: &LayerRow| r.fit_value(|f| f.alpha))
            .summary("alpha")
            .json(),
        Column::f64("xmin", |r: &LayerRow| r.fit_value(|f| f.xmin))
            .unit("squared weight units")
            .summary("xmin")
            .json(),
        Column::f64("ks_d", |r: &LayerRow| r.fit_value(|f| f.ks_distance))
            .summary("ks_d")
            .json(),
        Column::u64("n_tail", |r: &LayerRow| {
            r.fit.as_ref().map(|f| f.n_tail as u64).unwrap_or(0)
        })
        .summary_with("n_tail", |r| fit_text(r, |f| f.n_tail.to_string()))
        .json(),
        Column::f64("sigma", |r: &LayerRow| r.fit_value(|f| f.sigma())).json(),
        Column::json_only("fit_error", |r: &LayerRow| {
            serde_json::json!(r.fit.as_ref().err())
        }),
        Column::f64("lambda_max", |r: &LayerRow| r.spectrum.lambda_max())
            .unit("squared weight units")
            .summary("lambda_max")
            .json(),
        Column::f64("stable_rank", |r: &LayerRow| r.spectrum.stable_rank())
            .summary("stable_rank")
            .json(),
        Column::f64("spectral_norm", |r: &LayerRow| r.spectrum.spectral_norm)
            .unit("weight units")
            .summary("||W||_2")
            .json(),
        Column::f64("log10_spectral_norm", |r: &LayerRow| {
            r.spectrum.spectral_norm.log10()
        })
        .json(),
    ])
}

/// Every eigenvalue: layer, rank (1 = largest), eigenvalue.
pub fn spectrum_table(rows: &[LayerRow]) -> Result<RecordBatch> {
    // Collected first: arrow's builders need iterators of known length.
    let flat: Vec<(&str, u64, f64)> = rows
        .iter()
        .flat_map(|r| {
            r.spectrum
                .eigenvalues
                .iter()
                .enumerate()
                .map(move |(i, &v)| (r.layer.as_str(), i as u64 + 1, v))
        })
        .collect();
    TableBuilder::new()
        .str("layer", flat.iter().map(|x| x.0))
        .u64("rank", flat.iter().map(|x| x.1))
        .f64("eigenvalue", flat.iter().map(|x| x.2))
        .build()
}

/// What `run` decided and opened before measuring.
struct Plan {
    file: SafetensorsFile,
    layers: Vec<TensorEntry>,
    notes: Vec<String>,
}

/// Every check of the arguments, the file opened and its layers chosen.
fn plan(args: &Args) -> Result<Plan> {
    check_outputs(
        args.json.enabled,
        [args.input.as_path()],
        [
            args.output.as_deref(),
            args.spectrum_output.as_deref(),
            args.plot.as_deref(),
        ],
    )?;
    args.threads.init();
    if args.alpha_max.is_nan() || args.alpha_max <= 1.0 {
        usage_bail!("--alpha-max {}: must exceed 1", args.alpha_max);
    }
    let file = SafetensorsFile::open(&args.input)?;
    let (layers, notes) = select_layers(&file, args.min_evals);
    if layers.is_empty() {
        bail!(
            "{}: no weight matrices: no floating tensor of rank 2 (dense), 3 or 4 (convolution) with at least --min-evals {} eigenvalues among its {} tensors",
            args.input.display(),
            args.min_evals,
            file.tensors().len()
        );
    }
    if let Some(name) = &args.plot_layer {
        if !layers.iter().any(|t| &t.name == name) {
            let names: Vec<&str> = layers.iter().map(|t| t.name.as_str()).collect();
            bail!(
                "--plot-layer {name}: no such layer; the layers are {}",
                names.join(", ")
            );
        }
    }
    Ok(Plan {
        file,
        layers,
        notes,
    })
}

/// Runs the tool: plan (every check, the file opened), measure (every layer's spectrum
/// and fit, no output), emit.
pub fn run(args: Args) -> Result<()> {
    let plan = plan(&args)?;
    let rows = layer_rows(&plan.file, &plan.layers, args.alpha_max)?;
    emit(&args, &plan.notes, &rows)
}

/// The tables, the plot, `--json` and the summary.
fn emit(args: &Args, notes: &[String], rows: &[LayerRow]) -> Result<()> {
    let report = report();
    let mut prov = Provenance::new("weight-spectra", &tool_name("weight-spectra"));
    prov.command = std::env::args().collect();
    prov.extra
        .insert("input".into(), args.input.display().to_string().into());
    prov.extra
        .insert("min_evals".into(), (args.min_evals as u64).into());
    prov.extra.insert(
        "alpha_max".into(),
        if args.alpha_max.is_finite() {
            args.alpha_max.into()
        } else {
            "inf".into()
        },
    );
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.output {
        outputs.table(out, &report.table(rows)?, &prov)?;
    }
    if let Some(out) = &args.spectrum_output {
        let mut p = prov.clone();
        p.kind = "weight-spectra-eigenvalues".into();
        outputs.table(out, &spectrum_table(rows)?, &p)?;
    }
    if let Some(p) = &args.plot {
        let row = match &args.plot_layer {
            Some(name) => rows.iter().find(|r| &r.layer == name),
            None => rows.iter().max_by_key(|r| {
                (
                    r.shape.iter().product::<usize>(),
                    std::cmp::Reverse(r.layer.clone()),
                )
            }),
        }
        .expect("layers is not empty");
        outputs.drawn(p, |tmp| plot(tmp, row))?;
    }
    if args.json.enabled {
        outputs.json(&serde_json::json!({ "layers": report.json(rows) }))?;
    }
    outputs.commit()?;
    for n in notes {
        errln!("note: {n}");
    }
    for r in rows {
        if let Err(e) = &r.fit {
            errln!("note: {}: no power-law fit: {e}", r.layer);
        }
    }
    let fitted: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.fit.as_ref().ok().map(|f| f.alpha))
        .collect();
    errln!(
        "{}: {} layers; mean alpha {} over {} fits",
        args.input.display(),
        rows.len(),
        num(fitted.iter().sum::<f64>() / fitted.len() as f64),
        fitted.len()
    );
    gradscope_tool::console::err(&report.summary(rows));
    Ok(())
}

/// Two panels: the ESD as a density over logarithmic bins with the fitted density
/// `(n_tail/n) (alpha - 1)/xmin (x/xmin)^-alpha`, and the empirical `P(X >= x)` with the
/// fitted `(n_tail/n) (x/xmin)^(1 - alpha)`.
fn plot(path: &Path, r: &LayerRow) -> Result<()> {
    let mut desc = r.spectrum.significant();
    if desc.len() < 2 {
        bail!(
            "--plot: layer {} has fewer than two positive eigenvalues",
            r.layer
        );
    }
    desc.sort_unstable_by(|a, b| b.total_cmp(a));
    let n = desc.len() as f64;
    let (lo, hi) = (desc[desc.len() - 1], desc[0]);
    let bins = 40usize.min(desc.len());
    let edge = |k: usize| lo * (hi / lo).powf(k as f64 / bins as f64);
    let mut counts = vec![0usize; bins];
    for &v in &desc {
        let k = (((v / lo).ln() / (hi / lo).ln()) * bins as f64).floor() as usize;
        counts[k.min(bins - 1)] += 1;
    }
    let density: Vec<(f64, f64)> = (0..bins)
        .filter(|&k| counts[k] > 0)
        .map(|k| {
            let (a, b) = (edge(k), edge(k + 1));
            ((a * b).sqrt(), counts[k] as f64 / (n * (b - a)))
        })
        .collect();
    let ccdf: Vec<(f64, f64)> = desc
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, (i + 1) as f64 / n))
        .collect();
    let mut density_series = vec![Series::new("ESD (log bins)", density, 0)];
    let mut ccdf_series = vec![Series::new("P(X >= x)", ccdf, 0).without_markers()];
    let title = match &r.fit {
        Ok(f) => {
            let frac = f.n_tail as f64 / n;
            let grid: Vec<f64> = (0..=100)
                .map(|j| f.xmin * (hi / f.xmin).powf(j as f64 / 100.0))
                .collect();
            let label = format!("power law, alpha {:.3}, xmin {}", f.alpha, num(f.xmin));
            density_series.push(
                Series::new(
                    &label,
                    grid.iter()
                        .map(|&x| {
                            (
                                x,
                                frac * (f.alpha - 1.0) / f.xmin * (x / f.xmin).powf(-f.alpha),
                            )
                        })
                        .collect(),
                    1,
                )
                .dashed()
                .without_markers(),
            );
            ccdf_series.push(
                Series::new(
                    &label,
                    grid.iter()
                        .map(|&x| (x, frac * (x / f.xmin).powf(1.0 - f.alpha)))
                        .collect(),
                    1,
                )
                .dashed()
                .without_markers(),
            );
            format!(
                "{} {}: alpha {:.3}, d_ks {:.4}, n_tail {}",
                r.layer,
                r.shape_text(),
                f.alpha,
                f.ks_distance,
                f.n_tail
            )
        }
        Err(_) => format!("{} {}: no power-law fit", r.layer, r.shape_text()),
    };
    let panels = [
        Panel {
            title: title.clone(),
            x_label: "eigenvalue of W^T W / N".into(),
            y_label: "density".into(),
            log_x: true,
            log_y: true,
            series: density_series,
            hlines: Vec::new(),
        },
        Panel {
            title,
            x_label: "eigenvalue of W^T W / N".into(),
            y_label: "P(X >= x)".into(),
            log_x: true,
            log_y: true,
            series: ccdf_series,
            hlines: Vec::new(),
        },
    ];
    draw_png(path, 1120, 460, &panels)
}
