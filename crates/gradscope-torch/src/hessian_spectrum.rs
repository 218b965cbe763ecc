//! The top of a symmetric operator's spectrum, and its trace, from matrix-vector products
//! alone (for the Hessian: [`crate::hessian::LossHessian::hvp`]).
//!
//! - [`lanczos`]: the k largest (algebraic) eigenvalues and their eigenvectors by the
//!   Lanczos iteration with full reorthogonalisation (Lanczos 1950; Golub and Van Loan,
//!   "Matrix Computations", 4th ed., sections 10.1 and 10.3.1: each new vector is
//!   orthogonalised against every earlier one, twice, classical Gram-Schmidt, so the basis
//!   stays orthonormal to working precision and no spurious copies of converged
//!   eigenvalues appear). After j steps the Ritz values of the j x j tridiagonal T_j
//!   approximate the extreme eigenvalues; the residual of Ritz pair (theta_i, y_i) is
//!   |beta_j s_{j,i}| (s the eigenvectors of T_j, Golub and Van Loan eq. 10.1.10), and the
//!   iteration stops when it is at most `tol` |theta_i| for each of the top k.
//! - [`power_iteration`]: PyHessian's method (Yao et al., "PyHessian: neural networks
//!   through the lens of the Hessian", 2020, `hessian.eigenvalues`): power iteration on
//!   the operator deflated by orthogonalising against the eigenvectors already found, one
//!   eigenvalue at a time, stopping when the Rayleigh quotient's relative change
//!   |lambda - lambda_prev| / (|lambda_prev| + 1e-6) falls below `tol`. It finds the
//!   eigenvalues largest in magnitude; for trained networks' Hessians these are the top
//!   positive ones.
//! - [`hutchinson_trace`]: tr(A) = E[z^T A z] for z with independent Rademacher entries
//!   (Hutchinson, "A stochastic estimator of the trace of the influence matrix for
//!   Laplacian smoothing splines", 1990); the mean of m draws, with its standard error.
//!
//! Vectors are 1-D f64 tensors on the operator's device; random starts and probes come
//! from the named generator seeded by `seed`, so results are reproducible.

use anyhow::{bail, Result};
use gradscope_stats::lanczos_quadrature::{gauss_quadrature, lanczos_tridiagonal, Quadrature};
use gradscope_stats::rng;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use tch::{Device, Kind, Tensor};

/// Eigenpairs found by an iterative method.
#[derive(Debug)]
pub struct Eigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// Unit eigenvectors as rows (k x d), in the order of `values`.
    pub vectors: Tensor,
    /// Residual norms |A u - lambda u| estimated by the method (Lanczos: |beta s|; power
    /// iteration: the last relative change of the Rayleigh quotient times |lambda|).
    pub residuals: Vec<f64>,
    /// Operator products used.
    pub products: usize,
    /// Whether every requested pair met the tolerance.
    pub converged: bool,
}

fn gaussian(d: usize, seed: u64, stream: u64, device: Device) -> Result<Tensor> {
    let mut r = rng::stream(seed, stream);
    let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
    Ok(Tensor::f_from_slice(&v)?.f_to_device(device)?)
}

fn norm(v: &Tensor) -> Result<f64> {
    Ok(v.f_norm()?.f_double_value(&[])?)
}

fn dot(a: &Tensor, b: &Tensor) -> Result<f64> {
    Ok(a.f_dot(b)?.f_double_value(&[])?)
}

