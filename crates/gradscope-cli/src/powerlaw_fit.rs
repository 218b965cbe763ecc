//! `powerlaw-fit`: does a set of values, or a gradient spectrum, follow a power law?
//!
//! Fits `p(x) ~ x^-alpha` above `xmin` (Clauset, Shalizi and Newman 2009; the `powerlaw`
//! package 2.0.0's conventions, see `gradscope_stats::powerlaw`) to either
//! - a numeric column of a Parquet or CSV file (`--column`), or
//! - the covariance or second-moment eigenvalues (and with `--eigengaps` their gaps) of a
//!   gradient matrix, for all parameters and with `--per-tensor` for each tensor (the
//!   structure study, Xie et al., appendix B.1 and Tables 1, 4, 5; see
//!   `gradscope_stats::spectrum`).
//!
//! One row per fit: `scope, series, n, dropped, xmin, alpha, sigma, n_tail, ks_d, ks_crit,
//! ks_crit_exact, power_law, s_hat, log_likelihood, xmin_rule` (+ `p_gof` with
//! `--bootstrap`). `ks_crit` is the study's `d_c = 1.36/sqrt(n_tail)` and `power_law`
//! its verdict `ks_d < ks_crit`; `ks_crit_exact` is the exact 5% point of the KS
//! distribution for `n_tail` points. With `--compare`, the likelihood-ratio tests go to
//! a second table, one row per (fit, alternative): `scope, series, alt, R, R_norm, p,
//! n_tail`, written to `--compare-output`, or, by default, next to `--output` with
//! `-compare` added to its stem (`fits.parquet` -> `fits-compare.parquet`).
//!
//! Every output is computed before anything is written, so a failed fit leaves no file.

use crate::gram_parts;
use crate::read_column::read_column;
use crate::spectra_from_file::GradMatrix;
use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::{Parser, ValueEnum};
use gradscope_io::{Provenance, TableFormat};
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_stats::powerlaw::{
    eigengaps, fit, goodness_of_fit, likelihood_ratio_test, Alternative, BootstrapOptions,
    FitOptions, LikelihoodRatio, PowerLawFit, ScanOptions, Support, XminRule,
};
use gradscope_stats::spectrum::views::coordinate_means;
use gradscope_stats::spectrum::{
    dimension_wise, iteration_wise, view_fits, MatrixKind, Spectrum, ViewFits,
};
use gradscope_tool::args::{inputs_name, one_stdout, png_path, table_path, Json, Threads};
use gradscope_tool::coord_split::CoordSplit;
use gradscope_tool::text_table::{json_num, num, print_table};
use gradscope_tool::{errln, tool_name, OutputSet};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The study's top-k default (appendix B.1: "the top K = 1000 data points").
pub const STUDY_TOP_K: usize = 1000;

/// Which matrix's spectrum to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpectrumArg {
    /// Centred: `1/(n-1) sum (g - g_bar)(g - g_bar)^T`.
    Covariance,
    /// Uncentred: `1/n sum g g^T`.
    SecondMoment,
}

/// The structure study's element views of a gradient matrix (its Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    /// Each gradient's d elements (one set per gradient).
    Dimension,
    /// Each coordinate's n values over the gradients (one set per coordinate).
    Iteration,
}

/// What `--plot` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlotKind {
    /// Value against rank (largest = rank 1), as the study's Figure 1.
    Rank,
    /// Empirical `P(X >= x)` against `x`.
    Ccdf,
}

/// Power-law fits (MLE, KS, bootstrap, likelihood ratios) of a column or a gradient spectrum.
#[derive(Debug, Parser)]
#[command(name = "powerlaw-fit", version, about, long_about = None)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["column", "spectrum", "views"])))]
pub struct Args {
    /// Input: with --column a Parquet or CSV table (`-`: CSV on stdin); with --spectrum a
    /// gradient matrix (Parquet, or an Arrow IPC stream on `-`), or its parts (a
    /// directory, a quoted glob, several files).
    #[arg(short, long, num_args = 1.., default_value = "-")]
    pub input: Vec<PathBuf>,

    /// Fit rows: .parquet, .csv or .json by extension, `-` for CSV on stdout. Without it
    /// only the summary on stderr (and --json on stdout) is written.
    #[arg(short, long, value_parser = table_path)]
    pub output: Option<PathBuf>,

