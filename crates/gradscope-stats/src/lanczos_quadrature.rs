//! The spectral density of a symmetric operator from matrix-vector products alone, by
//! stochastic Lanczos quadrature (SLQ).
//!
//! For a symmetric d x d matrix A with eigenvalues lambda_i, the spectral density is
//! phi(t) = (1/d) sum_i delta(t - lambda_i), and its Gaussian-broadened version
//! phi_sigma(t) = (1/d) sum_i g_sigma(t - lambda_i), g_sigma the N(0, sigma^2) density.
//! Ghorbani, Krishnan and Xiao ("An investigation into neural net optimization via Hessian
//! eigenvalue density", ICML 2019, section 3 and appendix A, after Lin, Saad and Yang,
//! "Approximating spectral densities of large matrices", SIAM Review 2016) estimate it as
//!
//! ```text
//! phi_sigma(t) ~ (1/n_v) sum_{l=1..n_v} sum_{k=1..m} tau_k^(l) g_sigma(t - theta_k^(l))
//! ```
//!
//! where, for a random unit probe v_l, m steps of Lanczos started at v_l give the m x m
//! tridiagonal T_m; theta_k are its eigenvalues and tau_k = (e_1' u_k)^2 the squared
//! *first components* of its unit eigenvectors u_k (Golub and Welsch, "Calculation of
//! Gauss quadrature rules", Math. Comp. 1969). (theta_k, tau_k) is the m-point Gauss
//! quadrature of the measure sum_i (q_i' v)^2 delta(t - lambda_i): exact for every
//! polynomial of degree up to 2m - 1, so sum_k tau_k theta_k^j = v' A^j v for j <= 2m-1
//! (tested), and its expectation over unit probes is tr(A^j)/d. The weights sum to 1
//! for each probe, so the estimate integrates to 1. (PyHessian's `density` took its
//! weights from the wrong components of these eigenvectors until a 2024 fix; the test
//! `full_lanczos_recovers_the_spectrum_and_the_probe_weights` checks ours against the
//! exact projections (q_i' v)^2.)
//!
//! The Lanczos iteration keeps every vector and reorthogonalises each new one against
//! all of them, twice (Golub and Van Loan, "Matrix Computations", 4th ed., 10.3.1), so
//! no spurious copies of converged eigenvalues appear: memory 8 m d bytes. It stops
//! early when the Krylov space becomes invariant (beta below 1e-12 of the scale), with
//! then exact nodes.

use faer::{Mat, Side};

/// Why a quadrature could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuadratureError {
    #[error("Lanczos steps must be at least 1")]
    NoSteps,
    #[error("the start vector is zero or not finite")]
    BadStart,
    #[error("the operator returned {got} values for a vector of {expected}")]
    Length { got: usize, expected: usize },
    #[error("the operator returned a non-finite value at Lanczos step {0}")]
    NonFinite(usize),
    #[error("the tridiagonal eigensolver did not converge")]
    NoConvergence,
    #[error("sigma must be positive and finite, not {0}")]
    Sigma(f64),
}

/// The Lanczos tridiagonal T_m: diagonal `alpha` (m) and off-diagonal `beta` (m - 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Tridiagonal {
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

