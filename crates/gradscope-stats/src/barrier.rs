//! Barriers along the line between two consecutive SGD iterates (the walk study).
//!
//! The walk study ("A walk with SGD", section 2 and Table 1) evaluates the training loss
//! at points theta(alpha) = (1 - alpha) theta_t + alpha theta_{t+1}, alpha uniformly
//! spaced in [0, 1], and says a *barrier is crossed* at step t when some interpolated
//! point has a loss higher than the loss at both ends:
//!
//! ```text
//! barrier  <=>  exists 0 < alpha < 1:  L(theta(alpha)) > max(L(theta_t), L(theta_{t+1}))
//! ```
//!
//! Figure 4's caption defines the height of such a barrier as
//!
//! ```text
//! height = (L(theta_t) + L(theta_{t+1}) - 2 L(theta_t^min)) / 2
//! ```
//!
//! with theta_t^min the point of lowest loss on the interpolation (the ends included): the
//! depth of the valley below the mean of the two ends. We report it, as the caption
//! does, for the steps that have a barrier (NaN for the others).
//!
//! The minimum of each interpolation is the *valley floor* (the dashed orange line of the
//! study's Figure 1). Section 3 argues that when the floor of step t+1 lies above the floor
//! of step t (l_AB < l_BC in its three-point construction), every path between the two
//! floor points must climb: SGD has *moved over* a barrier rather than crossed it.
//!
//! Everything here is a pure function of the evaluated losses, so it is tested without a
//! network.

/// What one interpolation between consecutive iterates shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interpolation {
    /// Loss at alpha = 0 (the parameters before the update).
    pub loss_start: f64,
    /// Loss at alpha = 1 (after the update).
    pub loss_end: f64,
    /// The valley floor: the lowest loss on the interpolation, ends included.
    pub loss_min: f64,
    /// Where the floor lies (the first alpha attaining it).
    pub alpha_min: f64,
    /// The highest loss at an interior point (NaN without interior points).
    pub loss_max_interior: f64,
    /// Where the interior maximum lies.
    pub alpha_max_interior: f64,
    /// Some interior point exceeds both ends by more than the tolerance.
    pub barrier: bool,
    /// Figure 4's height (L_start + L_end - 2 L_min) / 2 when `barrier`, else NaN.
    pub barrier_height: f64,
}

/// Analyses the losses `loss[i]` at `alpha[i]` (increasing, alpha[0] = 0 and the last 1).
///
/// `tol` >= 0 is the margin an interior loss must exceed the higher end by to count as a
/// barrier (0: the study's strict definition; a positive margin discounts evaluation
/// noise). Panics if the slices differ in length or hold fewer than two points (a
/// programming error, not user input).
pub fn analyse(alpha: &[f64], loss: &[f64], tol: f64) -> Interpolation {
    assert_eq!(alpha.len(), loss.len(), "alpha and loss lengths differ");
    assert!(loss.len() >= 2, "an interpolation needs its two ends");
    let n = loss.len();
    let (loss_start, loss_end) = (loss[0], loss[n - 1]);
    let (mut loss_min, mut alpha_min) = (f64::INFINITY, f64::NAN);
    for (&a, &l) in alpha.iter().zip(loss) {
        if l < loss_min {
            loss_min = l;
            alpha_min = a;
        }
    }
    let (mut loss_max_interior, mut alpha_max_interior) = (f64::NAN, f64::NAN);
    for i in 1..n - 1 {
        if loss_max_interior.is_nan() || loss[i] > loss_max_interior {
            loss_max_interior = loss[i];
            alpha_max_interior = alpha[i];
        }
    }
    let top = loss_start.max(loss_end);
    let barrier = loss_max_interior.is_finite() && loss_max_interior > top + tol;
    let barrier_height = if barrier {
        (loss_start + loss_end - 2.0 * loss_min) / 2.0
    } else {
        f64::NAN
    };
    Interpolation {
        loss_start,
        loss_end,
        loss_min,
        alpha_min,
        loss_max_interior,
        alpha_max_interior,
        barrier,
        barrier_height,
    }
}

/// The `k` + 2 interpolation coefficients 0, 1/(k+1), ..., 1: the two ends and `k` points
/// uniformly spaced between them (the study uses k = 10).
pub fn alphas(k: usize) -> Vec<f64> {
    let m = k + 1;
    (0..=m).map(|i| i as f64 / m as f64).collect()
}