    /// Fit this numeric column of the input table (values must be > 0; missing values
    /// are skipped).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Fit the eigenvalues of this matrix of the gradients (at one step). Eigenvalues at
    /// or below lambda_max * max(n, d) * 2.2e-16 are numerically zero and left out
    /// (column `dropped`).
    #[arg(long, value_enum)]
    pub spectrum: Option<SpectrumArg>,

    /// Instead of a spectrum, the structure study's element views of the gradient matrix
    /// (its Table 2): top-k power-law tests (k = --top-k, default 1000; d_c = 1.36/sqrt(k))
    /// of every gradient's elements (`dimension`) and of every coordinate's values over
    /// the n gradients (`iteration`), as magnitudes of the noise |g - g_bar| (--views-raw:
    /// |g|). One row per view: sets tested and skipped (fewer than k positive values, e.g.
    /// dead units), accepted, power_law_rate, mean_ks_d, mean_alpha, mean_s_hat.
    /// Comma-separated; holds the n x d matrix of one step in memory.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub views: Vec<ViewArg>,

    /// With --views: test the raw magnitudes |g| instead of |g - g_bar|.
    #[arg(long)]
    pub views_raw: bool,

    /// With --spectrum: also one fit per tensor of the layout.
    #[arg(long)]
    pub per_tensor: bool,

    /// With --spectrum: also fit the eigengaps lambda_r - lambda_(r+1) (the study's
    /// Table 1); zero gaps are left out.
    #[arg(long)]
    pub eigengaps: bool,

    /// With --spectrum: the parameter point to use when the file holds several.
    #[arg(long)]
    pub step: Option<u64>,

    /// Fit the K largest values: the same as --xmin top-k:K.
    #[arg(long, value_name = "K", conflicts_with = "xmin")]
    pub top_k: Option<usize>,

    /// How xmin is chosen: `scan` (minimise the KS distance over the data values, as
    /// Clauset et al. and the powerlaw package), `fixed:X` (data units), or `top-k:K`
    /// (the K largest values, the structure study's rule). Default: scan for --column,
    /// top-k:1000 for --spectrum (fewer if fewer eigenvalues are positive).
    #[arg(long, value_name = "RULE")]
    pub xmin: Option<String>,

    /// In a scan, candidates whose alpha is not below this are invalid (the powerlaw
    /// package's default range, 3); raise it (e.g. `inf`) for steeper tails.
    #[arg(long, default_value_t = 3.0)]
    pub alpha_max: f64,

    /// Discrete data (positive integers): exact MLE through the Hurwitz zeta function.
    #[arg(long)]
    pub discrete: bool,

    /// Semi-parametric bootstrap goodness-of-fit p-value with N synthetic data sets
    /// (Clauset et al. sec. 4.1; 2500 give p to +-0.01). Column p_gof. 0: off.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub bootstrap: usize,

    /// Likelihood-ratio tests against the lognormal, exponential, truncated power law and
    /// stretched exponential (a second table; with --discrete, their discrete versions
    /// on the integers >= xmin, as the powerlaw package's discrete fits).
    #[arg(long)]
    pub compare: bool,

    /// Where the --compare table goes (default: the --output path with `-compare` added
    /// to its stem; without --output, the summary only).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub compare_output: Option<PathBuf>,

    /// Significance level of ks_crit_exact (dimensionless).
    #[arg(long, default_value_t = 0.05)]
    pub significance: f64,

    /// Draw each fit (at most 6 panels) on log-log axes with the fitted line (PNG).
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// What --plot draws: `rank` (value against rank, the study's Figure 1) or `ccdf`.
    #[arg(long, value_enum, default_value = "rank")]
    pub plot_kind: PlotKind,

    /// With --spectrum: write the eigenvalues (step, scope, matrix, rank, eigenvalue).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub spectrum_output: Option<PathBuf>,

    /// With --spectrum: memory for gradients held at once, in MiB. Matrices larger than
    /// this are re-read from the file once per block of coordinates (the Gram route
    /// then holds n x n f64 plus one n x b f64 block).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub block_mb: usize,