/// Nodes theta_k and weights tau_k of one probe's Gauss quadrature (weights sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `steps` steps of Lanczos (at most `start.len()`) on the symmetric operator `apply`,
/// started at `start` (normalised here), with full reorthogonalisation. The operator's
/// error type passes through; `Err(Right)` is the iteration's own.
pub fn lanczos_tridiagonal<E>(
    start: &[f64],
    steps: usize,
    mut apply: impl FnMut(&[f64]) -> Result<Vec<f64>, E>,
) -> Result<Result<Tridiagonal, QuadratureError>, E> {
    let d = start.len();
    if steps == 0 {
        return Ok(Err(QuadratureError::NoSteps));
    }
    let n0 = dot(start, start).sqrt();
    if !(n0.is_finite() && n0 > 0.0) {
        return Ok(Err(QuadratureError::BadStart));
    }
    let m = steps.min(d);
    let mut basis: Vec<Vec<f64>> = vec![start.iter().map(|x| x / n0).collect()];
    let (mut alpha, mut beta) = (Vec::with_capacity(m), Vec::with_capacity(m));
    let mut scale = 0.0f64;
    for j in 0..m {
        let mut w = apply(&basis[j])?;
        if w.len() != d {
            return Ok(Err(QuadratureError::Length {
                got: w.len(),
                expected: d,
            }));
        }
        if w.iter().any(|x| !x.is_finite()) {
            return Ok(Err(QuadratureError::NonFinite(j)));
        }
        let a = dot(&w, &basis[j]);
        alpha.push(a);
        scale = scale.max(a.abs());
        if j + 1 == m {
            break;
        }
        // w -= a q_j + b_{j-1} q_{j-1}, then twice against every earlier vector.
        for (x, q) in w.iter_mut().zip(&basis[j]) {
            *x -= a * q;
        }
        if j > 0 {
            let b: f64 = beta[j - 1];
            for (x, q) in w.iter_mut().zip(&basis[j - 1]) {
                *x -= b * q;
            }
        }
        for _ in 0..2 {
            for q in &basis {
                let c = dot(&w, q);
                for (x, qi) in w.iter_mut().zip(q) {
                    *x -= c * qi;
                }
            }
        }
        let b = dot(&w, &w).sqrt();
        scale = scale.max(b);
        if b <= 1e-12 * scale.max(f64::MIN_POSITIVE) {
            break; // invariant subspace: the nodes so far are exact
        }
        beta.push(b);
        basis.push(w.iter().map(|x| x / b).collect());
    }
    Ok(Ok(Tridiagonal { alpha, beta }))
}

/// The Gauss quadrature of a Lanczos tridiagonal (Golub-Welsch): nodes = eigenvalues of
/// T, weights = squared first components of its unit eigenvectors; ascending nodes.
pub fn gauss_quadrature(t: &Tridiagonal) -> Result<Quadrature, QuadratureError> {
    let m = t.alpha.len();
    let mat = Mat::<f64>::from_fn(m, m, |i, j| {
        if i == j {
            t.alpha[i]
        } else if i == j + 1 {
            t.beta[j]
        } else if j == i + 1 {
            t.beta[i]
        } else {
            0.0
        }
    });
    let eig = mat
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| QuadratureError::NoConvergence)?;
    let (s, u) = (eig.S(), eig.U());
    let mut pairs: Vec<(f64, f64)> = (0..m)
        .map(|k| {
            let first = u[(0, k)];
            (s[k], first * first)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Quadrature {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    })
}

/// The broadened density on `grid`: the mean over probes of sum_k tau_k g_sigma(t -
/// theta_k) (per unit of t; integrates to 1 over the real line).
pub fn gaussian_density(
    probes: &[Quadrature],
    grid: &[f64],
    sigma: f64,
) -> Result<Vec<f64>, QuadratureError> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(QuadratureError::Sigma(sigma));
    }
    let norm = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt() * probes.len().max(1) as f64);
    Ok(grid
        .iter()
        .map(|&t| {
            probes
                .iter()
                .flat_map(|q| q.nodes.iter().zip(&q.weights))
                .map(|(&theta, &tau)| {
                    let z = (t - theta) / sigma;
                    tau * (-0.5 * z * z).exp()
                })
                .sum::<f64>()
                * norm
        })
        .collect())
}

/// `points` equally spaced values from `lo` to `hi` inclusive.
pub fn linear_grid(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    match points {
        0 => Vec::new(),
        1 => vec![lo],
        _ => (0..points)
            .map(|i| lo + (hi - lo) * i as f64 / (points - 1) as f64)
            .collect(),
    }
}

/// The pooled quadrature of several probes: all nodes, weights divided by the probe
/// count (a discrete distribution summing to 1), ascending.
pub fn pooled(probes: &[Quadrature]) -> Quadrature {
    let n = probes.len().max(1) as f64;
    let mut pairs: Vec<(f64, f64)> = probes
        .iter()
        .flat_map(|q| q.nodes.iter().copied().zip(q.weights.iter().map(|w| w / n)))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Quadrature {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    }
}

