//! `synth-grads`: synthetic gradient matrices with known statistics.
//!
//! Writes gradients in the shared format whose true distribution is known, so every
//! consumer can be checked against the truth and benchmarked without libtorch:
//! - `--kappa K`: directions from vMF(mu, K) (Wood's 1994 sampler, any dimension; K = 0 is
//!   uniform), mu a seeded random unit vector (or the first axis with `--mu axis`),
//!   scaled by `--norm`: `1` (unit vectors), `lognormal:S` (norm = exp(S Z)), or
//!   `chi:M` (the norm of an M-dimensional standard normal vector, divided by sqrt(M));
//! - `--noise gaussian:S` or `--noise student-t:NU`: coordinates mean + noise, with mean =
//!   `--mean-scale` times a seeded random unit vector and i.i.d. N(0, S^2) or Student-t
//!   noise (for the normality tests).
//!
//! Samples are generated in parallel from per-sample random streams, so the file is the
//! same for any number of threads.

use anyhow::{bail, Context, Result};
use clap::Parser;
use gradscope_io::grad_matrix::layout_from_shapes;
use gradscope_io::{GradWriter, Provenance, WriterOptions};
use gradscope_stats::rng::{seeded, stream};
use gradscope_stats::vmf::wood::{uniform_direction, WoodSampler};
use gradscope_tool::args::Threads;
use gradscope_tool::progress::progress;
use gradscope_tool::report::{Column, Report};
use gradscope_tool::{tool_name, usage_error};
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;
use std::path::PathBuf;

/// `--row-group-mb`'s default; a stream on stdout refuses any other value.
const ROW_GROUP_MB: u64 = 64;

/// Writes a synthetic gradient matrix (vMF directions or Gaussian/Student-t coordinates).
#[derive(Debug, Parser)]
#[command(name = "synth-grads", version, long_about = None, allow_negative_numbers = true)]
pub struct Args {
    /// Output: a Parquet file, or `-` for an Arrow IPC stream on stdout.
    #[arg(short, long, value_parser = gradscope_tool::args::matrix_path)]
    pub output: PathBuf,

    /// Dimension of each gradient (one tensor named `w`). Ignored with --layout.
    #[arg(long, default_value_t = 1000)]
    pub dim: usize,

    /// Parameter layout instead of --dim: NAME:SHAPE,... e.g. `fc1:800x784,fc2:10x800`.
    #[arg(long)]
    pub layout: Option<String>,

    /// Gradients per step (at least 1: every reader refuses a matrix without samples).
    #[arg(short = 'n', long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub samples: u32,

    /// Steps (parameter points); step numbers 0, 1, ... each with its own mean direction.
    /// At least 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,

    /// vMF concentration of the directions (0: uniform). Conflicts with --noise.
    #[arg(long, default_value_t = 0.0)]
    pub kappa: f64,

    /// Mean direction: `random` (seeded) or `axis` (the first coordinate axis).
    #[arg(long, default_value = "random")]
    pub mu: String,

    /// Norms of the vMF gradients: `1`, `lognormal:SIGMA` or `chi:M`.
    #[arg(long, default_value = "1")]
    pub norm: String,

    /// Coordinate noise instead of vMF directions: `gaussian:SD` or `student-t:NU`.
    #[arg(long, conflicts_with = "norm")]
    pub noise: Option<String>,

    /// Length of the mean gradient for --noise (times the --mu direction: a random unit
    /// vector, or the first axis).
    #[arg(long, default_value_t = 0.0, requires = "noise")]
    pub mean_scale: f64,

    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Close Parquet row groups after this many MiB (1 to 4096).
    #[arg(long, default_value_t = ROW_GROUP_MB, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub row_group_mb: u64,

    /// Compress the Parquet file with zstd.
    #[arg(long)]
    pub zstd: bool,

    #[command(flatten)]
    pub threads: Threads,
}

#[derive(Debug, Clone, Copy)]
enum Norm {
    One,
    LogNormal(f64),
    Chi(u32),
}

#[derive(Debug, Clone, Copy)]
enum Noise {
    Gaussian(f64),
    StudentT(f64),
}

