//! `vmf-null`: kappa-hat when the truth is known (the vMF study's Table 1 and Figure 8).
//!
//! `vmf-null table1` reproduces Table 1 of the vMF study (its appendix F): kappa-hat of
//! 1,000, 2,000 and 3,000 uniformly random unit vectors in the dimensions of its eight
//! networks, 5 runs each, beside the paper's values. The default method simulates the
//! length of the resultant exactly in distribution without the d-dimensional vectors
//! (`gradscope_stats::vmf::null_walk`); `--method direct` draws the real vectors
//! (normalised Gaussian vectors, summed in f64) as the study did, for a check. Besides the
//! 5-run mean and sd, every row carries the expectation from many runs (`--expected-runs`,
//! default 2,000) and how many standard errors the paper's mean is from it.
//!
//! `vmf-null figure8` reproduces Figure 8: kappa-hat (Banerjee) and the maximum-likelihood
//! kappa from 1,000, 2,000 and 3,000 vMF samples against the true kappa, in d = 10,000 as
//! in the study and in d = 1,920,000 (the largest network), which the study could not
//! reach because it sampled the full vectors.

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use gradscope_io::Provenance;
use gradscope_plot::{draw_png, Panel, Series};
use gradscope_stats::describe::mean_sd;
use gradscope_stats::rng::{splitmix64, stream};
use gradscope_stats::vmf::null_walk::{resultant_length_uniform, resultant_length_vmf};
use gradscope_stats::vmf::wood::uniform_direction;
use gradscope_stats::vmf::{banerjee, maximum_likelihood};
use gradscope_tool::args::{png_path, table_file, Threads};
use gradscope_tool::report::{Column, Report};
use gradscope_tool::usage_bail;
use gradscope_tool::{errln, tool_name, OutputSet};
use rayon::prelude::*;
use std::path::PathBuf;

/// kappa-hat under a known kappa: the vMF study's Table 1 and Figure 8.
#[derive(Debug, Parser)]
#[command(name = "vmf-null", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// Worker threads (0: one per core; at most 1024).
    #[arg(long, global = true, value_name = "N", default_value_t = 0, value_parser = gradscope_tool::threads::parse)]
    pub threads: usize,
}

/// The reproductions.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Table 1: kappa-hat of uniformly random unit vectors in the study's dimensions.
    Table1(Table1Args),
    /// Figure 8: kappa-hat against the true kappa.
    Figure8(Figure8Args),
}

/// How the resultant length is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// The exact one-dimensional walk (milliseconds).
    Walk,
    /// Real d-dimensional vectors (minutes for the large rows).
    Direct,
}

#[derive(Debug, Parser)]
pub struct Table1Args {
    /// Output table (.csv, .parquet or .json).
    #[arg(short, long, default_value = "results/table1.csv", value_parser = table_file)]
    pub output: PathBuf,

    /// How to draw kappa-hat.
    #[arg(long, value_enum, default_value_t = Method::Walk)]
    pub method: Method,

    /// Networks (rows) to compute, comma-separated (default: all eight; with
    /// --method direct only `cnn`, the smallest, unless named).
    #[arg(long, value_delimiter = ',')]
    pub networks: Vec<String>,

    /// Runs per cell, as in the study (1 to 1,000,000).
    #[arg(long, default_value_t = 5, value_parser = gradscope_tool::args::count(0..=1_000_000))]
    pub runs: usize,

    /// Runs for the expectation column (walk method; 0 skips it; at most 10,000,000).
    #[arg(long, default_value_t = 2000, value_parser = gradscope_tool::args::count(0..=10_000_000))]
    pub expected_runs: usize,

    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Parser)]
pub struct Figure8Args {
    /// Output table (.csv, .parquet or .json).
    #[arg(short, long, default_value = "results/figure8.csv", value_parser = table_file)]
    pub output: PathBuf,

    /// PNG plot (default: beside the table, its name with .png).
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub plot: Option<PathBuf>,

    /// Dimensions, comma-separated (each 2 to 100,000,000).
    #[arg(long, value_delimiter = ',', default_value = "10000,1920000", value_parser = gradscope_tool::args::count(0..=100_000_000))]
    pub dims: Vec<usize>,