/// Top-`k` eigenpairs of the symmetric d x d operator `apply` by Lanczos with full
/// reorthogonalisation, at most `max_iter` products (capped at d), stopping when the top-k
/// Ritz residuals are at most `tol` times their Ritz values' magnitudes.
pub fn lanczos(
    d: usize,
    k: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    device: Device,
    apply: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Eigen> {
    let start = gaussian(d, seed, 0, device)?;
    lanczos_from(&start, k, max_iter, tol, apply)
}

/// [`lanczos`] started at `start` (a flat f64 vector of the operator's dimension, on its
/// device; normalised here) instead of a random vector: a warm start from a nearby
/// operator's eigenvector converges in a few products.
pub fn lanczos_from(
    start: &Tensor,
    k: usize,
    max_iter: usize,
    tol: f64,
    mut apply: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Eigen> {
    let d = start.numel();
    let device = start.device();
    if k == 0 || k > d {
        bail!("Lanczos: asked for {k} eigenvalues of a {d} x {d} operator");
    }
    let start_norm = norm(start)?;
    if !(start_norm.is_finite() && start_norm > 0.0) {
        bail!("Lanczos: the start vector is zero or not finite");
    }
    let m = max_iter.min(d).max(k);
    let opts = (Kind::Double, device);
    // the Lanczos vectors as rows, in a buffer that doubles when full (memory grows with
    // the iterations actually taken, not with max_iter)
    let mut basis = Tensor::f_zeros([m.min(16) as i64, d as i64], opts)?;
    let q = start.f_to_kind(Kind::Double)?.f_div_scalar(start_norm)?;
    basis.f_get(0)?.f_copy_(&q)?;
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut products = 0;
    let mut ritz: (Vec<f64>, Vec<Vec<f64>>, Vec<f64>) = (vec![], vec![], vec![]);
    let mut converged = false;
    for j in 0..m {
        let qj = basis.f_get(j as i64)?;
        let mut w = apply(&qj)?;
        products += 1;
        alpha.push(dot(&qj, &w)?);
        // full reorthogonalisation against q_0..q_j, twice
        let qs = basis.f_narrow(0, 0, j as i64 + 1)?;
        for _ in 0..2 {
            let c = qs.f_mv(&w)?;
            w = w.f_sub(&qs.f_transpose(0, 1)?.f_mv(&c)?)?;
        }
        let b = norm(&w)?;
        // Ritz pairs of T_{j+1}
        let size = j + 1;
        let mut t = vec![0.0f64; size * size];
        for i in 0..size {
            t[i * size + i] = alpha[i];
            if i + 1 < size {
                t[i * size + i + 1] = beta[i];
                t[(i + 1) * size + i] = beta[i];
            }
        }
        let tt = Tensor::f_from_slice(&t)?.f_view([size as i64, size as i64])?;
        let (vals, vecs) = tt.f_linalg_eigh("L")?;
        let vals: Vec<f64> = Vec::<f64>::try_from(&vals)?;
        let vecs: Vec<f64> = Vec::<f64>::try_from(&vecs.f_contiguous()?.f_view([-1])?)?;
        // largest first
        let take = k.min(size);
        let mut values = Vec::with_capacity(take);
        let mut coeffs = Vec::with_capacity(take);
        let mut resid = Vec::with_capacity(take);
        for r in 0..take {
            let col = size - 1 - r;
            values.push(vals[col]);
            let s: Vec<f64> = (0..size).map(|i| vecs[i * size + col]).collect();
            resid.push((b * s[size - 1]).abs());
            coeffs.push(s);
        }
        let scale = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let invariant = b <= 1e-12 * scale.max(f64::MIN_POSITIVE);
        converged = take == k
            && (invariant
                || values
                    .iter()
                    .zip(&resid)
                    .all(|(v, r)| *r <= tol * v.abs().max(1e-12 * scale)));
        ritz = (values, coeffs, resid);
        if converged || invariant || j + 1 == m {
            break;
        }
        beta.push(b);
        if basis.size()[0] == j as i64 + 1 {
            let grown = Tensor::f_zeros([(2 * (j + 1)).min(m) as i64, d as i64], opts)?;
            grown.f_narrow(0, 0, j as i64 + 1)?.f_copy_(&basis)?;
            basis = grown;
        }
        basis.f_get(j as i64 + 1)?.f_copy_(&w.f_div_scalar(b)?)?;
    }
    let (values, coeffs, residuals) = ritz;
    let size = coeffs.first().map(|c| c.len()).unwrap_or(0) as i64;
    let qs = basis.f_narrow(0, 0, size)?;
    let mut rows = Vec::with_capacity(values.len());
    for s in &coeffs {
        let s = Tensor::f_from_slice(s)?.f_to_device(device)?;
        let u = qs.f_transpose(0, 1)?.f_mv(&s)?;
        let u = u.f_div_scalar(norm(&u)?)?;
        rows.push(u);
    }
    Ok(Eigen {
        values,
        vectors: Tensor::f_stack(&rows, 0)?,
        residuals,
        products,
        converged,
    })
}

/// Top-`k` eigenpairs by power iteration with deflation, as PyHessian computes them
/// (`max_iter` products per eigenvalue at most, relative-change tolerance `tol`).
pub fn power_iteration(
    d: usize,
    k: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    device: Device,
    mut apply: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Eigen> {
    if k == 0 || k > d {
        bail!("power iteration: asked for {k} eigenvalues of a {d} x {d} operator");
    }
    let mut values = Vec::new();
    let mut vectors: Vec<Tensor> = Vec::new();
    let mut residuals = Vec::new();
    let mut products = 0;
    let mut converged = true;
    for i in 0..k {
        let mut v = gaussian(d, seed, 1 + i as u64, device)?;
        v = v.f_div_scalar(norm(&v)?)?;
        let mut eig: Option<f64> = None;
        let mut change = f64::INFINITY;
        let mut done = false;
        for _ in 0..max_iter.max(1) {
            // orthonormalise against the eigenvectors found (PyHessian's orthnormal)
            for u in &vectors {
                v = v.f_sub(&u.f_mul_scalar(dot(&v, u)?)?)?;
            }
            v = v.f_div_scalar(norm(&v)?.max(f64::MIN_POSITIVE))?;
            let hv = apply(&v)?;
            products += 1;
            let tmp = dot(&hv, &v)?;
            v = hv.f_div_scalar(norm(&hv)?.max(f64::MIN_POSITIVE))?;
            match eig {
                None => eig = Some(tmp),
                Some(e) => {
                    change = (e - tmp).abs() / (e.abs() + 1e-6);
                    eig = Some(tmp);
                    if change < tol {
                        done = true;
                        break;
                    }
                }
            }
        }
        converged &= done;
        let e = eig.unwrap_or(f64::NAN);
        values.push(e);
        residuals.push(change * e.abs());
        vectors.push(v);
    }
    Ok(Eigen {
        values,
        vectors: Tensor::f_stack(&vectors, 0)?,
        residuals,
        products,
        converged,
    })
}

/// Stochastic Lanczos quadrature (see `gradscope_stats::lanczos_quadrature` for the
/// method and its sources): for each of `probes` seeded Gaussian start vectors, `steps`
/// Lanczos steps with full reorthogonalisation on `apply`, and the Gauss quadrature of the
/// tridiagonal (nodes = its eigenvalues, weights = the squared first components of its
/// eigenvectors). Vectors cross between libtorch and the quadrature code as f64 slices;
/// one product costs far more than the copy. Memory: `steps` vectors of `d` f64.
pub fn stochastic_lanczos_quadrature(
    d: usize,
    probes: usize,
    steps: usize,
    seed: u64,
    device: Device,
    mut apply: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Vec<Quadrature>> {
    if probes == 0 || steps == 0 {
        bail!("stochastic Lanczos quadrature needs at least one probe and one step (got {probes} and {steps})");
    }
    let mut out = Vec::with_capacity(probes);
    for l in 0..probes {
        let mut r = rng::stream(seed, (1u64 << 61) | l as u64);
        let start: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
        let t = lanczos_tridiagonal(&start, steps, |v| -> Result<Vec<f64>> {
            let v = Tensor::f_from_slice(v)?.f_to_device(device)?;
            let hv = apply(&v)?
                .f_to_device(Device::Cpu)?
                .f_to_kind(Kind::Double)?;
            Ok(Vec::<f64>::try_from(&hv)?)
        })??;
        out.push(gauss_quadrature(&t)?);
    }
    Ok(out)
}

/// Hutchinson's trace estimate from `m` Rademacher probes: (mean, standard error).
pub fn hutchinson_trace(
    d: usize,
    m: usize,
    seed: u64,
    device: Device,
    mut apply: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<(f64, f64)> {
    if m == 0 {
        bail!("Hutchinson's estimator needs at least one probe");
    }
    let mut draws = Vec::with_capacity(m);
    for i in 0..m {
        let mut r = rng::stream(seed, (1u64 << 62) | i as u64);
        let z: Vec<f64> = (0..d)
            .map(|_| if r.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let z = Tensor::f_from_slice(&z)?.f_to_device(device)?;
        draws.push(dot(&z, &apply(&z)?)?);
    }
    let mean = draws.iter().sum::<f64>() / m as f64;
    let se = if m > 1 {
        (draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1) as f64 / m as f64).sqrt()
    } else {
        f64::NAN
    };
    Ok((mean, se))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hessian::tests::tiny;
    use crate::hessian::LossHessian;
    use gradscope_stats::lanczos_quadrature::{
        gaussian_density, linear_grid, pooled, wasserstein1,
    };

    /// SLQ on the exact Hessian of a small network (163 parameters, 64 examples) against
    /// the eigenvalues of its dense Hessian (libtorch's `linalg_eigh`): the pooled
    /// quadrature and the exact spectrum are close in Wasserstein-1 distance, and their
    /// Gaussian-broadened densities in L1. With steps = d the nodes of every probe are
    /// the exact eigenvalues (up to Lanczos's rounding).
    #[test]
    fn slq_density_matches_the_dense_hessians_spectrum() {
        let (m, x, y) = tiny(4, 8, 64);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let d = h.dim();
        let dense = h.dense().unwrap();
        let sym = (&dense + dense.transpose(0, 1)) * 0.5;
        let (ev, _) = sym.linalg_eigh("L");
        let mut exact: Vec<f64> = Vec::<f64>::try_from(&ev).unwrap();
        exact.sort_by(f64::total_cmp);
        let exact_q = Quadrature {
            nodes: exact.clone(),
            weights: vec![1.0 / d as f64; d],
        };
        let probes =
            stochastic_lanczos_quadrature(d, 30, 40, 7, Device::Cpu, |v| h.hvp(v)).unwrap();
        assert_eq!(probes.len(), 30);
        for q in &probes {
            assert!((q.weights.iter().sum::<f64>() - 1.0).abs() < 1e-10);
        }
        let spread = exact[d - 1] - exact[0];
        let w1 = wasserstein1(&pooled(&probes), &exact_q);
        let sigma = 0.02 * spread;
        let grid = linear_grid(exact[0] - 5.0 * sigma, exact[d - 1] + 5.0 * sigma, 2001);
        let est = gaussian_density(&probes, &grid, sigma).unwrap();
        let want = gaussian_density(std::slice::from_ref(&exact_q), &grid, sigma).unwrap();
        let step = grid[1] - grid[0];
        let l1: f64 = est
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            * step;
        // Measured: W1 2.67e-3 on a spread of 0.771 (0.35%), L1 0.031; bounds about twice.
        assert!(w1 < 0.007 * spread, "W1 {w1} against a spread of {spread}");
        assert!(l1 < 0.07, "L1 {l1}");
        // d steps: every probe's nodes are the exact eigenvalues it sees. The network is
        // float32, so both the dense Hessian and every product carry float32 rounding
        // whose summation order follows libtorch's threads: one CI run differed by 1.8e-8
        // relative, others by less; the bound is a few float32 ulps (eps = 1.19e-7).
        let full = stochastic_lanczos_quadrature(d, 1, d, 9, Device::Cpu, |v| h.hvp(v)).unwrap();
        let top = full[0].nodes.last().copied().unwrap();
        assert!(
            (top - exact[d - 1]).abs() < 5e-7 * exact[d - 1].abs(),
            "{top} vs {}",
            exact[d - 1]
        );
        assert!(stochastic_lanczos_quadrature(d, 0, 5, 1, Device::Cpu, |v| h.hvp(v)).is_err());
    }

    /// A symmetric matrix with known spectrum: Q diag(lambda) Q^T, Q from a QR of a
    /// seeded Gaussian matrix.
    fn known(d: i64, lambda: &[f64]) -> Tensor {
        tch::manual_seed(5);
        let g = Tensor::randn([d, d], (Kind::Double, Device::Cpu));
        let (q, _) = Tensor::linalg_qr(&g, "reduced");
        let l = Tensor::from_slice(lambda);
        q.matmul(&l.diag(0)).matmul(&q.transpose(0, 1))
    }

    #[test]
    fn lanczos_and_power_iteration_find_a_known_spectrum() {
        let d = 60;
        let mut lambda: Vec<f64> = (0..d).map(|i| 1.0 / (1.0 + i as f64)).collect();
        lambda[0] = 10.0;
        lambda[1] = 7.0;
        lambda[2] = -0.5;
        let a = known(d as i64, &lambda);
        let mut want = lambda.clone();
        want.sort_by(|x, y| y.partial_cmp(x).unwrap());
        let e = lanczos(d, 5, 60, 1e-10, 1, Device::Cpu, |v| Ok(a.mv(v))).unwrap();
        assert!(e.converged);
        for i in 0..5 {
            assert!(
                (e.values[i] - want[i]).abs() < 1e-9 * want[i].abs(),
                "{i}: {} vs {}",
                e.values[i],
                want[i]
            );
            // A u = lambda u
            let u = e.vectors.get(i as i64);
            let r = (a.mv(&u) - &u * e.values[i]).norm().double_value(&[]);
            assert!(r < 1e-7, "{r}");
        }
        let p = power_iteration(d, 2, 1000, 1e-12, 1, Device::Cpu, |v| Ok(a.mv(v))).unwrap();
        assert!(
            (p.values[0] - 10.0).abs() < 1e-9 && (p.values[1] - 7.0).abs() < 1e-9,
            "{:?}",
            p.values
        );
        // the trace of A is the sum of lambda; Hutchinson's estimate is within 4 standard errors
        let tr: f64 = lambda.iter().sum();
        let (est, se) = hutchinson_trace(d, 400, 3, Device::Cpu, |v| Ok(a.mv(v))).unwrap();
        assert!((est - tr).abs() < 4.0 * se, "{est} +- {se} vs {tr}");
        assert!(lanczos(d, 0, 10, 1e-3, 0, Device::Cpu, |v| Ok(a.mv(v))).is_err());
    }

    /// On a diagonal matrix Rademacher probes are exact: z^T D z = tr(D) for every z.
    #[test]
    fn hutchinson_is_exact_for_diagonal_operators() {
        let diag = Tensor::from_slice(&[1.0f64, 2.0, -0.5, 4.0]);
        let (est, se) = hutchinson_trace(4, 10, 0, Device::Cpu, |v| Ok(v * &diag)).unwrap();
        assert!((est - 6.5).abs() < 1e-12 && se < 1e-12);
    }

    /// The walk study's quantities need the Hessian's top eigenvalues: Lanczos through our
    /// Hessian-vector products against libtorch's dense eigensolver (LAPACK syevd via
    /// linalg_eigh) on the full Hessian of a tiny MLP (187 parameters), built column by
    /// column from the same products and symmetrised.
    #[test]
    fn lanczos_on_a_model_hessian_matches_the_dense_eigensolver() {
        let (m, x, y) = tiny(6, 8, 128);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let d = h.dim();
        let dense = h.dense().unwrap();
        let sym = (&dense + dense.transpose(0, 1)) * 0.5;
        let (vals, _) = sym.linalg_eigh("L");
        let vals: Vec<f64> = Vec::<f64>::try_from(&vals).unwrap();
        let top: Vec<f64> = vals.iter().rev().take(6).copied().collect();
        let e = lanczos(d, 6, d, 1e-8, 2, Device::Cpu, |v| h.hvp(v)).unwrap();
        assert!(e.converged, "{:?}", e.residuals);
        for i in 0..6 {
            let rel = (e.values[i] - top[i]).abs() / top[0].abs();
            assert!(
                rel < 1e-5,
                "eigenvalue {i}: lanczos {} dense {} rel {rel}",
                e.values[i],
                top[i]
            );
        }
        // and power iteration (PyHessian) agrees on the top 3 at its usual tolerance
        let p = power_iteration(d, 3, 1000, 1e-6, 2, Device::Cpu, |v| h.hvp(v)).unwrap();
        for i in 0..3 {
            let rel = (p.values[i] - top[i]).abs() / top[0].abs();
            assert!(rel < 1e-3, "power {i}: {} vs {}", p.values[i], top[i]);
        }
        let trace: f64 = vals.iter().sum();
        let (est, se) = hutchinson_trace(d, 200, 4, Device::Cpu, |v| h.hvp(v)).unwrap();
        assert!((est - trace).abs() < 4.0 * se, "{est} +- {se} vs {trace}");
    }
}