fn parse_layout(spec: &str) -> Result<Vec<(String, Vec<usize>)>> {
    let shapes: Vec<(String, Vec<usize>)> = spec
        .split(',')
        .map(|part| {
            let (name, shape) = part.split_once(':').with_context(|| {
                format!("--layout: `{part}` is not NAME:SHAPE (e.g. fc1:800x784)")
            })?;
            let dims: Result<Vec<usize>> = shape
                .split('x')
                .map(|d| {
                    d.trim()
                        .parse::<usize>()
                        .with_context(|| format!("--layout: `{d}` in `{part}` is not a size"))
                })
                .collect();
            let dims = dims?;
            if name.is_empty() || dims.contains(&0) {
                bail!("--layout: `{part}` needs a name and positive sizes");
            }
            let numel = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if numel.is_none_or(|n| n > MAX_TENSOR_VALUES) {
                bail!("--layout: `{part}` has more than {MAX_TENSOR_VALUES} values, the most one tensor of the gradient matrix holds (Arrow list offsets are 32-bit)");
            }
            Ok((name.to_string(), dims))
        })
        .collect::<Result<_>>()?;
    for (i, (name, _)) in shapes.iter().enumerate() {
        if shapes[..i].iter().any(|(other, _)| other == name) {
            bail!("--layout: tensor `{name}` is named twice");
        }
    }
    Ok(shapes)
}

/// The most values one tensor may have: a gradient's `values` list is indexed by 32-bit
/// Arrow offsets.
const MAX_TENSOR_VALUES: usize = i32::MAX as usize;

fn parse_norm(s: &str) -> Result<Norm> {
    Ok(match s.split_once(':') {
        None if s == "1" => Norm::One,
        Some(("lognormal", v)) => {
            let sigma: f64 = v
                .parse()
                .with_context(|| format!("--norm lognormal:{v}: not a number"))?;
            // exp(10 z) stays within f32's range for |z| < 8.8, i.e. always in practice;
            // sigma = 1000 gave norms of 0 or infinity.
            if !(0.0..=10.0).contains(&sigma) {
                bail!("--norm lognormal:{v}: sigma must be from 0 to 10");
            }
            Norm::LogNormal(sigma)
        }
        Some(("chi", v)) => match v.parse() {
            // chi:0 is the norm of no coordinates: every gradient 0.
            Ok(m) if m > 0 => Norm::Chi(m),
            _ => bail!("--norm chi:{v}: not a positive integer"),
        },
        _ => bail!("--norm {s}: expected 1, lognormal:SIGMA or chi:M"),
    })
}

fn parse_noise(s: &str) -> Result<Noise> {
    let (kind, v) = s
        .split_once(':')
        .with_context(|| format!("--noise {s}: expected gaussian:SD or student-t:NU"))?;
    let v: f64 = v
        .parse()
        .with_context(|| format!("--noise {s}: `{v}` is not a number"))?;
    if !(v.is_finite() && v > 0.0) {
        bail!("--noise {s}: the parameter must be positive and finite");
    }
    match kind {
        "gaussian" => Ok(Noise::Gaussian(v)),
        "student-t" | "t" => Ok(Noise::StudentT(v)),
        _ => bail!("--noise {s}: expected gaussian:SD or student-t:NU"),
    }
}

/// What `run` settled before drawing a gradient.
struct Plan {
    dim: usize,
    norm: Norm,
    noise: Option<Noise>,
    /// The gradient matrix's provenance (layout, generator settings).
    meta: Provenance,
    opts: WriterOptions,
}