    /// Sample sizes, comma-separated (each 2 to 10,000,000).
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,3000", value_parser = gradscope_tool::args::count(0..=10_000_000))]
    pub samples: Vec<usize>,

    /// True kappas: 0 and 10^(k/2) for k = 0..=2*MAX_EXP (at most 12: far past the
    /// study's 10^7, where kappa-hat is exact; beyond it the vMF sampler reaches the
    /// limits of f64).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=12))]
    pub max_exp: u32,

    /// Runs per point (1 to 1,000,000).
    #[arg(long, default_value_t = 5, value_parser = gradscope_tool::args::count(0..=1_000_000))]
    pub runs: usize,

    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Network, dimension, and the paper's (mean, sd) for each sample size.
pub type PaperRow = (&'static str, usize, [(f64, f64); 3]);

/// A row of the study's Table 1: network, dimension, and (mean, sd) for 1,000, 2,000 and
/// 3,000 samples (Lee, Cho and Kang 2020, appendix F, Table 1).
pub const TABLE1: [PaperRow; 8] = [
    (
        "CNN",
        206_128,
        [(6527.09, 5.98), (4608.16, 6.18), (3762.45, 7.23)],
    ),
    (
        "CNN+Res",
        206_128,
        [(6527.09, 5.98), (4608.16, 6.18), (3762.45, 7.23)],
    ),
    (
        "CNN+BN",
        207_152,
        [(6563.62, 8.68), (4633.84, 5.60), (3781.04, 3.12)],
    ),
    (
        "CNN+Res+BN",
        207_152,
        [(6563.62, 8.68), (4633.84, 5.60), (3781.04, 3.12)],
    ),
    (
        "FNN",
        635_200,
        [(20111.90, 13.04), (14196.89, 14.91), (11607.39, 9.27)],
    ),
    (
        "FNN+BN",
        636_800,
        [(20157.57, 14.06), (14259.83, 16.38), (11621.63, 6.83)],
    ),
    (
        "DFNN",
        1_915_200,
        [(60619.02, 13.49), (42849.86, 18.90), (34983.31, 15.62)],
    ),
    (
        "DFNN+BN",
        1_920_000,
        [(60789.84, 17.93), (42958.71, 25.61), (35075.99, 12.39)],
    ),
];

/// The sample sizes of Table 1.
pub const TABLE1_SAMPLES: [usize; 3] = [1000, 2000, 3000];

/// Runs the tool.
pub fn run(args: Args) -> Result<()> {
    Threads {
        count: args.threads,
    }
    .init();
    match args.command {
        Command::Table1(a) => table1(a),
        Command::Figure8(a) => figure8(a),
    }
}

/// The random stream of one (dimension, samples, kappa, run) cell: rows with the same
/// dimension get the same numbers, as the study's CNN and CNN+Res rows do.
fn cell_key(seed: u64, d: usize, n: usize, kappa: f64, run: usize) -> u64 {
    splitmix64(
        seed ^ splitmix64(
            d as u64 ^ splitmix64((n as u64) << 20 ^ kappa.to_bits() ^ splitmix64(run as u64)),
        ),
    )
}

/// kappa-hat of n uniform directions in R^d drawn as real vectors, summed in f64 in a
/// fixed order of fixed blocks (the same result for any number of threads).
pub fn direct_kappa_hat(n: usize, d: usize, key: u64) -> f64 {
    const BLOCKS: usize = 16;
    let per = n.div_ceil(BLOCKS);
    let partial: Vec<Vec<f64>> = (0..BLOCKS)
        .into_par_iter()
        .map(|b| {
            let mut sum = vec![0.0f64; d];
            let mut x = vec![0.0f64; d];
            for i in b * per..((b + 1) * per).min(n) {
                let mut rng = stream(key, i as u64);
                uniform_direction(&mut rng, &mut x);
                sum.iter_mut().zip(&x).for_each(|(s, v)| *s += v);
            }
            sum
        })
        .collect();
    let mut total = vec![0.0f64; d];
    for p in &partial {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    let r = total.iter().map(|v| v * v).sum::<f64>().sqrt() / n as f64;
    banerjee(r, d as f64)
}

/// One row of the Table 1 reproduction: a network and sample size.
#[derive(Debug, Clone)]
pub struct Table1Row {
    pub network: &'static str,
    pub dimension: usize,
    pub samples: usize,
    /// kappa-hat over the `runs` runs: mean and sd (sd NaN for one run).
    pub mean: f64,
    pub sd: f64,
    /// The study's mean and sd.
    pub paper: (f64, f64),
    /// The expectation: mean and sd over `--expected-runs` runs (NaN when skipped).
    pub expected: (f64, f64),
    pub method: &'static str,
    pub runs: usize,
}

impl Table1Row {
    /// How far the paper's 5-run mean is from the expectation, in standard errors of a
    /// mean of `runs` runs: (paper mean - expected mean) / (expected sd / sqrt(runs)).
    fn paper_z(&self) -> f64 {
        (self.paper.0 - self.expected.0) / (self.expected.1 / (self.runs as f64).sqrt())
    }
}

/// A mean and sd as the summary shows them.
fn mean_pm_sd(mean: f64, sd: f64) -> String {
    format!("{mean:.2} ± {sd:.2}")
}

/// Table 1's rows, described once (table and summary). kappa-hat is dimensionless
/// (Banerjee's approximation, `gradscope_stats::vmf::banerjee`).
pub fn table1_report() -> Report<Table1Row> {
    Report::new(vec![
        Column::str("network", |r: &Table1Row| r.network).summary("network"),
        Column::u64("dimension", |r: &Table1Row| r.dimension as u64).summary("dimension"),
        Column::u64("samples", |r: &Table1Row| r.samples as u64).summary("samples"),
        Column::f64("kappa_mean", |r: &Table1Row| r.mean)
            .summary_with("ours", |r| mean_pm_sd(r.mean, r.sd)),
        Column::f64("kappa_std", |r: &Table1Row| r.sd),
        Column::f64("paper_mean", |r: &Table1Row| r.paper.0)
            .summary_with("paper", |r| mean_pm_sd(r.paper.0, r.paper.1)),
        Column::f64("paper_std", |r: &Table1Row| r.paper.1),
        Column::str("method", |r: &Table1Row| r.method),
        Column::u64("runs", |r: &Table1Row| r.runs as u64),
        Column::f64("expected_mean", |r: &Table1Row| r.expected.0)
            .summary_with("expected", |r| mean_pm_sd(r.expected.0, r.expected.1)),
        Column::f64("expected_std", |r: &Table1Row| r.expected.1),
        Column::f64("paper_z", Table1Row::paper_z)
            .unit("standard errors")
            .summary("paper z"),
    ])
}

/// Table 1's networks to compute, lower-case, checked against the table.
fn table1_plan(a: &Table1Args) -> Result<Vec<String>> {
    if a.runs == 0 {
        usage_bail!("--runs must be at least 1");
    }
    let wanted: Vec<String> = if a.networks.is_empty() {
        match a.method {
            Method::Walk => TABLE1.iter().map(|r| r.0.to_ascii_lowercase()).collect(),
            Method::Direct => vec!["cnn".into()],
        }
    } else {
        a.networks.iter().map(|s| s.to_ascii_lowercase()).collect()
    };
    for w in &wanted {
        if !TABLE1.iter().any(|r| r.0.to_ascii_lowercase() == *w) {
            usage_bail!(
                "--networks: unknown network `{w}` (Table 1 has {})",
                TABLE1.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(wanted)
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Walk => "walk",
        Method::Direct => "direct",
    }
}

/// Every row of Table 1 for the networks `wanted`. Writes nothing.
fn table1_measure(a: &Table1Args, wanted: &[String]) -> Vec<Table1Row> {
    let mut out = Vec::new();
    for (network, d, paper) in TABLE1
        .iter()
        .filter(|r| wanted.contains(&r.0.to_ascii_lowercase()))
    {
        for (k, &n) in TABLE1_SAMPLES.iter().enumerate() {
            let kappas: Vec<f64> = match a.method {
                Method::Walk => (0..a.runs)
                    .into_par_iter()
                    .map(|run| {
                        let mut rng = stream(cell_key(a.seed, *d, n, 0.0, run), 0);
                        banerjee(
                            resultant_length_uniform(n, *d, &mut rng) / n as f64,
                            *d as f64,
                        )
                    })
                    .collect(),
                Method::Direct => (0..a.runs)
                    .map(|run| direct_kappa_hat(n, *d, cell_key(a.seed, *d, n, 0.0, run)))
                    .collect(),
            };
            let (mean, sd) = mean_sd(&kappas);
            let expected = if a.expected_runs > 0 {
                let many: Vec<f64> = (0..a.expected_runs)
                    .into_par_iter()
                    .map(|run| {
                        let mut rng = stream(cell_key(a.seed ^ 0x5eed, *d, n, 0.0, run), 1);
                        banerjee(
                            resultant_length_uniform(n, *d, &mut rng) / n as f64,
                            *d as f64,
                        )
                    })
                    .collect();
                mean_sd(&many)
            } else {
                (f64::NAN, f64::NAN)
            };
            out.push(Table1Row {
                network,
                dimension: *d,
                samples: n,
                mean,
                sd,
                paper: paper[k],
                expected,
                method: method_name(a.method),
                runs: a.runs,
            });
        }
    }
    out
}

fn table1(a: Table1Args) -> Result<()> {
    let wanted = table1_plan(&a)?;
    let rows = table1_measure(&a, &wanted);
    let method = method_name(a.method);
    let report = table1_report();
    let mut prov = Provenance::new("vmf-table1", &tool_name("vmf-null"));
    prov.seed = Some(a.seed);
    prov.extra.insert("method".into(), method.into());
    let mut outputs = OutputSet::new();
    outputs.table(&a.output, &report.table(&rows)?, &prov)?;
    errln!("vMF study, Table 1: kappa-hat of uniform unit vectors ({method}, {} runs; expectation from {} runs)", a.runs, a.expected_runs);
    gradscope_tool::console::err(&report.summary(&rows));
    outputs.commit()?;
    errln!("wrote {}", a.output.display());
    Ok(())
}

/// One point of the Figure 8 reproduction: kappa-hat and the ML kappa (mean and sd over
/// the runs) at a true kappa, dimension and sample size.
#[derive(Debug, Clone)]
pub struct Figure8Row {
    pub dimension: usize,
    pub samples: usize,
    pub kappa: f64,
    pub hat: (f64, f64),
    pub ml: (f64, f64),
    pub runs: usize,
}

/// Figure 8's rows, described once (table and summary); every kappa is dimensionless.
pub fn figure8_report() -> Report<Figure8Row> {
    Report::new(vec![
        Column::u64("dimension", |r: &Figure8Row| r.dimension as u64).summary("dimension"),
        Column::u64("samples", |r: &Figure8Row| r.samples as u64).summary("samples"),
        Column::f64("kappa_true", |r: &Figure8Row| r.kappa).summary("kappa"),
        Column::f64("kappa_hat_mean", |r: &Figure8Row| r.hat.0).summary("kappa-hat"),
        Column::f64("kappa_hat_std", |r: &Figure8Row| r.hat.1),
        Column::f64("kappa_ml_mean", |r: &Figure8Row| r.ml.0).summary("kappa_ml"),
        Column::f64("kappa_ml_std", |r: &Figure8Row| r.ml.1),
        Column::u64("runs", |r: &Figure8Row| r.runs as u64),
    ])
}

/// The true kappas of Figure 8: 0 and 10^(k/2) for k = 0..=2 max_exp.
fn figure8_plan(a: &Figure8Args) -> Result<Vec<f64>> {
    if a.runs == 0 || a.dims.is_empty() || a.samples.is_empty() {
        usage_bail!("--runs, --dims and --samples must be non-empty");
    }
    if let Some(d) = a.dims.iter().find(|&&d| d < 2) {
        usage_bail!("--dims: dimension {d} is below 2");
    }
    // One unit vector is its own mean direction: r = 1 and kappa-hat infinite.
    if let Some(n) = a.samples.iter().find(|&&n| n < 2) {
        usage_bail!("--samples: {n} sample(s) is too few; kappa-hat needs at least 2");
    }
    let mut kappas = vec![0.0];
    kappas.extend((0..=2 * a.max_exp).map(|k| 10f64.powf(k as f64 / 2.0)));
    Ok(kappas)
}

/// Every point of Figure 8 (in parallel). Writes nothing.
fn figure8_measure(a: &Figure8Args, kappas: &[f64]) -> Vec<Figure8Row> {
    let mut cells: Vec<(usize, usize, f64)> = Vec::new();
    for &d in &a.dims {
        for &n in &a.samples {
            cells.extend(kappas.iter().map(|&k| (d, n, k)));
        }
    }
    cells
        .par_iter()
        .map(|&(d, n, kappa)| {
            let (hats, mls): (Vec<f64>, Vec<f64>) = (0..a.runs)
                .map(|run| {
                    let mut rng = stream(cell_key(a.seed, d, n, kappa, run), 2);
                    let len = if kappa == 0.0 {
                        resultant_length_uniform(n, d, &mut rng)
                    } else {
                        resultant_length_vmf(n, d, kappa, &mut rng)
                    };
                    let r = (len / n as f64).min(1.0);
                    (banerjee(r, d as f64), maximum_likelihood(r, d as f64))
                })
                .unzip();
            Figure8Row {
                dimension: d,
                samples: n,
                kappa,
                hat: mean_sd(&hats),
                ml: mean_sd(&mls),
                runs: a.runs,
            }
        })
        .collect()
}

fn figure8(a: Figure8Args) -> Result<()> {
    let kappas = figure8_plan(&a)?;
    let pts = figure8_measure(&a, &kappas);
    let report = figure8_report();
    let mut prov = Provenance::new("vmf-figure8", &tool_name("vmf-null"));
    prov.seed = Some(a.seed);
    let mut outputs = OutputSet::new();
    outputs.table(&a.output, &report.table(&pts)?, &prov)?;
    let panels = figure8_panels(&a, &kappas, &pts);
    let plot = a
        .plot
        .clone()
        .unwrap_or_else(|| a.output.with_extension("png"));
    outputs.drawn(&plot, |tmp| {
        draw_png(tmp, 560 * panels.len() as u32, 480, &panels)
    })?;
    // The summary shows the largest sample size only.
    let shown: Vec<Figure8Row> = pts
        .iter()
        .filter(|p| p.samples == *a.samples.last().expect("non-empty"))
        .cloned()
        .collect();
    errln!("vMF study, Figure 8 (the study shows d = 10,000 only; kappa-hat approaches the true kappa from above and is exact for large kappa):");
    gradscope_tool::console::err(&report.summary(&shown));
    outputs.commit()?;
    errln!("wrote {} and {}", a.output.display(), plot.display());
    Ok(())
}

/// One panel per dimension: kappa-hat against the true kappa on log-log axes (kappa = 0
/// drawn as dashed horizontal lines), and the identity.
fn figure8_panels(a: &Figure8Args, kappas: &[f64], pts: &[Figure8Row]) -> Vec<Panel> {
    a.dims
        .iter()
        .map(|&d| {
            let mut series = Vec::new();
            let mut hlines = Vec::new();
            for (i, &n) in a.samples.iter().enumerate() {
                let of = |ml: bool| {
                    pts.iter()
                        .filter(|p| p.dimension == d && p.samples == n && p.kappa > 0.0)
                        .map(|p| (p.kappa, if ml { p.ml.0 } else { p.hat.0 }))
                        .collect::<Vec<_>>()
                };
                series.push(Series::new(
                    &format!("kappa-hat, {n} samples"),
                    of(false),
                    i,
                ));
                series.push(Series::new(&format!("ML kappa, {n} samples"), of(true), i).dashed());
                if let Some(z) = pts
                    .iter()
                    .find(|p| p.dimension == d && p.samples == n && p.kappa == 0.0)
                {
                    hlines.push((z.hat.0, format!("kappa-hat at kappa = 0, {n}"), i));
                }
            }
            let ks: Vec<(f64, f64)> = kappas
                .iter()
                .filter(|k| **k > 0.0)
                .map(|&k| (k, k))
                .collect();
            series.push(Series::new("true kappa", ks, 7).dashed());
            Panel {
                title: format!("d = {d}"),
                x_label: "true kappa".into(),
                y_label: "estimate".into(),
                log_x: true,
                log_y: true,
                series,
                hlines,
            }
        })
        .collect()
}
