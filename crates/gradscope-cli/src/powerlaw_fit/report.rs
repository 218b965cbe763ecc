//! The rows `powerlaw-fit` writes, each described once: the fits (`-o`, the first
//! summary table, `--json`'s `fits`), the likelihood-ratio comparisons (`--compare`:
//! the second table, the second summary table, `--json`'s `compare`), the eigenvalues
//! (`--spectrum-output`) and the view rates (`--views`).
//!
//! xmin, the eigenvalues and the data are in the data's units; alpha, sigma (its standard
//! error), the KS distances and s_hat = 1/(alpha - 1) are dimensionless; log-likelihoods
//! and R are in nats.

use gradscope_stats::powerlaw::{Alternative, LikelihoodRatio, PowerLawFit, XminRule};
use gradscope_stats::spectrum::{Spectrum, ViewFits};
use gradscope_tool::errln;
use gradscope_tool::report::{Column, Report};
use gradscope_tool::text_table::num;

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

impl FitRow {
    /// The study's verdict: `ks_d < ks_crit`.
    fn power_law(&self) -> bool {
        self.fit.ks_distance < self.ks_crit
    }
}

/// One likelihood-ratio test of a fit against an alternative.
#[derive(Debug, Clone, Copy)]
pub struct CompareRow<'a> {
    pub fit: &'a FitRow,
    pub lr: &'a LikelihoodRatio,
}

/// The comparisons with their fits: `(index of the fit, test)` pairs.
pub fn compare_rows<'a>(
    rows: &'a [FitRow],
    comparisons: &'a [(usize, LikelihoodRatio)],
) -> Vec<CompareRow<'a>> {
    comparisons
        .iter()
        .map(|(i, lr)| CompareRow { fit: &rows[*i], lr })
        .collect()
}

/// One eigenvalue of a fitted spectrum.
#[derive(Debug, Clone, Copy)]
pub struct SpectrumRow<'a> {
    pub step: u64,
    pub scope: &'a str,
    pub spectrum: &'a Spectrum,
    /// 1 for the largest.
    pub rank: u64,
    pub eigenvalue: f64,
}

/// Every eigenvalue of every spectrum, largest first within each.
pub fn spectrum_rows(step: u64, spectra: &[(String, Spectrum)]) -> Vec<SpectrumRow<'_>> {
    spectra
        .iter()
        .flat_map(|(name, s)| {
            s.eigenvalues
                .iter()
                .enumerate()
                .map(move |(r, &v)| SpectrumRow {
                    step,
                    scope: name.as_str(),
                    spectrum: s,
                    rank: r as u64 + 1,
                    eigenvalue: v,
                })
        })
        .collect()
}

/// One element view's rate (`--views`).
#[derive(Debug, Clone)]
pub struct ViewRow {
    pub step: u64,
    pub batch_size: u64,
    /// `dimension` or `iteration`.
    pub view: &'static str,
    /// Gradients n.
    pub samples: u64,
    /// Coordinates d.
    pub dim: u64,
    /// k of the top-k fits.
    pub top_k: u64,
    pub fits: ViewFits,
    /// The study's d_c = 1.36/sqrt(k).
    pub ks_crit: f64,
}

/// The name of an xmin rule as `--xmin` takes it.
pub fn rule_name(r: &XminRule) -> String {
    match r {
        XminRule::Scan(_) => "scan".into(),
        XminRule::Fixed(x) => format!("fixed:{x}"),
        XminRule::TopK(k) => format!("top-k:{k}"),
    }
}

/// The name of an alternative distribution in the tables.
pub fn alt_name(a: Alternative) -> &'static str {
    match a {
        Alternative::Lognormal => "lognormal",
        Alternative::Exponential => "exponential",
        Alternative::TruncatedPowerLaw => "truncated_power_law",
        Alternative::StretchedExponential => "stretched_exponential",
    }
}

/// The fits, described once. `p_gof` (with `--bootstrap`) is a table and JSON column;
/// without it the summary still shows the column, as `-`.
pub fn fits_report(with_p: bool) -> Report<FitRow> {
    let p_text = |r: &FitRow| r.p_gof.map(num).unwrap_or_else(|| "-".into());
    let p_gof = if with_p {
        Column::f64("p_gof", |r: &FitRow| r.p_gof.unwrap_or(f64::NAN))
            .summary_with("p_gof", p_text)
            .json()
    } else {
        Column::summary_only("p_gof", p_text)
    };
    Report::new(vec![
        Column::str("scope", |r: &FitRow| r.scope.as_str())
            .summary("scope")
            .json(),
        Column::str("series", |r: &FitRow| r.series.as_str())
            .summary("series")
            .json(),
        Column::u64("n", |r: &FitRow| r.n as u64)
            .summary("n")
            .json(),
        Column::u64("dropped", |r: &FitRow| r.dropped as u64).json(),
        Column::f64("xmin", |r: &FitRow| r.fit.xmin)
            .unit("data units")
            .summary("xmin")
            .json(),
        Column::f64("alpha", |r: &FitRow| r.fit.alpha)
            .summary("alpha")
            .json(),
        Column::f64("sigma", |r: &FitRow| r.fit.sigma())
            .summary("sigma")
            .json(),
        Column::u64("n_tail", |r: &FitRow| r.fit.n_tail as u64)
            .summary("n_tail")
            .json(),
        Column::f64("ks_d", |r: &FitRow| r.fit.ks_distance)
            .summary("ks_d")
            .json(),
        Column::f64("ks_crit", |r: &FitRow| r.ks_crit)
            .summary("ks_crit")
            .json(),
        Column::f64("ks_crit_exact", |r: &FitRow| r.ks_crit_exact).json(),
        Column::bool("power_law", FitRow::power_law)
            .summary_with("power law", |r| {
                String::from(if r.power_law() { "yes" } else { "no" })
            })
            .json(),
        Column::f64("s_hat", |r: &FitRow| r.fit.rank_exponent()).json(),
        Column::f64("log_likelihood", |r: &FitRow| r.fit.log_likelihood)
            .unit("nats")
            .json(),
        Column::string("xmin_rule", |r: &FitRow| rule_name(&r.fit.options.xmin)).json(),
        p_gof,
    ])
}

