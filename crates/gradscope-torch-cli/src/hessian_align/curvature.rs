//! The curvature of one symmetric operator (the whole Hessian, or one diagonal block of
//! it): its top eigenvalues by Lanczos or power iteration, Hutchinson's trace, and its
//! spectral density by stochastic Lanczos quadrature broadened by a Gaussian; and the
//! rows the eigenvalue, density and node tables take from a list of such curvatures.

use super::report::{DensityRow, EigenRow, EigenRun, NodeRow};
use super::{Args, Method};
use anyhow::Result;
use gradscope_stats::lanczos_quadrature::{gaussian_density, linear_grid, Quadrature};
use gradscope_tool::errln;
use gradscope_torch::hessian_spectrum::{
    hutchinson_trace, lanczos, power_iteration, stochastic_lanczos_quadrature,
};
use std::time::Instant;
use tch::{Device, Tensor};

/// The broadened spectral density on its grid, with the quadrature it came from.
pub struct Density {
    pub probes: Vec<Quadrature>,
    /// The Gaussian's standard deviation, in eigenvalue units.
    pub sigma: f64,
    pub grid: Vec<f64>,
    pub values: Vec<f64>,
}

impl Density {
    /// The lowest and highest node of the quadrature.
    pub fn node_range(&self) -> (f64, f64) {
        self.probes
            .iter()
            .flat_map(|q| q.nodes.iter().copied())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            })
    }
}

/// `--grid LO:HI:POINTS`.
pub fn parse_grid(s: &str) -> Result<(f64, f64, usize)> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || {
        anyhow::anyhow!("--grid {s}: expected LO:HI:POINTS with LO < HI and 2 to 1,000,000 points")
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let lo: f64 = parts[0].parse().map_err(|_| bad())?;
    let hi: f64 = parts[1].parse().map_err(|_| bad())?;
    let n: usize = parts[2].parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi && (2..=1_000_000).contains(&n)) {
        return Err(bad());
    }
    Ok((lo, hi, n))
}

