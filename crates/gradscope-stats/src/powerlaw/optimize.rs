//! Small derivative-free optimisers for the alternative-distribution fits.
//!
//! The `powerlaw` package fits every alternative with scipy's Nelder-Mead at `tol = 1e-4`
//! (its `Distribution.fit`), so its likelihoods are only as good as that tolerance. Here
//! the same simplex method runs to near machine precision and is restarted from its own
//! optimum until a restart no longer improves the objective (the standard remedy for
//! Nelder-Mead's premature collapse, Nelder and Mead 1965; Gao and Han 2012), and the
//! one-parameter problems use Brent's bracketing root finder on the score equation.
//! Where the parameters themselves are compared with a reference to better than
//! `sqrt(eps)` (the discrete alternatives), Newton's method on the gradient finishes the
//! simplex's work.

/// Outcome of a Nelder-Mead minimisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// Whether the simplex met both tolerances within the iteration budget.
    pub converged: bool,
}

/// Minimise `f` from `x0` with initial simplex steps `step`, restarting from the best point
/// until a restart improves `f` by less than `ftol * (1 + |f|)`.
///
/// Convergence of one run: simplex diameter (per coordinate) below `xtol * (1 + |x|)`
/// and spread of objective values below `ftol * (1 + |f|)`. Non-finite objective values
/// are treated as `+inf`, so infeasible regions simply repel the simplex.
pub(crate) fn nelder_mead<F: Fn(&[f64]) -> f64>(
    f: F,
    x0: &[f64],
    step: &[f64],
    xtol: f64,
    ftol: f64,
    max_evals: usize,
) -> Minimum {
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut best = run_simplex(&eval, x0, step, xtol, ftol, max_evals);
    for _ in 0..8 {
        let small: Vec<f64> = step
            .iter()
            .zip(&best.x)
            .map(|(s, x)| (s * 1e-2).max(1e-4 * (1.0 + x.abs())))
            .collect();
        let again = run_simplex(&eval, &best.x, &small, xtol, ftol, max_evals);
        let gain = best.f - again.f;
        let converged = again.converged;
        if again.f <= best.f {
            best = again;
        }
        if gain <= ftol * (1.0 + best.f.abs()) {
            best.converged = converged && best.converged;
            break;
        }
    }
    best
}

fn run_simplex<F: Fn(&[f64]) -> f64>(
    f: &F,
    x0: &[f64],
    step: &[f64],
    xtol: f64,
    ftol: f64,
    max_evals: usize,
) -> Minimum {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    pts.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step[i];
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| f(p)).collect();
    let mut evals = n + 1;
    let mut converged = false;
    while evals < max_evals {
        // Order the vertices by objective value.
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();

        let f_spread = (vals[n] - vals[0]).abs();
        let x_spread = (1..=n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .all(|(i, j)| (pts[i][j] - pts[0][j]).abs() <= xtol * (1.0 + pts[0][j].abs()));
        if x_spread && f_spread <= ftol * (1.0 + vals[0].abs()) {
            converged = true;
            break;
        }

        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (pts[n][j] - centroid[j]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = f(&xe);
            evals += 1;
            if fe < fr {
                pts[n] = xe;
                vals[n] = fe;
            } else {
                pts[n] = xr;
                vals[n] = fr;
            }
        } else if fr < vals[n - 1] {
            pts[n] = xr;
            vals[n] = fr;
        } else {
            let (xc, fc) = if fr < vals[n] {
                let xc = along(-0.5);
                let fc = f(&xc);
                (xc, fc)
            } else {
                let xc = along(0.5);
                let fc = f(&xc);
                (xc, fc)
            };
            evals += 1;
            if fc < vals[n].min(fr) {
                pts[n] = xc;
                vals[n] = fc;
            } else {
                // Shrink towards the best vertex.
                for i in 1..=n {
                    for j in 0..n {
                        pts[i][j] = pts[0][j] + 0.5 * (pts[i][j] - pts[0][j]);
                    }
                    vals[i] = f(&pts[i]);
                }
                evals += n;
            }
        }
    }
    let (ibest, _) = vals
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .expect("simplex has vertices");
    Minimum {
        x: pts[ibest].clone(),
        f: vals[ibest],
        converged,
    }
}