/// The likelihood-ratio comparisons, described once.
pub fn compare_report<'a>() -> Report<CompareRow<'a>> {
    Report::new(vec![
        Column::str("scope", |r: &CompareRow<'a>| r.fit.scope.as_str())
            .summary("scope")
            .json(),
        Column::str("series", |r: &CompareRow<'a>| r.fit.series.as_str())
            .summary("series")
            .json(),
        Column::str("alt", |r: &CompareRow<'a>| alt_name(r.lr.alternative))
            .summary("alt")
            .json(),
        Column::f64("R", |r: &CompareRow<'a>| r.lr.r)
            .unit("nats")
            .summary("R")
            .json(),
        Column::f64("R_norm", |r: &CompareRow<'a>| r.lr.normalized_r)
            .summary("R_norm")
            .json(),
        Column::f64("p", |r: &CompareRow<'a>| r.lr.p_value)
            .summary("p")
            .json(),
        Column::u64("n_tail", |r: &CompareRow<'a>| r.lr.n as u64).json(),
    ])
}

/// The eigenvalues, described once (a table only).
pub fn spectrum_report<'a>() -> Report<SpectrumRow<'a>> {
    Report::new(vec![
        Column::u64("step", |r: &SpectrumRow<'a>| r.step),
        Column::str("scope", |r: &SpectrumRow<'a>| r.scope),
        Column::str("matrix", |r: &SpectrumRow<'a>| r.spectrum.kind.name()),
        Column::str("route", |r: &SpectrumRow<'a>| r.spectrum.route.name()),
        Column::u64("rank", |r: &SpectrumRow<'a>| r.rank),
        Column::f64("eigenvalue", |r: &SpectrumRow<'a>| r.eigenvalue)
            .unit("gradient units squared"),
    ])
}

/// The view rates, described once.
pub fn views_report() -> Report<ViewRow> {
    Report::new(vec![
        Column::u64("step", |r: &ViewRow| r.step),
        Column::u64("batch_size", |r: &ViewRow| r.batch_size),
        Column::str("view", |r: &ViewRow| r.view)
            .summary("view")
            .json(),
        Column::u64("samples", |r: &ViewRow| r.samples),
        Column::u64("dim", |r: &ViewRow| r.dim),
        Column::u64("top_k", |r: &ViewRow| r.top_k),
        Column::u64("sets_tested", |r: &ViewRow| r.fits.tested as u64)
            .summary("tested")
            .json(),
        Column::u64("sets_skipped", |r: &ViewRow| r.fits.skipped as u64)
            .summary("skipped")
            .json(),
        Column::u64("accepted", |r: &ViewRow| r.fits.accepted as u64)
            .summary("accepted")
            .json(),
        Column::f64("power_law_rate", |r: &ViewRow| r.fits.rate())
            .summary_with("rate %", |r| num(100.0 * r.fits.rate()))
            .json(),
        Column::f64("mean_ks_d", |r: &ViewRow| r.fits.mean_ks)
            .summary("mean d_ks")
            .json(),
        Column::f64("ks_crit", |r: &ViewRow| r.ks_crit)
            .summary("d_c")
            .json(),
        Column::f64("mean_alpha", |r: &ViewRow| r.fits.mean_alpha)
            .summary("mean alpha")
            .json(),
        Column::f64("mean_s_hat", |r: &ViewRow| 1.0 / (r.fits.mean_alpha - 1.0)),
    ])
}

/// The summary on stderr: the fits, then (with `--compare`) the comparisons.
pub fn print_summary<'a>(
    fits: &Report<FitRow>,
    rows: &[FitRow],
    compare: &Report<CompareRow<'a>>,
    comparisons: &[CompareRow<'a>],
) {
    gradscope_tool::console::err(&fits.summary(rows));
    if !comparisons.is_empty() {
        errln!();
        gradscope_tool::console::err(&compare.summary(comparisons));
    }
}