    /// With --spectrum and --gram-out: only the coordinates START..END of the flattened
    /// gradient (0-based, END excluded).
    #[arg(long, value_name = "START:END")]
    pub coords: Option<String>,

    /// With --spectrum and --gram-out: only shard I of N of the coordinates (the I-th of N
    /// contiguous blocks).
    #[arg(long, value_name = "I/N", conflicts_with = "coords")]
    pub shard: Option<String>,

    /// With --spectrum: write the partial Gram matrix of the coordinates of --coords or
    /// --shard to this .parquet file instead of fitting (one part of a run split by
    /// coordinate; --gram sums the parts).
    #[arg(long, value_name = "FILE")]
    pub gram_out: Option<PathBuf>,

    /// With --spectrum: sum these partial Gram matrices (written by --gram-out over
    /// blocks that cover every coordinate once, in any order) and fit the spectrum as
    /// one run over the whole matrix would.
    #[arg(long, value_name = "GRAM", num_args = 1.., conflicts_with_all = ["input", "per_tensor", "step", "coords", "shard", "gram_out"])]
    pub gram: Vec<PathBuf>,

    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub threads: Threads,

    #[command(flatten)]
    pub json: Json,
}

/// One fitted data set.
#[derive(Debug, Clone)]
pub struct FitRow {
    /// `all`, a tensor name, or the column name.
    pub scope: String,
    /// `values` (a column), `eigenvalues` or `eigengaps`.
    pub series: String,
    /// Values fitted (positive).
    pub n: usize,
    /// Values left out before fitting (numerically zero eigenvalues, zero gaps).
    pub dropped: usize,
    pub fit: PowerLawFit,
    pub ks_crit: f64,
    pub ks_crit_exact: f64,
    pub p_gof: Option<f64>,
    pub data: Vec<f64>,
}

/// Parses `scan`, `fixed:X`, `top-k:K`.
pub fn parse_xmin(s: &str, alpha_max: f64) -> Result<XminRule> {
    let scan = XminRule::Scan(ScanOptions {
        alpha_max,
        sigma_threshold: None,
    });
    if s == "scan" {
        return Ok(scan);
    }
    if let Some(x) = s.strip_prefix("fixed:") {
        let v: f64 = x
            .parse()
            .map_err(|_| anyhow!("--xmin {s}: '{x}' is not a number"))?;
        if !(v.is_finite() && v > 0.0) {
            bail!("--xmin {s}: xmin must be finite and positive");
        }
        return Ok(XminRule::Fixed(v));
    }
    if let Some(k) = s.strip_prefix("top-k:") {
        let k: usize = k
            .parse()
            .map_err(|_| anyhow!("--xmin {s}: '{k}' is not a count"))?;
        if k < 2 {
            bail!("--xmin {s}: top-k needs k >= 2");
        }
        return Ok(XminRule::TopK(k));
    }
    bail!("--xmin {s}: expected scan, fixed:X or top-k:K")
}

fn rule_name(r: &XminRule) -> String {
    match r {
        XminRule::Scan(_) => "scan".into(),
        XminRule::Fixed(x) => format!("fixed:{x}"),
        XminRule::TopK(k) => format!("top-k:{k}"),
    }
}

fn alt_name(a: Alternative) -> &'static str {
    match a {
        Alternative::Lognormal => "lognormal",
        Alternative::Exponential => "exponential",
        Alternative::TruncatedPowerLaw => "truncated_power_law",
        Alternative::StretchedExponential => "stretched_exponential",
    }
}