/// Every check of the arguments, and the output's layout and provenance. Its errors are
/// all of the command line: usage errors.
fn plan(args: &Args) -> Result<Plan> {
    let shapes = match &args.layout {
        Some(spec) => parse_layout(spec)?,
        None => vec![("w".to_string(), vec![args.dim])],
    };
    let total = shapes.iter().try_fold(0usize, |a, (_, d)| {
        a.checked_add(d.iter().product::<usize>())
    });
    if total.is_none_or(|t| t > MAX_TENSOR_VALUES) {
        bail!("the dimension must be at most {MAX_TENSOR_VALUES} values (got more)");
    }
    let layout = layout_from_shapes(&shapes);
    let dim: usize = layout.iter().map(|t| t.numel).sum();
    if dim < 2 {
        bail!("the dimension must be at least 2 (got {dim})");
    }
    if !(args.kappa.is_finite() && args.kappa >= 0.0) {
        bail!("--kappa {} must be finite and non-negative", args.kappa);
    }
    check_kappa(args.kappa, dim)?;
    if !args.mean_scale.is_finite() {
        bail!("--mean-scale {} must be finite", args.mean_scale);
    }
    if args.mu != "random" && args.mu != "axis" {
        bail!("--mu {}: expected random or axis", args.mu);
    }
    let norm = parse_norm(&args.norm)?;
    let noise = args.noise.as_deref().map(parse_noise).transpose()?;
    if gradscope_io::is_stdio(&args.output) && (args.zstd || args.row_group_mb != ROW_GROUP_MB) {
        bail!("--zstd and --row-group-mb shape a Parquet file; the stream on stdout (-o -) has neither");
    }
    if noise.is_some() && args.kappa != 0.0 {
        bail!("--noise and --kappa describe different generators; give one");
    }
    let mut meta = Provenance::new("gradient-matrix", &tool_name("synth-grads"));
    meta.layout = layout;
    meta.model = Some("synthetic".into());
    meta.dataset = Some("synthetic".into());
    meta.seed = Some(args.seed);
    meta.sampling = Some(if noise.is_some() {
        "synthetic-noise".into()
    } else {
        "vmf-synthetic".into()
    });
    meta.extra.insert("kappa".into(), args.kappa.into());
    meta.extra.insert("norm".into(), args.norm.clone().into());
    if let Some(n) = &args.noise {
        meta.extra.insert("noise".into(), n.clone().into());
        meta.extra
            .insert("mean_scale".into(), args.mean_scale.into());
    }
    let opts = WriterOptions {
        row_group_bytes: (args.row_group_mb as usize) << 20,
        zstd: args.zstd,
    };
    Ok(Plan {
        dim,
        norm,
        noise,
        meta,
        opts,
    })
}

/// Runs the tool: plan (every check), then the gradients drawn and streamed to the output
/// as they come (memory: one block of gradients whatever --samples), then the summary.
pub fn run(args: Args) -> Result<()> {
    let Plan {
        dim,
        norm,
        noise,
        meta,
        opts,
    } = plan(&args).map_err(usage_error)?;
    args.threads.init();
    let mut writer = GradWriter::create(&args.output, &meta, &opts)?;
    let bar = progress(
        Some(args.steps.saturating_mul(u64::from(args.samples))),
        "synth-grads",
    );
    // Generate in blocks of samples in parallel, write in order.
    let block = (rayon::current_num_threads() * 4).max(1) as u32;
    for step in 0..args.steps {
        let mut mu = vec![0.0f64; dim];
        if args.mu == "axis" {
            mu[0] = 1.0;
        } else {
            uniform_direction(
                &mut seeded(args.seed ^ step.wrapping_mul(0xA24B_AED4_963E_E407)),
                &mut mu,
            );
        }
        let wood = (noise.is_none()).then(|| WoodSampler::new(dim, args.kappa));
        let mut start = 0u32;
        while start < args.samples {
            let end = (start + block).min(args.samples);
            let grads: Vec<Vec<f32>> = (start..end)
                .into_par_iter()
                .map(|i| {
                    let mut rng = stream(args.seed, (step << 32) | i as u64);
                    let mut x = vec![0.0f64; dim];
                    match (noise, &wood) {
                        (Some(nz), _) => {
                            let t = match nz {
                                Noise::StudentT(nu) => Some(StudentT::new(nu).expect("nu > 0")),
                                Noise::Gaussian(_) => None,
                            };
                            for (v, m) in x.iter_mut().zip(&mu) {
                                let e: f64 = match (nz, &t) {
                                    (Noise::Gaussian(sd), _) => {
                                        let z: f64 = StandardNormal.sample(&mut rng);
                                        sd * z
                                    }
                                    (_, Some(t)) => t.sample(&mut rng),
                                    _ => unreachable!(),
                                };
                                *v = args.mean_scale * m + e;
                            }
                        }
                        (None, Some(w)) => {
                            gradscope_stats::vmf::wood::sample_vmf(w, &mu, &mut rng, &mut x);
                            let scale = match norm {
                                Norm::One => 1.0,
                                Norm::LogNormal(s) => {
                                    let z: f64 = StandardNormal.sample(&mut rng);
                                    (s * z).exp()
                                }
                                Norm::Chi(m) => ((0..m)
                                    .map(|_| {
                                        let z: f64 = StandardNormal.sample(&mut rng);
                                        z * z
                                    })
                                    .sum::<f64>()
                                    / m.max(1) as f64)
                                    .sqrt(),
                            };
                            x.iter_mut().for_each(|v| *v *= scale);
                        }
                        (None, None) => unreachable!(),
                    }
                    x.into_iter().map(|v| v as f32).collect()
                })
                .collect();
            for (k, g) in grads.iter().enumerate() {
                if g.iter().any(|v| !v.is_finite()) {
                    bail!(
                        "step {step}, sample {}: the generated gradient holds non-finite values (f32 holds at most 3.4e38); lower --noise, --mean-scale or --norm",
                        start + k as u32
                    );
                }
                writer.write_sample(step, start + k as u32, f64::NAN, 1, g)?;
            }
            bar.inc((end - start) as u64);
            start = end;
        }
    }
    bar.finish_and_clear();
    let n = writer.finish()?;
    let row = Written {
        gradients: n,
        steps: args.steps,
        dim: dim as u64,
        output: if gradscope_io::is_stdio(&args.output) {
            "stdout".into()
        } else {
            args.output.display().to_string()
        },
    };
    gradscope_tool::console::err(&written_report().summary(&[row]));
    Ok(())
}