/// The Wasserstein-1 (earth mover's) distance between two discrete distributions on the
/// real line, each given by ascending nodes and weights summing to 1: the integral of
/// |F_a(t) - F_b(t)| dt between their distribution functions (in the eigenvalues' units).
pub fn wasserstein1(a: &Quadrature, b: &Quadrature) -> f64 {
    let mut events: Vec<(f64, f64)> = a
        .nodes
        .iter()
        .zip(&a.weights)
        .map(|(&x, &w)| (x, w))
        .chain(b.nodes.iter().zip(&b.weights).map(|(&x, &w)| (x, -w)))
        .collect();
    events.sort_by(|p, q| p.0.total_cmp(&q.0));
    let (mut diff, mut dist) = (0.0, 0.0);
    for pair in events.windows(2) {
        diff += pair[0].1;
        dist += diff.abs() * (pair[1].0 - pair[0].0);
    }
    dist
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand_distr::{Distribution, StandardNormal};

    /// A = Q diag(lambda) Q' with Q a product of Householder reflections: a dense matrix
    /// with a spectrum known exactly.
    fn known_matrix(lambda: &[f64], seed: u64) -> Vec<Vec<f64>> {
        let d = lambda.len();
        let mut r = rng::seeded(seed);
        let mut a: Vec<Vec<f64>> = (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| if i == j { lambda[i] } else { 0.0 })
                    .collect()
            })
            .collect();
        for _ in 0..3 {
            let h: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
            let hh = dot(&h, &h);
            // A <- P A P with P = I - 2 h h' / h'h
            let reflect = |v: &mut Vec<f64>| {
                let c = 2.0 * dot(v, &h) / hh;
                for (x, y) in v.iter_mut().zip(&h) {
                    *x -= c * y;
                }
            };
            for row in a.iter_mut() {
                reflect(row);
            }
            for j in 0..d {
                let mut col: Vec<f64> = (0..d).map(|i| a[i][j]).collect();
                reflect(&mut col);
                for i in 0..d {
                    a[i][j] = col[i];
                }
            }
        }
        a
    }

    fn matvec(a: &[Vec<f64>], v: &[f64]) -> Result<Vec<f64>, std::convert::Infallible> {
        Ok(a.iter().map(|row| dot(row, v)).collect())
    }

    fn probe(d: usize, seed: u64) -> Vec<f64> {
        let mut r = rng::seeded(seed);
        (0..d).map(|_| StandardNormal.sample(&mut r)).collect()
    }

    #[test]
    fn quadrature_is_exact_for_polynomials_up_to_degree_2m_minus_1() {
        let lambda: Vec<f64> = (0..60)
            .map(|i| -2.0 + 0.1 * i as f64 + if i > 55 { 5.0 } else { 0.0 })
            .collect();
        let a = known_matrix(&lambda, 1);
        let v = probe(60, 2);
        let nv = dot(&v, &v).sqrt();
        let u: Vec<f64> = v.iter().map(|x| x / nv).collect();
        let m = 8;
        let t = lanczos_tridiagonal(&v, m, |x| matvec(&a, x))
            .unwrap()
            .unwrap();
        let q = gauss_quadrature(&t).unwrap();
        assert_eq!(q.nodes.len(), m);
        // v' A^j v by repeated products, against sum_k tau_k theta_k^j.
        let mut w = u.clone();
        for j in 0..2 * m {
            let exact = dot(&u, &w);
            let quad: f64 = q
                .nodes
                .iter()
                .zip(&q.weights)
                .map(|(t, tau)| tau * t.powi(j as i32))
                .sum();
            assert!(
                (quad - exact).abs() <= 1e-9 * exact.abs().max(1.0),
                "degree {j}: {quad} vs {exact}"
            );
            w = matvec(&a, &w).unwrap();
        }
    }

    #[test]
    fn full_lanczos_recovers_the_spectrum_and_the_probe_weights() {
        // With m = d the nodes are the eigenvalues and tau_i = (q_i' v)^2: for A diagonal,
        // q_i = e_i, so tau_i = v_i^2 / |v|^2 exactly.
        let lambda: Vec<f64> = (0..20).map(|i| (i as f64 - 5.0) * 0.7).collect();
        let a: Vec<Vec<f64>> = (0..20)
            .map(|i| {
                (0..20)
                    .map(|j| if i == j { lambda[i] } else { 0.0 })
                    .collect()
            })
            .collect();
        let v = probe(20, 5);
        let nv2 = dot(&v, &v);
        let q = gauss_quadrature(
            &lanczos_tridiagonal(&v, 20, |x| matvec(&a, x))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        for (i, (node, w)) in q.nodes.iter().zip(&q.weights).enumerate() {
            assert!((node - lambda[i]).abs() < 1e-10, "{node} vs {}", lambda[i]);
            assert!(
                (w - v[i] * v[i] / nv2).abs() < 1e-10,
                "{w} vs {}",
                v[i] * v[i] / nv2
            );
        }
        assert!((q.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn slq_density_approaches_the_exact_broadened_density() {
        // Two clusters and outliers, as Hessians of trained networks show.
        let d = 200;
        let lambda: Vec<f64> = (0..d)
            .map(|i| match i {
                0..=149 => 0.01 * (i as f64 - 75.0) / 75.0,
                150..=194 => 1.0 + 0.002 * i as f64,
                _ => 8.0 + i as f64 - 195.0,
            })
            .collect();
        let a = known_matrix(&lambda, 9);
        let probes: Vec<Quadrature> = (0..20)
            .map(|l| {
                let v = probe(d, 100 + l);
                gauss_quadrature(
                    &lanczos_tridiagonal(&v, 40, |x| matvec(&a, x))
                        .unwrap()
                        .unwrap(),
                )
                .unwrap()
            })
            .collect();
        let sigma = 0.2;
        let grid = linear_grid(-1.0, 14.0, 1501);
        let est = gaussian_density(&probes, &grid, sigma).unwrap();
        let exact = gaussian_density(
            &[Quadrature {
                nodes: lambda.clone(),
                weights: vec![1.0 / d as f64; d],
            }],
            &grid,
            sigma,
        )
        .unwrap();
        let h = grid[1] - grid[0];
        let l1: f64 = est
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            * h;
        let mass: f64 = est.iter().sum::<f64>() * h;
        assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
        // Measured: L1 0.025, W1 0.063 (20 probes of 40 steps, d = 200); bounds twice that.
        assert!(l1 < 0.05, "L1 distance {l1}");
        let exact_q = Quadrature {
            nodes: lambda.clone(),
            weights: vec![1.0 / d as f64; d],
        };
        let w1 = wasserstein1(&pooled(&probes), &exact_q);
        assert!(w1 < 0.13, "W1 {w1}");
    }

    #[test]
    fn wasserstein_of_shifted_point_masses() {
        let a = Quadrature {
            nodes: vec![0.0, 1.0],
            weights: vec![0.5, 0.5],
        };
        let b = Quadrature {
            nodes: vec![0.5, 1.5],
            weights: vec![0.5, 0.5],
        };
        assert!((wasserstein1(&a, &b) - 0.5).abs() < 1e-15);
        assert_eq!(wasserstein1(&a, &a), 0.0);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let id = |x: &[f64]| -> Result<Vec<f64>, ()> { Ok(x.to_vec()) };
        assert_eq!(
            lanczos_tridiagonal(&[1.0, 2.0], 0, id).unwrap(),
            Err(QuadratureError::NoSteps)
        );
        assert_eq!(
            lanczos_tridiagonal(&[0.0, 0.0], 2, id).unwrap(),
            Err(QuadratureError::BadStart)
        );
        let nan = |_: &[f64]| -> Result<Vec<f64>, ()> { Ok(vec![f64::NAN, 0.0]) };
        assert_eq!(
            lanczos_tridiagonal(&[1.0, 0.0], 2, nan).unwrap(),
            Err(QuadratureError::NonFinite(0))
        );
        assert_eq!(
            gaussian_density(&[], &[0.0], 0.0),
            Err(QuadratureError::Sigma(0.0))
        );
        // The identity: an invariant subspace after one step, one exact node.
        let t = lanczos_tridiagonal(&[1.0, 2.0, 3.0], 3, id)
            .unwrap()
            .unwrap();
        assert_eq!(t.alpha.len(), 1);
        let q = gauss_quadrature(&t).unwrap();
        assert!((q.nodes[0] - 1.0).abs() < 1e-15 && (q.weights[0] - 1.0).abs() < 1e-15);
    }
}