/// `dir/stem-compare.ext` for `dir/stem.ext`.
fn derived_compare_path(out: &Path) -> Option<PathBuf> {
    if gradscope_io::is_stdio(out) {
        return None;
    }
    let stem = out.file_stem()?.to_string_lossy().to_string();
    let name = match out.extension() {
        Some(e) => format!("{stem}-compare.{}", e.to_string_lossy()),
        None => format!("{stem}-compare"),
    };
    Some(out.with_file_name(name))
}

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    // Usage checks and output formats first, before any work.
    if args.column.is_some()
        && (args.per_tensor
            || args.eigengaps
            || args.step.is_some()
            || args.spectrum_output.is_some())
    {
        bail!(
            "--per-tensor, --eigengaps, --step and --spectrum-output need --spectrum, not --column"
        );
    }
    if args.discrete && args.spectrum.is_some() {
        bail!("--discrete does not apply to eigenvalues, which are real numbers");
    }
    if !(args.significance > 0.0 && args.significance < 1.0) {
        bail!("--significance {} must lie in (0, 1)", args.significance);
    }
    if args.block_mb == 0 {
        bail!("--block-mb must be at least 1");
    }
    let split = match (&args.coords, &args.shard) {
        (Some(c), _) => Some(CoordSplit::parse_range("--coords", c)?),
        (None, Some(sh)) => Some(CoordSplit::parse_shard(sh)?),
        (None, None) => None,
    };
    let parts_flag = split
        .map(|sp| sp.describe())
        .or_else(|| args.gram_out.as_ref().map(|_| "--gram-out".to_string()))
        .or_else(|| (!args.gram.is_empty()).then(|| "--gram".to_string()));
    if let Some(flag) = &parts_flag {
        if args.spectrum.is_none() {
            bail!("{flag}: Gram parts are for --spectrum");
        }
    }
    if let Some(sp) = split {
        if args.gram_out.is_none() {
            bail!(
                "{}: a block of coordinates gives a partial Gram matrix, not a spectrum: write it with --gram-out and fit the parts with --gram",
                sp.describe()
            );
        }
    }
    if args.gram_out.is_some() {
        if args.per_tensor {
            bail!("--gram-out: a partial Gram matrix is of the whole gradient; --per-tensor does not apply");
        }
        if args.output.is_some()
            || args.spectrum_output.is_some()
            || args.plot.is_some()
            || args.json.enabled
            || args.compare
        {
            bail!("--gram-out writes a partial Gram matrix and fits nothing: fit the summed parts with --gram");
        }
    }
    let compare_out = if args.compare {
        args.compare_output
            .clone()
            .or_else(|| args.output.as_deref().and_then(derived_compare_path))
    } else {
        None
    };
    if let Some(out) = &compare_out {
        TableFormat::from_path(out)?;
    }
    one_stdout(
        args.json.enabled,
        [
            args.output.as_deref(),
            compare_out.as_deref(),
            args.spectrum_output.as_deref(),
        ],
    )?;
    args.threads.init();
    if !args.views.is_empty() {
        return run_views(&args);
    }
    let explicit_rule = match (&args.xmin, args.top_k) {
        (Some(s), _) => Some(parse_xmin(s, args.alpha_max)?),
        (None, Some(k)) => Some(parse_xmin(&format!("top-k:{k}"), args.alpha_max)?),
        (None, None) => None,
    };
    let support = if args.discrete {
        Support::Discrete(Default::default())
    } else {
        Support::Continuous
    };

    // The data sets to fit: (scope, series, values, dropped).
    let mut sets: Vec<(String, String, Vec<f64>, usize)> = Vec::new();
    let mut spectra: Vec<(String, Spectrum)> = Vec::new();
    let mut prov = Provenance::new("powerlaw-fit", &tool_name("powerlaw-fit"));
    prov.command = std::env::args().collect();
    if let Some(name) = &args.column {
        let [input] = args.input.as_slice() else {
            bail!(
                "--input: --column reads one table, not {} inputs",
                args.input.len()
            );
        };
        let col = read_column(input, name)?;
        if col.missing > 0 {
            errln!(
                "note: {} missing value(s) of column '{name}' skipped",
                col.missing
            );
        }
        sets.push((name.clone(), "values".into(), col.values, 0));
    } else if let Some(which) = args.spectrum {
        let kind = match which {
            SpectrumArg::Covariance => MatrixKind::Covariance,
            SpectrumArg::SecondMoment => MatrixKind::SecondMoment,
        };
        let block_bytes = args.block_mb << 20;
        let mut found: Vec<(String, Spectrum)> = Vec::new();
        if !args.gram.is_empty() {
            // The partial Gram matrices of a run split by coordinate, summed.
            let (acc, part, source) = gram_parts::merge(&args.gram)?;
            let first = args.gram[0].display();
            if part.kind != kind {
                bail!(
                    "{first}: a partial Gram of the {} matrix, not of --spectrum {}",
                    part.kind.name(),
                    kind.name()
                );
            }
            if part.dim <= part.samples.len() {
                bail!(
                    "{first}: {} coordinates for {} gradients: a single run takes the direct route (d <= n) there, which Gram parts cannot give",
                    part.dim,
                    part.samples.len()
                );
            }
            prov.source = Some(Box::new(source));
            prov.extra.insert("step".into(), part.step.into());
            prov.extra.insert("matrix".into(), kind.name().into());
            prov.extra
                .insert("samples".into(), (part.samples.len() as u64).into());
            let s = acc
                .finish()
                .with_context(|| format!("the {} spectrum of the Gram parts", kind.name()))?;
            found.push(("all".into(), s));
        } else {
            let m = GradMatrix::open(&args.input, args.step, block_bytes)?;
            if let Some(path) = &args.gram_out {
                let block = match split {
                    Some(sp) => sp.range(m.dim)?,
                    None => 0..m.dim,
                };
                let scope = crate::spectra_from_file::ScopeRange {
                    name: "all".into(),
                    start: block.start,
                    len: block.len(),
                };
                let acc = m.gram(&scope, kind, block_bytes)?;
                let part = gram_parts::GramPart {
                    kind,
                    step: m.step,
                    samples: m.samples.clone(),
                    dim: m.dim,
                    block,
                };
                let mut outputs = OutputSet::new();
                outputs.staged(gram_parts::write(path, &m.meta, &part, &acc)?);
                return outputs.commit();
            }
            prov.source = Some(Box::new(m.meta.clone()));
            prov.extra.insert("step".into(), m.step.into());
            prov.extra.insert("matrix".into(), kind.name().into());
            prov.extra.insert("samples".into(), (m.n as u64).into());
            if !m.in_memory() {
                errln!(
                    "note: {} x {} gradients exceed --block-mb {}; reading the file once per block of coordinates",
                    m.n, m.dim, args.block_mb
                );
            }
            for scope in m.scopes(args.per_tensor) {
                let s = m.spectrum(&scope, kind, block_bytes)?;
                found.push((scope.name, s));
            }
        }
        for (name, s) in found {
            let sig = s.significant();
            let dropped = s.eigenvalues.len() - sig.len();
            if args.eigengaps {
                let gaps = eigengaps(&sig).unwrap_or_default();
                let pos: Vec<f64> = gaps.iter().copied().filter(|&g| g > 0.0).collect();
                let gdrop = gaps.len() - pos.len();
                sets.push((name.clone(), "eigenvalues".into(), sig, dropped));
                sets.push((name.clone(), "eigengaps".into(), pos, gdrop));
            } else {
                sets.push((name.clone(), "eigenvalues".into(), sig, dropped));
            }
            spectra.push((name, s));
        }
    }

    let mut rows: Vec<FitRow> = Vec::new();
    for (scope, series, data, dropped) in sets {
        let what = || format!("{}: {scope} {series}", inputs_name(&args.input));
        let rule = match explicit_rule {
            Some(r) => r,
            None if args.spectrum.is_some() => {
                let k = STUDY_TOP_K.min(data.len());
                if k < STUDY_TOP_K {
                    errln!("note: {scope} {series}: {} positive values, fewer than the study's 1000; fitting the top {k}", data.len());
                }
                if k < 2 {
                    return Err(anyhow!("only {k} positive value(s); at least 2 are needed"))
                        .with_context(what);
                }
                XminRule::TopK(k)
            }
            None => parse_xmin("scan", args.alpha_max)?,
        };
        let options = FitOptions {
            support,
            xmin: rule,
        };
        let f = fit(&data, &options).with_context(what)?;
        let ks_crit = f.critical_value_study();
        let ks_crit_exact = f.critical_value_exact(args.significance);
        rows.push(FitRow {
            scope,
            series,
            n: data.len(),
            dropped,
            fit: f,
            ks_crit,
            ks_crit_exact,
            p_gof: None,
            data,
        });
    }
    if args.bootstrap > 0 {
        for r in &mut rows {
            let g = goodness_of_fit(
                &r.data,
                &r.fit,
                &BootstrapOptions {
                    replicates: args.bootstrap,
                    seed: args.seed,
                },
            )
            .with_context(|| format!("bootstrap of {} {}", r.scope, r.series))?;
            if g.failed > 0 {
                errln!(
                    "note: {} {}: {} of {} bootstrap fits failed and were left out of p_gof",
                    r.scope,
                    r.series,
                    g.failed,
                    args.bootstrap
                );
            }
            r.p_gof = Some(g.p_value);
        }
    }
    let mut comparisons: Vec<(usize, LikelihoodRatio)> = Vec::new();
    if args.compare {
        for (i, r) in rows.iter().enumerate() {
            for alt in Alternative::ALL {
                let lr = likelihood_ratio_test(&r.data, &r.fit, alt).with_context(|| {
                    format!("{} {} against the {}", r.scope, r.series, alt_name(alt))
                })?;
                comparisons.push((i, lr));
            }
        }
    }

    // Everything is computed; now write.
    prov.extra.insert("seed".into(), args.seed.into());
    prov.extra
        .insert("bootstrap".into(), (args.bootstrap as u64).into());
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.output {
        outputs.table(out, &fits_table(&rows, args.bootstrap > 0)?, &prov)?;
    }
    if let Some(out) = &compare_out {
        let mut p = prov.clone();
        p.kind = "powerlaw-fit-compare".into();
        outputs.table(out, &compare_table(&rows, &comparisons)?, &p)?;
    }
    if let Some(out) = &args.spectrum_output {
        let mut p = prov.clone();
        p.kind = "powerlaw-fit-spectrum".into();
        let step = prov.extra.get("step").and_then(|v| v.as_u64()).unwrap_or(0);
        outputs.table(out, &spectrum_table(step, &spectra)?, &p)?;
    }
    if let Some(out) = &args.plot {
        outputs.drawn(out, |tmp| plot(tmp, &rows, args.plot_kind))?;
    }
    print_summary(&rows, &comparisons);
    if args.json.enabled {
        outputs.json(&json(&rows, &comparisons))?;
    }
    outputs.commit()
}