/// sigma 0 means 1/100 of the nodes' range; no grid means that range widened by 5 sigma.
fn spectral_density(
    probes: Vec<Quadrature>,
    sigma: f64,
    grid: Option<(f64, f64, usize)>,
) -> Result<Density> {
    let lo = probes
        .iter()
        .flat_map(|q| q.nodes.iter().copied())
        .fold(f64::INFINITY, f64::min);
    let hi = probes
        .iter()
        .flat_map(|q| q.nodes.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let sigma = if sigma > 0.0 {
        sigma
    } else {
        ((hi - lo) / 100.0).max(f64::MIN_POSITIVE.sqrt() * hi.abs().max(1.0))
    };
    let (a, b, n) = grid.unwrap_or((lo - 5.0 * sigma, hi + 5.0 * sigma, 1001));
    let grid = linear_grid(a, b, n);
    let values = gaussian_density(&probes, &grid, sigma)?;
    Ok(Density {
        probes,
        sigma,
        grid,
        values,
    })
}

/// The curvature of one symmetric operator: the whole Hessian (`all`) or a diagonal block.
pub struct Curvature {
    /// The block's name (`all`: the whole network).
    pub block: String,
    /// Its dimension.
    pub dim: usize,
    /// One run per solver asked for.
    pub eigen: Vec<EigenRun>,
    /// Hutchinson's (mean, standard error).
    pub trace: Option<(f64, f64)>,
    pub density: Option<Density>,
    /// Operator products taken.
    pub hvps: usize,
}

impl Curvature {
    /// The first solver's largest eigenvalue (NaN without one).
    pub fn top_eigenvalue(&self) -> f64 {
        self.eigen
            .first()
            .and_then(|r| r.eigen.values.first().copied())
            .unwrap_or(f64::NAN)
    }
}

/// Top eigenvalues (-k, capped at the operator's dimension), Hutchinson's trace and the
/// SLQ density of the `dim` x `dim` operator `apply`, as the arguments ask; every method
/// takes the same seeds whatever the block, so a run is reproducible block by block.
pub fn curvature(
    args: &Args,
    block: &str,
    dim: usize,
    grid: Option<(f64, f64, usize)>,
    device: Device,
    apply: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Curvature> {
    let mut hvps = 0usize;
    let mut counted = |v: &Tensor| {
        hvps += 1;
        apply(v)
    };
    let k = args.top_k.min(dim);
    let mut eigen: Vec<EigenRun> = Vec::new();
    if k > 0 {
        let chosen = args.method();
        let solvers = [
            ("lanczos", matches!(chosen, Method::Lanczos | Method::Both)),
            ("power", matches!(chosen, Method::Power | Method::Both)),
        ];
        for (method, _) in solvers.into_iter().filter(|s| s.1) {
            let solve = if method == "lanczos" {
                lanczos
            } else {
                power_iteration
            };
            let c = Instant::now();
            let e = solve(
                dim,
                k,
                args.max_iter(),
                args.tol(),
                args.seed,
                device,
                &mut counted,
            )?;
            eigen.push(EigenRun {
                method,
                eigen: e,
                seconds: c.elapsed().as_secs_f64(),
            });
        }
        for r in &eigen {
            if !r.eigen.converged {
                let of = if block == "all" {
                    String::new()
                } else {
                    format!(" on block {block}")
                };
                errln!(
                    "hessian-align: warning: {}{of} did not reach --tol {} within --max-iter {} (see the residual column)",
                    r.method, args.tol(), args.max_iter()
                );
            }
        }
    }
    let trace = if args.trace_probes > 0 {
        Some(hutchinson_trace(
            dim,
            args.trace_probes,
            args.seed,
            device,
            &mut counted,
        )?)
    } else {
        None
    };
    let density = match &args.density {
        Some(_) => Some(spectral_density(
            stochastic_lanczos_quadrature(
                dim,
                args.slq_probes,
                args.slq_steps,
                args.seed,
                device,
                &mut counted,
            )?,
            args.sigma,
            grid,
        )?),
        None => None,
    };
    Ok(Curvature {
        block: block.to_string(),
        dim,
        eigen,
        trace,
        density,
        hvps,
    })
}

/// `--eigen-output`'s rows: every eigenvalue of every solver run of every curvature.
pub fn eigen_rows(curvatures: &[&Curvature], step: u64, epoch: u64) -> Vec<EigenRow> {
    curvatures
        .iter()
        .flat_map(|c| c.eigen.iter().map(move |run| (c, run)))
        .flat_map(|(c, run)| {
            let e = &run.eigen;
            e.values
                .iter()
                .zip(&e.residuals)
                .enumerate()
                .map(move |(i, (v, r))| EigenRow {
                    step,
                    epoch,
                    block: c.block.clone(),
                    method: run.method,
                    rank: i as u64 + 1,
                    eigenvalue: *v,
                    residual: *r,
                    hvps: e.products as u64,
                })
        })
        .collect()
}

/// `--density`'s rows: every grid point of every curvature's density.
pub fn density_rows(curvatures: &[&Curvature], step: u64) -> Vec<DensityRow> {
    curvatures
        .iter()
        .filter_map(|c| c.density.as_ref().map(|d| (c, d)))
        .flat_map(|(c, d)| {
            d.grid.iter().zip(&d.values).map(move |(x, y)| DensityRow {
                step,
                block: c.block.clone(),
                eigenvalue: *x,
                density: *y,
            })
        })
        .collect()
}

/// `--slq-nodes`' rows: every node of every probe of every curvature's density.
pub fn node_rows(curvatures: &[&Curvature], step: u64) -> Vec<NodeRow> {
    curvatures
        .iter()
        .filter_map(|c| c.density.as_ref().map(|d| (c, d)))
        .flat_map(|(c, d)| {
            d.probes.iter().enumerate().flat_map(move |(l, q)| {
                q.nodes.iter().zip(&q.weights).map(move |(x, w)| NodeRow {
                    step,
                    block: c.block.clone(),
                    probe: l as u64,
                    eigenvalue: *x,
                    weight: *w,
                })
            })
        })
        .collect()
}