/// Section 3's "moved over a barrier" events along a run of consecutive steps: entry t
/// is true when the valley floor of step t lies above that of step t - 1 (false for the
/// first step, which has no predecessor).
pub fn moved_over(floors: &[f64]) -> Vec<bool> {
    let mut out = vec![false; floors.len()];
    for t in 1..floors.len() {
        out[t] = floors[t] > floors[t - 1];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(f: impl Fn(f64) -> f64, k: usize) -> (Vec<f64>, Vec<f64>) {
        let a = alphas(k);
        let l = a.iter().map(|&x| f(x)).collect();
        (a, l)
    }

    #[test]
    fn alphas_are_the_ends_and_k_interior_points() {
        assert_eq!(alphas(0), vec![0.0, 1.0]);
        assert_eq!(alphas(3), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(alphas(10).len(), 12);
    }

    /// A convex quadratic restricted to a segment is convex in alpha, so no interior point
    /// can exceed both ends: for thousands of random segments of random positive-definite
    /// quadratics (d = 5), no barrier is ever reported, at any k.
    #[test]
    fn convex_quadratic_never_has_a_barrier() {
        use rand::Rng as _;
        let mut r = crate::rng::seeded(11);
        for trial in 0..4000 {
            let d = 5;
            // H = A^T A + 0.01 I, L(x) = 0.5 (x - c)^T H (x - c)
            let a: Vec<f64> = (0..d * d).map(|_| r.random::<f64>() - 0.5).collect();
            let c: Vec<f64> = (0..d).map(|_| r.random::<f64>() * 2.0 - 1.0).collect();
            let p: Vec<f64> = (0..d).map(|_| r.random::<f64>() * 4.0 - 2.0).collect();
            let q: Vec<f64> = (0..d).map(|_| r.random::<f64>() * 4.0 - 2.0).collect();
            let loss = |t: f64| {
                let x: Vec<f64> = (0..d).map(|i| (1.0 - t) * p[i] + t * q[i] - c[i]).collect();
                let ax: Vec<f64> = (0..d)
                    .map(|i| (0..d).map(|j| a[i * d + j] * x[j]).sum::<f64>())
                    .collect();
                0.5 * (ax.iter().map(|v| v * v).sum::<f64>()
                    + 0.01 * x.iter().map(|v| v * v).sum::<f64>())
            };
            let k = 1 + trial % 20;
            let (al, l) = sample(loss, k);
            let r = analyse(&al, &l, 0.0);
            assert!(!r.barrier, "trial {trial}: {r:?}");
            assert!(r.barrier_height.is_nan());
            assert!(r.loss_min <= r.loss_start.min(r.loss_end));
        }
    }

    /// A double well L(x) = (x^2 - 1)^2 traversed from x = -1.2 to x = 1.1 crosses the hump
    /// at x = 0 (L = 1); the ends have L(-1.2) = 0.1936 and L(1.1) = 0.0441. With k = 10
    /// the points are x = -1.2 + 2.3 i / 11. The floor is the sampled point nearest a well.
    #[test]
    fn double_well_has_a_barrier_with_the_caption_height() {
        let (x0, x1) = (-1.2f64, 1.1f64);
        let f = |t: f64| {
            let x = (1.0 - t) * x0 + t * x1;
            (x * x - 1.0).powi(2)
        };
        let (a, l) = sample(f, 10);
        let r = analyse(&a, &l, 0.0);
        assert!(r.barrier);
        assert!((r.loss_start - 0.1936).abs() < 1e-12);
        assert!((r.loss_end - 0.0441).abs() < 1e-12);
        // interior maximum: the sample nearest x = 0 is i = 6 (x = 0.0545...): L = (x^2-1)^2
        let x6: f64 = -1.2 + 2.3 * 6.0 / 11.0;
        assert!((r.alpha_max_interior - 6.0 / 11.0).abs() < 1e-15);
        assert!((r.loss_max_interior - (x6 * x6 - 1.0).powi(2)).abs() < 1e-12);
        // the floor: the smallest of the 12 sampled losses, computed independently
        let (imin, lmin) =
            l.iter().enumerate().fold(
                (0, f64::INFINITY),
                |b, (i, &v)| if v < b.1 { (i, v) } else { b },
            );
        assert_eq!(r.loss_min, lmin);
        assert_eq!(r.alpha_min, imin as f64 / 11.0);
        assert!((r.barrier_height - (0.1936 + 0.0441 - 2.0 * lmin) / 2.0).abs() < 1e-15);
        // a margin larger than the hump's excess hides it
        assert!(!analyse(&a, &l, 1.0).barrier);
        // staying inside one well (x from -1.2 to -0.9): no barrier
        let g = |t: f64| {
            let x = (1.0 - t) * -1.2 + t * -0.9;
            (x * x - 1.0).powi(2)
        };
        let (a, l) = sample(g, 10);
        assert!(!analyse(&a, &l, 0.0).barrier);
    }

    #[test]
    fn equal_interior_is_not_a_barrier_and_ends_only_have_none() {
        let r = analyse(&[0.0, 0.5, 1.0], &[1.0, 1.0, 0.5], 0.0);
        assert!(!r.barrier);
        let r = analyse(&[0.0, 1.0], &[2.0, 1.0], 0.0);
        assert!(!r.barrier && r.loss_max_interior.is_nan());
        assert_eq!((r.loss_min, r.alpha_min), (1.0, 1.0));
    }

    #[test]
    fn moved_over_marks_rising_floors() {
        assert_eq!(
            moved_over(&[1.0, 0.9, 0.95, 0.95, 0.7, 0.8]),
            vec![false, false, true, false, false, true]
        );
        assert!(moved_over(&[]).is_empty());
    }
}