/// `--views`: the power-law rates of the dimension-wise and iteration-wise element sets.
fn run_views(args: &Args) -> Result<()> {
    if args.per_tensor || args.eigengaps || args.spectrum_output.is_some() || args.xmin.is_some() {
        bail!("--views takes --top-k, --step and --views-raw; not --per-tensor, --eigengaps, --spectrum-output or --xmin");
    }
    if args.bootstrap > 0 || args.compare || args.plot.is_some() || args.discrete {
        bail!("--views reports rates over many fits; --bootstrap, --compare, --plot and --discrete do not apply");
    }
    let k = args.top_k.unwrap_or(STUDY_TOP_K);
    if k < 2 {
        bail!("--top-k {k}: at least 2");
    }
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
    let table = batch(vec![
        (
            "step",
            Arc::new(UInt64Array::from_iter_values(out.iter().map(|_| step))),
        ),
        (
            "batch_size",
            Arc::new(UInt64Array::from_iter_values(
                out.iter().map(|_| batch_size),
            )),
        ),
        (
            "view",
            Arc::new(StringArray::from_iter_values(out.iter().map(|o| name(o.0)))),
        ),
        (
            "samples",
            Arc::new(UInt64Array::from_iter_values(out.iter().map(|_| n as u64))),
        ),
        (
            "dim",
            Arc::new(UInt64Array::from_iter_values(out.iter().map(|_| d as u64))),
        ),
        (
            "top_k",
            Arc::new(UInt64Array::from_iter_values(out.iter().map(|_| k as u64))),
        ),
        (
            "sets_tested",
            Arc::new(UInt64Array::from_iter_values(
                out.iter().map(|o| o.1.tested as u64),
            )),
        ),
        (
            "sets_skipped",
            Arc::new(UInt64Array::from_iter_values(
                out.iter().map(|o| o.1.skipped as u64),
            )),
        ),
        (
            "accepted",
            Arc::new(UInt64Array::from_iter_values(
                out.iter().map(|o| o.1.accepted as u64),
            )),
        ),
        ("power_law_rate", col_f64(out.iter().map(|o| o.1.rate()))),
        ("mean_ks_d", col_f64(out.iter().map(|o| o.1.mean_ks))),
        ("ks_crit", col_f64(out.iter().map(|_| ks_crit))),
        ("mean_alpha", col_f64(out.iter().map(|o| o.1.mean_alpha))),
        (
            "mean_s_hat",
            col_f64(out.iter().map(|o| 1.0 / (o.1.mean_alpha - 1.0))),
        ),
    ])?;
    let mut outputs = OutputSet::new();
    if let Some(o) = &args.output {
        outputs.table(o, &table, &prov)?;
    }
    let body: Vec<Vec<String>> = out
        .iter()
        .map(|(v, f)| {
            vec![
                name(*v).to_string(),
                f.tested.to_string(),
                f.skipped.to_string(),
                f.accepted.to_string(),
                num(100.0 * f.rate()),
                num(f.mean_ks),
                num(ks_crit),
                num(f.mean_alpha),
            ]
        })
        .collect();
    errln!(
        "{n} gradients of {d} values (step {step}), top-{k} fits of {}",
        if args.views_raw { "|g|" } else { "|g - g_bar|" }
    );
    print_table(
        &[
            "view",
            "tested",
            "skipped",
            "accepted",
            "rate %",
            "mean d_ks",
            "d_c",
            "mean alpha",
        ],
        &body,
    );
    if args.json.enabled {
        let rows: Vec<serde_json::Value> = out
            .iter()
            .map(|(v, f)| {
                serde_json::json!({"view": name(*v), "sets_tested": f.tested, "sets_skipped": f.skipped,
                    "accepted": f.accepted, "power_law_rate": f.rate(), "mean_ks_d": f.mean_ks,
                    "ks_crit": ks_crit, "mean_alpha": f.mean_alpha})
            })
            .collect();
        outputs.json(&serde_json::Value::Array(rows))?;
    }
    outputs.commit()
}