/// Newton's method on central finite differences, to finish a Nelder-Mead minimum.
///
/// Nelder-Mead stops where the objective's rounding noise hides its curvature, which for
/// a log-likelihood of `n` points leaves the parameters about `sqrt(eps)` (relative)
/// from the stationary point. Newton's method on the gradient does not have that limit:
/// here the gradient comes from the fourth-order stencil
/// `(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / (12 h)` and the Hessian from second
/// differences, with `h_i = step_i (1 + |x_i|)`, so the gradient error is about
/// `eps |f| / h + h^4 |f^(5)|` and the stationary point is reached to that error over the
/// curvature (for the fits here, parameters to about 1e-10 relative; more along a
/// nearly flat ridge, by the Hessian's condition number, which an analytic gradient
/// avoids). Steps are halved until the objective does not rise beyond its noise
/// (`1e-13 (1 + |f|)`); polishing stops when the Hessian is not positive definite (no
/// interior minimum nearby, e.g. a ridge), when no halved step is accepted, or, once a
/// step has been below `1e-9 (1 + |x|)` (`converged`), when the steps stop shrinking by
/// half (the derivatives' noise floor). The result is never worse than `x0` beyond the
/// objective's noise.
///
/// `gradient`, where given, replaces the stencil (an analytic gradient has an error of
/// about `eps` times the sum of its terms' magnitudes instead of `eps |f| / h`, which
/// matters along a nearly flat ridge); the Hessian always comes from differences of `f`.
pub(crate) fn newton_polish<F, G>(f: F, gradient: Option<G>, x0: &[f64], step: &[f64]) -> Minimum
where
    F: Fn(&[f64]) -> f64,
    G: Fn(&[f64]) -> Vec<f64>,
{
    let n = x0.len();
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut x = x0.to_vec();
    let mut fx = eval(&x);
    let mut converged = false;
    if !fx.is_finite() {
        return Minimum {
            x,
            f: fx,
            converged,
        };
    }
    let shifted = |x: &[f64], moves: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, d) in moves {
            y[i] += d;
        }
        eval(&y)
    };
    let mut previous = f64::INFINITY;
    for _ in 0..30 {
        let h: Vec<f64> = (0..n).map(|i| step[i] * (1.0 + x[i].abs())).collect();
        let mut g = vec![0.0; n];
        let mut hess = vec![vec![0.0; n]; n];
        let exact = gradient.as_ref().map(|gf| gf(&x));
        for i in 0..n {
            let fp = shifted(&x, &[(i, h[i])]);
            let fm = shifted(&x, &[(i, -h[i])]);
            g[i] = match &exact {
                Some(e) => e[i],
                None => {
                    let fp2 = shifted(&x, &[(i, 2.0 * h[i])]);
                    let fm2 = shifted(&x, &[(i, -2.0 * h[i])]);
                    (fm2 - 8.0 * fm + 8.0 * fp - fp2) / (12.0 * h[i])
                }
            };
            hess[i][i] = (fp - 2.0 * fx + fm) / (h[i] * h[i]);
            for j in 0..i {
                let v = (shifted(&x, &[(i, h[i]), (j, h[j])])
                    - shifted(&x, &[(i, h[i]), (j, -h[j])])
                    - shifted(&x, &[(i, -h[i]), (j, h[j])])
                    + shifted(&x, &[(i, -h[i]), (j, -h[j])]))
                    / (4.0 * h[i] * h[j]);
                hess[i][j] = v;
                hess[j][i] = v;
            }
        }
        let Some(delta) = cholesky_solve(&hess, &g) else {
            break;
        };
        if delta.iter().any(|d| !d.is_finite()) {
            break;
        }
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..20 {
            let y: Vec<f64> = (0..n).map(|i| x[i] - t * delta[i]).collect();
            let fy = eval(&y);
            if fy <= fx + 1e-13 * (1.0 + fx.abs()) {
                accepted = Some((y, fy));
                break;
            }
            t *= 0.5;
        }
        let Some((y, fy)) = accepted else {
            break;
        };
        let size = (0..n)
            .map(|i| (t * delta[i]).abs() / (1.0 + x[i].abs()))
            .fold(0.0, f64::max);
        x = y;
        fx = fy;
        if size <= 1e-9 {
            converged = true;
        }
        // Past convergence, continue while the steps still shrink (quadratically, until
        // they reach the noise floor of the derivatives).
        if size <= 1e-14 || (converged && size > 0.5 * previous) {
            break;
        }
        previous = size;
    }
    Minimum {
        x,
        f: fx,
        converged,
    }
}

