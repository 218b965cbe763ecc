//! Small derivative-free optimisers for the alternative-distribution fits.
//!
//! The `powerlaw` package fits every alternative with scipy's Nelder-Mead at `tol = 1e-4`
//! (its `Distribution.fit`), so its likelihoods are only as good as that tolerance. Here
//! the same simplex method runs to near machine precision and is restarted from its own
//! optimum until a restart no longer improves the objective (the standard remedy for
//! Nelder-Mead's premature collapse, Nelder and Mead 1965; Gao and Han 2012), and the
//! one-parameter problems use Brent's bracketing root finder on the score equation.

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

    #[test]
    fn brent_finds_cube_root() {
        let r = brent_root(|x| x * x * x - 2.0, 0.0, 2.0, 1e-15).unwrap();
        assert!((r - 2f64.cbrt()).abs() < 1e-15);
        assert!(brent_root(|x| x * x + 1.0, -1.0, 1.0, 1e-12).is_none());
    }
}