fn col_f64(v: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(
        v.into_iter()
            .map(|x| (!x.is_nan()).then_some(x))
            .collect::<Float64Array>(),
    )
}

fn batch(fields: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let schema: Vec<Field> = fields
        .iter()
        .map(|(n, a)| {
            let nullable = a.data_type() == &DataType::Float64;
            Field::new(*n, a.data_type().clone(), nullable)
        })
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(schema)),
        fields.into_iter().map(|(_, a)| a).collect(),
    )?)
}

fn fits_table(rows: &[FitRow], with_p: bool) -> Result<RecordBatch> {
    let f = |g: fn(&FitRow) -> f64| col_f64(rows.iter().map(g));
    let u = |g: fn(&FitRow) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(g)))
    };
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            "scope",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.scope.as_str()),
            )),
        ),
        (
            "series",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.series.as_str()),
            )),
        ),
        ("n", u(|r| r.n as u64)),
        ("dropped", u(|r| r.dropped as u64)),
        ("xmin", f(|r| r.fit.xmin)),
        ("alpha", f(|r| r.fit.alpha)),
        ("sigma", f(|r| r.fit.sigma())),
        ("n_tail", u(|r| r.fit.n_tail as u64)),
        ("ks_d", f(|r| r.fit.ks_distance)),
        ("ks_crit", f(|r| r.ks_crit)),
        ("ks_crit_exact", f(|r| r.ks_crit_exact)),
        (
            "power_law",
            Arc::new(BooleanArray::from(
                rows.iter()
                    .map(|r| r.fit.ks_distance < r.ks_crit)
                    .collect::<Vec<_>>(),
            )),
        ),
        ("s_hat", f(|r| r.fit.rank_exponent())),
        ("log_likelihood", f(|r| r.fit.log_likelihood)),
        (
            "xmin_rule",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| rule_name(&r.fit.options.xmin)),
            )),
        ),
    ];
    if with_p {
        cols.push(("p_gof", f(|r| r.p_gof.unwrap_or(f64::NAN))));
    }
    batch(cols)
}

