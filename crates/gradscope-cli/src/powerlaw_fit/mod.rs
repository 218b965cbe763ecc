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
//!
//! The module's parts: [`plan`] (every check of the arguments, before any work),
//! [`data_sets`] (what is fitted) from [`column`] (`--column`), [`spectra`]
//! (`--spectrum` from a gradient matrix, and `--gram-out`) or [`gram_merge`] (`--gram`),
//! [`fits`] (the fits, the bootstrap and the comparisons), [`views`] (`--views`),
//! [`report`] (the fits, the comparisons, the eigenvalues and the view rates, each
//! described once) and [`figure`] (`--plot`).

pub mod column;
pub mod data_sets;
pub mod figure;
pub mod fits;
pub mod gram_merge;
pub mod plan;
pub mod report;
pub mod spectra;
pub mod views;

use anyhow::{anyhow, bail, Result};
use clap::{Parser, ValueEnum};
use gradscope_io::Provenance;
use gradscope_stats::powerlaw::{ScanOptions, XminRule};
use gradscope_stats::spectrum::Spectrum;
use gradscope_tool::args::{png_path, table_path, Json, Threads};
use gradscope_tool::{usage_error, OutputSet};
use plan::{FitPlan, Plan};
use std::path::PathBuf;

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
#[command(name = "powerlaw-fit", version, long_about = None, allow_negative_numbers = true)]
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
    /// package's default range, 3; must exceed 1); raise it (e.g. `inf`) for steeper
    /// tails. When no candidate is valid, xmin minimises the KS distance over all of them
    /// and a note on stderr says so. Only with a scan (not with fixed:X or top-k:K)
    /// [default: 3].
    #[arg(long = "alpha-max", value_name = "ALPHA_MAX")]
    pub alpha_max_arg: Option<f64>,

    /// Discrete data (positive integers): exact MLE through the Hurwitz zeta function.
    #[arg(long)]
    pub discrete: bool,

    /// Semi-parametric bootstrap goodness-of-fit p-value with N synthetic data sets
    /// (Clauset et al. sec. 4.1; 2500 give p to +-0.01). Column p_gof. 0: off; at most
    /// 1,000,000.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = gradscope_tool::args::count(0..=1_000_000))]
    pub bootstrap: usize,

    /// Likelihood-ratio tests against the lognormal, exponential, truncated power law and
    /// stretched exponential (a second table; with --discrete, their discrete versions
    /// on the integers >= xmin, as the powerlaw package's discrete fits).
    #[arg(long)]
    pub compare: bool,

    /// Where the --compare table goes (default: the --output path with `-compare` added
    /// to its stem; without --output, the summary only).
    #[arg(long, value_name = "FILE", value_parser = table_path, requires = "compare")]
    pub compare_output: Option<PathBuf>,

    /// Significance level of ks_crit_exact (dimensionless).
    #[arg(long, default_value_t = 0.05)]
    pub significance: f64,

    /// Draw each fit (at most 6 panels) on log-log axes with the fitted line (PNG).
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// What --plot draws: `rank` (value against rank, the study's Figure 1) or `ccdf`.
    #[arg(long, value_enum, default_value = "rank", requires = "plot")]
    pub plot_kind: PlotKind,

    /// With --spectrum: write the eigenvalues (step, scope, matrix, rank, eigenvalue).
    #[arg(long, value_name = "FILE", value_parser = table_path)]
    pub spectrum_output: Option<PathBuf>,

    /// With --spectrum: memory for gradients held at once, in MiB. Matrices larger than
    /// this are re-read from the file once per block of coordinates (the Gram route
    /// then holds n x n f64 plus one n x b f64 block). Fractions are allowed
    /// [default: 1024].
    #[arg(long = "block-mb", value_name = "MIB")]
    pub block_mb_arg: Option<f64>,

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
    #[arg(long, value_name = "FILE", value_parser = gradscope_tool::args::parquet_path)]
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

/// `--alpha-max`'s default: the powerlaw package's range of valid exponents.
const ALPHA_MAX: f64 = 3.0;

/// `--block-mb`'s default, in MiB.
const BLOCK_MB: f64 = 1024.0;

impl Args {
    /// `--alpha-max`, or the powerlaw package's 3.
    pub fn alpha_max(&self) -> f64 {
        self.alpha_max_arg.unwrap_or(ALPHA_MAX)
    }

    /// `--block-mb`, or 1 GiB.
    pub fn block_mb(&self) -> f64 {
        self.block_mb_arg.unwrap_or(BLOCK_MB)
    }
}

/// Parses `scan`, `fixed:X`, `top-k:K`.
pub fn parse_xmin(s: &str, alpha_max: f64) -> Result<XminRule> {
    if alpha_max.is_nan() || alpha_max <= 1.0 {
        bail!("--alpha-max {alpha_max}: must exceed 1 (a power law's alpha does)");
    }
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

/// Runs the tool: plan (every check, before any work), measure (the input read and
/// fitted; writes nothing), emit (the tables, the figure, the summary, `--json`).
pub fn run(args: Args) -> Result<()> {
    match plan::plan(&args).map_err(usage_error)? {
        Plan::Views { top_k } => {
            let measured = views::measure(&args, top_k)?;
            views::emit(&args, &measured)
        }
        Plan::Fits(plan) => match data_sets::read(&args, &plan)? {
            data_sets::Source::GramPart(file) => {
                let mut outputs = OutputSet::new();
                outputs.staged(file);
                outputs.commit()
            }
            data_sets::Source::Sets {
                sets,
                spectra,
                prov,
            } => {
                let fitted = fits::fit_all(&args, &plan, sets)?;
                emit(&args, &plan, *prov, &spectra, &fitted)
            }
        },
    }
}

/// The fits table, the comparison table, the eigenvalues, the figure, the summary on
/// stderr and `--json` (`{"fits": [...], "compare": [...]}`).
fn emit(
    args: &Args,
    plan: &FitPlan,
    mut prov: Provenance,
    spectra: &[(String, Spectrum)],
    fitted: &fits::Fits,
) -> Result<()> {
    let rows = &fitted.rows;
    let comparisons = report::compare_rows(rows, &fitted.comparisons);
    let fits_report = report::fits_report(args.bootstrap > 0);
    let compare_report = report::compare_report();
    prov.extra.insert("seed".into(), args.seed.into());
    prov.extra
        .insert("bootstrap".into(), (args.bootstrap as u64).into());
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.output {
        outputs.table(out, &fits_report.table(rows)?, &prov)?;
    }
    if let Some(out) = &plan.compare_out {
        let mut p = prov.clone();
        p.kind = "powerlaw-fit-compare".into();
        outputs.table(out, &compare_report.table(&comparisons)?, &p)?;
    }
    if let Some(out) = &args.spectrum_output {
        let mut p = prov.clone();
        p.kind = "powerlaw-fit-spectrum".into();
        let step = prov.extra.get("step").and_then(|v| v.as_u64()).unwrap_or(0);
        let eigenvalues = report::spectrum_rows(step, spectra);
        outputs.table(out, &report::spectrum_report().table(&eigenvalues)?, &p)?;
    }
    if let Some(out) = &args.plot {
        outputs.drawn(out, |tmp| figure::plot(tmp, rows, args.plot_kind))?;
    }
    report::print_summary(&fits_report, rows, &compare_report, &comparisons);
    if args.json.enabled {
        outputs.json(&serde_json::json!({
            "fits": fits_report.json(rows),
            "compare": compare_report.json(&comparisons),
        }))?;
    }
    outputs.commit()
}