/// Solve `A d = b` for symmetric positive-definite `A` by Cholesky factorisation; `None`
/// when `A` is not positive definite.
fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i][i];
    }
    let mut d = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * d[k]).sum();
        d[i] = (y[i] - s) / l[i][i];
    }
    Some(d)
}

/// Brent's root finder (Brent 1973, ch. 4) on `[a, b]`, which must bracket a sign change
/// of `f`. Returns `None` if it does not. Stops when the bracket is below
/// `2 eps |x| + xtol`.
pub(crate) fn brent_root<F: FnMut(f64) -> f64>(
    mut f: F,
    mut a: f64,
    mut b: f64,
    xtol: f64,
) -> Option<f64> {
    let mut fa = f(a);
    let mut fb = f(b);
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    if fa.signum() == fb.signum() || !fa.is_finite() || !fb.is_finite() {
        return None;
    }
    let mut c = a;
    let mut fc = fa;
    let mut d = b - a;
    let mut e = d;
    for _ in 0..300 {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosenbrock_minimum() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(f, &[-1.2, 1.0], &[0.5, 0.5], 1e-12, 1e-16, 20_000);
        assert!(m.converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-7 && (m.x[1] - 1.0).abs() < 1e-7,
            "{:?}",
            m.x
        );
    }

    /// A gradient function's type, to say "no gradient" (use the stencil).
    type Gradient = fn(&[f64]) -> Vec<f64>;
    const NO_GRADIENT: Option<Gradient> = None;

    #[test]
    fn newton_polish_reaches_the_minimum() {
        // A smooth convex function with minimum at (0.3, -1.2), started off by 1e-3 and
        // scaled up so that its rounding noise is that of a log-likelihood (|f| ~ 1e4).
        let f = |x: &[f64]| {
            let (a, b) = (x[0] - 0.3, x[1] + 1.2);
            1e4 + 2e3 * (a * a + 0.5 * a * b + b * b)
                + 1e3 * (a.powi(4) + (2.0 * b).exp() - 2.0 * b - 1.0)
        };
        let m = newton_polish(f, NO_GRADIENT, &[0.301, -1.199], &[1e-3, 1e-3]);
        assert!(m.converged);
        assert!(
            (m.x[0] - 0.3).abs() < 1e-11 && (m.x[1] + 1.2).abs() < 1e-11,
            "{:?}",
            m.x
        );
        // No interior minimum: a saddle is refused and the start returned.
        let saddle = |x: &[f64]| x[0] * x[0] - x[1] * x[1];
        let m = newton_polish(saddle, NO_GRADIENT, &[0.1, 0.1], &[1e-3, 1e-3]);
        assert!(!m.converged && m.x == vec![0.1, 0.1]);
    }

    #[test]
    fn brent_finds_cube_root() {
        let r = brent_root(|x| x * x * x - 2.0, 0.0, 2.0, 1e-15).unwrap();
        assert!((r - 2f64.cbrt()).abs() < 1e-15);
        assert!(brent_root(|x| x * x + 1.0, -1.0, 1.0, 1e-12).is_none());
    }
}