fn compare_table(rows: &[FitRow], c: &[(usize, LikelihoodRatio)]) -> Result<RecordBatch> {
    let s = |g: &dyn Fn(&(usize, LikelihoodRatio)) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(c.iter().map(g)))
    };
    batch(vec![
        ("scope", s(&|(i, _)| rows[*i].scope.clone())),
        ("series", s(&|(i, _)| rows[*i].series.clone())),
        ("alt", s(&|(_, l)| alt_name(l.alternative).to_string())),
        ("R", col_f64(c.iter().map(|(_, l)| l.r))),
        ("R_norm", col_f64(c.iter().map(|(_, l)| l.normalized_r))),
        ("p", col_f64(c.iter().map(|(_, l)| l.p_value))),
        (
            "n_tail",
            Arc::new(UInt64Array::from_iter_values(
                c.iter().map(|(_, l)| l.n as u64),
            )),
        ),
    ])
}

fn spectrum_table(step: u64, spectra: &[(String, Spectrum)]) -> Result<RecordBatch> {
    let flat: Vec<(&str, &Spectrum, usize, f64)> = spectra
        .iter()
        .flat_map(|(name, s)| {
            s.eigenvalues
                .iter()
                .enumerate()
                .map(move |(r, &v)| (name.as_str(), s, r + 1, v))
        })
        .collect();
    batch(vec![
        (
            "step",
            Arc::new(UInt64Array::from_iter_values(flat.iter().map(|_| step))),
        ),
        (
            "scope",
            Arc::new(StringArray::from_iter_values(flat.iter().map(|x| x.0))),
        ),
        (
            "matrix",
            Arc::new(StringArray::from_iter_values(
                flat.iter().map(|x| x.1.kind.name()),
            )),
        ),
        (
            "route",
            Arc::new(StringArray::from_iter_values(
                flat.iter().map(|x| x.1.route.name()),
            )),
        ),
        (
            "rank",
            Arc::new(UInt64Array::from_iter_values(
                flat.iter().map(|x| x.2 as u64),
            )),
        ),
        ("eigenvalue", col_f64(flat.iter().map(|x| x.3))),
    ])
}

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