/// What a run wrote: its one row.
#[derive(Debug, Clone)]
pub struct Written {
    pub gradients: u64,
    /// Parameter points (steps).
    pub steps: u64,
    /// Values per gradient.
    pub dim: u64,
    /// The output file, or `stdout`.
    pub output: String,
}

/// The summary's columns, described once.
pub fn written_report() -> Report<Written> {
    Report::new(vec![
        Column::u64("gradients", |r: &Written| r.gradients).summary("gradients"),
        Column::u64("steps", |r: &Written| r.steps).summary("steps"),
        Column::u64("dim", |r: &Written| r.dim).summary("dimension"),
        Column::str("output", |r: &Written| r.output.as_str()).summary("output"),
    ])
}

/// Wood's sampler needs 1 - x0^2 > 0 with x0 = (1 - b)/(1 + b) and
/// b = (d-1)/(2 kappa + sqrt(4 kappa^2 + (d-1)^2)): for kappa above about (d-1) 2^51 it
/// rounds to 0 in f64, the acceptance test is never met and the sampler never returns.
fn check_kappa(kappa: f64, dim: usize) -> Result<()> {
    let m = (dim - 1) as f64;
    let b = m / (2.0 * kappa + (4.0 * kappa * kappa + m * m).sqrt());
    let x0 = (1.0 - b) / (1.0 + b);
    if 1.0 - x0 * x0 <= 0.0 || !b.is_finite() {
        bail!(
            "--kappa {kappa:?} is too large for dimension {dim}: the directions equal the mean direction to f64 precision and Wood's sampler cannot draw them (use at most {:.3e})",
            m * 2f64.powi(50)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_specs() {
        let l = parse_layout("fc1:800x784,fc2:10x800").unwrap();
        assert_eq!(l[0].1, vec![800, 784]);
        assert!(parse_layout("fc1")
            .unwrap_err()
            .to_string()
            .contains("NAME:SHAPE"));
        assert!(parse_layout("a:0").is_err());
        assert!(matches!(parse_norm("chi:64").unwrap(), Norm::Chi(64)));
        assert!(parse_norm("bogus").is_err());
        assert!(parse_norm("chi:0").is_err());
        assert!(parse_norm("lognormal:10").is_ok());
        assert!(parse_norm("lognormal:1000").is_err());
        assert!(parse_noise("gaussian:-1").is_err());
    }
}