fn plot(path: &Path, rows: &[FitRow], kind: PlotKind) -> Result<()> {
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

fn print_summary(rows: &[FitRow], comparisons: &[(usize, LikelihoodRatio)]) {
    let header = [
        "scope",
        "series",
        "n",
        "xmin",
        "alpha",
        "sigma",
        "n_tail",
        "ks_d",
        "ks_crit",
        "power law",
        "p_gof",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.scope.clone(),
                r.series.clone(),
                r.n.to_string(),
                num(r.fit.xmin),
                num(r.fit.alpha),
                num(r.fit.sigma()),
                r.fit.n_tail.to_string(),
                num(r.fit.ks_distance),
                num(r.ks_crit),
                if r.fit.ks_distance < r.ks_crit {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                r.p_gof.map(num).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_table(&header, &body);
    if !comparisons.is_empty() {
        let body: Vec<Vec<String>> = comparisons
            .iter()
            .map(|(i, l)| {
                vec![
                    rows[*i].scope.clone(),
                    rows[*i].series.clone(),
                    alt_name(l.alternative).into(),
                    num(l.r),
                    num(l.normalized_r),
                    num(l.p_value),
                ]
            })
            .collect();
        errln!();
        print_table(&["scope", "series", "alt", "R", "R_norm", "p"], &body);
    }
}

fn json(rows: &[FitRow], comparisons: &[(usize, LikelihoodRatio)]) -> serde_json::Value {
    let f = json_num;
    let fits: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut o = serde_json::json!({
                "scope": r.scope, "series": r.series, "n": r.n, "dropped": r.dropped,
                "xmin": f(r.fit.xmin), "alpha": f(r.fit.alpha), "sigma": f(r.fit.sigma()),
                "n_tail": r.fit.n_tail, "ks_d": f(r.fit.ks_distance), "ks_crit": f(r.ks_crit),
                "ks_crit_exact": f(r.ks_crit_exact), "power_law": r.fit.ks_distance < r.ks_crit,
                "s_hat": f(r.fit.rank_exponent()), "log_likelihood": f(r.fit.log_likelihood),
                "xmin_rule": rule_name(&r.fit.options.xmin),
            });
            if let Some(p) = r.p_gof {
                o["p_gof"] = f(p);
            }
            o
        })
        .collect();
    let cmp: Vec<serde_json::Value> = comparisons
        .iter()
        .map(|(i, l)| {
            serde_json::json!({
                "scope": rows[*i].scope, "series": rows[*i].series, "alt": alt_name(l.alternative),
                "R": f(l.r), "R_norm": f(l.normalized_r), "p": f(l.p_value), "n_tail": l.n,
            })
        })
        .collect();
    serde_json::json!({ "fits": fits, "compare": cmp })
}
