//! Eigenvalues of a symmetric tridiagonal matrix by the Pal-Walker-Kahan root-free
//! implicit QL/QR iteration, as LAPACK's `dsterf`.
//!
//! One implicit QL sweep with shift `sigma` on an unreduced block `l..=m` (Golub and Van
//! Loan section 8.3.5) chases the bulge with plane rotations `(c, s)`. The root-free
//! variant carries the squared off-diagonals `e_i^2` and squared cosines and sines
//! instead, so a sweep needs no square root (`bb = e_i^2`):
//!
//! ```text
//! gamma = d_m - sigma, p = gamma^2, c = 1, s = 0
//! for i = m-1 down to l:
//!     r = p + bb;  e_{i+1}^2 = s r (i < m-1);  c' = c;  c = p / r;  s = bb / r
//!     gamma' = gamma;  gamma = c (d_i - sigma) - s gamma'
//!     d_{i+1} = gamma' + (d_i - gamma)
//!     p = gamma^2 / c  (c != 0),  else c' bb
//! e_l^2 = s p,  d_l = sigma + gamma
//! ```
//!
//! The shift is Wilkinson's eigenvalue of the leading `2 x 2` closest to `d_l`:
//! `g = (d_{l+1} - d_l) / (2 e_l)`, `sigma = d_l - e_l / (g + sign(g) sqrt(g^2 + 1))`.
//! Each unreduced block is iterated from the end with the smaller diagonal magnitude
//! (QL from the top when `|d_l| <= |d_m|`, QR, the mirror image, from the bottom
//! otherwise), which LAPACK found keeps graded matrices accurate. An off-diagonal is
//! set to zero (the block splits) when `e_i^2 <= eps^2 |d_i d_{i+1}|` (the sweeps) or
//! `|e_i| <= eps sqrt|d_i| sqrt|d_{i+1}|` (the initial split), a perturbation below
//! `eps` relative to the neighbouring diagonal entries. A remaining `2 x 2` is solved in
//! closed form (LAPACK's `dlae2`). Blocks whose largest entry lies above
//! `sqrt(safmax) / 3` or below `sqrt(safmin) / eps^2` are scaled into range first (their
//! squares must neither overflow nor underflow) and their eigenvalues scaled back. At most
//! `30 n` sweeps in all are allowed; beyond that the iteration has failed.
//!
//! Cost: about `9 n^2` flops for all eigenvalues (about two sweeps per eigenvalue, each
//! `O(length of the block)`). Accuracy: backward stable, each computed eigenvalue within
//! a small multiple of `eps ||T||` of an exact one.
//!
//! References: M. Pal, R. Walker and W. Kahan's root-free QL (C. Reinsch, "A stable,
//! rational QR algorithm for the computation of the eigenvalues of an Hermitian,
//! tridiagonal matrix", Math. Comp. 25, 1971; B. N. Parlett, *The Symmetric Eigenvalue
//! Problem*, SIAM 1998, section 8.15); LAPACK 3.12 `dsterf` and `dlae2`, whose constants
//! (`eps = 2^-53`, `safmin = 2^-1022`, 30 sweeps per eigenvalue) are used here.

use super::SpectrumError;

/// Unit roundoff `2^-53` (LAPACK's `dlamch('E')`).
const EPS: f64 = f64::EPSILON / 2.0;
/// Sweeps allowed per eigenvalue (LAPACK's `MAXIT`).
const MAX_SWEEPS_PER_EIGENVALUE: usize = 30;

/// Sorts the eigenvalues of the symmetric tridiagonal matrix with diagonal `d` (length
/// `n`) and off-diagonal `e` (length `n - 1`) into `d`, ascending; `e` is destroyed.
/// Non-finite entries or more than `30 n` sweeps are [`SpectrumError::NoConvergence`].
pub fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) -> Result<(), SpectrumError> {
    let n = d.len();
    if n <= 1 {
        return if d.iter().all(|x| x.is_finite()) {
            Ok(())
        } else {
            Err(SpectrumError::NoConvergence)
        };
    }
    assert!(
        e.len() + 1 >= n,
        "{} off-diagonal entries for order {n}",
        e.len()
    );
    let e = &mut e[..n - 1];
    if !d.iter().chain(e.iter()).all(|x| x.is_finite()) {
        return Err(SpectrumError::NoConvergence);
    }
    let eps2 = EPS * EPS;
    let safmin = f64::MIN_POSITIVE;
    let ssfmax = (1.0 / safmin).sqrt() / 3.0;
    let ssfmin = safmin.sqrt() / eps2;
    let max_sweeps = n * MAX_SWEEPS_PER_EIGENVALUE;
    let mut sweeps = 0;

    let mut l1 = 0;
    while l1 < n {
        if l1 > 0 {
            e[l1 - 1] = 0.0;
        }
        // The unreduced block l1..=end: the first negligible off-diagonal ends it.
        let mut end = l1;
        while end < n - 1 {
            if e[end].abs() <= d[end].abs().sqrt() * d[end + 1].abs().sqrt() * EPS {
                e[end] = 0.0;
                break;
            }
            end += 1;
        }
        let (first, last) = (l1, end);
        l1 = end + 1;
        if last == first {
            continue;
        }
        let norm = d[first..=last]
            .iter()
            .chain(&e[first..last])
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if norm == 0.0 {
            continue;
        }
        let scaled_to = if norm > ssfmax {
            Some(ssfmax)
        } else if norm < ssfmin {
            Some(ssfmin)
        } else {
            None
        };
        if let Some(to) = scaled_to {
            rescale(&mut d[first..=last], norm, to);
            rescale(&mut e[first..last], norm, to);
        }
        for x in &mut e[first..last] {
            *x *= *x;
        }
        if d[last].abs() < d[first].abs() {
            qr_block(d, e, last, first, &mut sweeps, max_sweeps);
        } else {
            ql_block(d, e, first, last, &mut sweeps, max_sweeps);
        }
        if let Some(to) = scaled_to {
            rescale(&mut d[first..=last], to, norm);
        }
        if sweeps >= max_sweeps && e.iter().any(|&x| x != 0.0) {
            return Err(SpectrumError::NoConvergence);
        }
    }
    d.sort_unstable_by(f64::total_cmp);
    Ok(())
}

/// Multiplies `x` by `to / from` (one of the two is `sqrt(safmax) / 3` or
/// `sqrt(safmin) / eps^2` and the other lies beyond it, so the quotient is representable).
fn rescale(x: &mut [f64], from: f64, to: f64) {
    let factor = to / from;
    for v in x {
        *v *= factor;
    }
}

/// The shifted root-free QL iteration on the block `l..=lend` (`e` holding squares),
/// from the top, deflating eigenvalues at `l`.
fn ql_block(
    d: &mut [f64],
    e: &mut [f64],
    mut l: usize,
    lend: usize,
    sweeps: &mut usize,
    max_sweeps: usize,
) {
    let eps2 = EPS * EPS;
    loop {
        let mut m = l;
        while m < lend {
            if e[m].abs() <= eps2 * (d[m] * d[m + 1]).abs() {
                break;
            }
            m += 1;
        }
        if m < lend {
            e[m] = 0.0;
        }
        let p = d[l];
        if m == l {
            // d[l] is an eigenvalue.
            l += 1;
            if l <= lend {
                continue;
            }
            return;
        }
        if m == l + 1 {
            let (rt1, rt2) = eigenvalues_2x2(d[l], e[l].sqrt(), d[l + 1]);
            d[l] = rt1;
            d[l + 1] = rt2;
            e[l] = 0.0;
            l += 2;
            if l <= lend {
                continue;
            }
            return;
        }
        if *sweeps == max_sweeps {
            return;
        }
        *sweeps += 1;
        let rte = e[l].sqrt();
        let g = (d[l + 1] - p) / (2.0 * rte);
        let r = g.hypot(1.0);
        let sigma = p - rte / (g + r.copysign(g));
        let (mut c, mut s) = (1.0f64, 0.0f64);
        let mut gamma = d[m] - sigma;
        let mut p = gamma * gamma;
        for i in (l..m).rev() {
            let bb = e[i];
            let r = p + bb;
            if i != m - 1 {
                e[i + 1] = s * r;
            }
            let oldc = c;
            c = p / r;
            s = bb / r;
            let oldgam = gamma;
            let alpha = d[i];
            gamma = c * (alpha - sigma) - s * oldgam;
            d[i + 1] = oldgam + (alpha - gamma);
            p = if c != 0.0 {
                (gamma * gamma) / c
            } else {
                oldc * bb
            };
        }
        e[l] = s * p;
        d[l] = sigma + gamma;
    }
}

/// The mirror image of [`ql_block`]: the block `lend..=l` (`lend < l`) iterated from the
/// bottom, deflating eigenvalues at `l`.
fn qr_block(
    d: &mut [f64],
    e: &mut [f64],
    mut l: usize,
    lend: usize,
    sweeps: &mut usize,
    max_sweeps: usize,
) {
    let eps2 = EPS * EPS;
    loop {
        let mut m = l;
        while m > lend {
            if e[m - 1].abs() <= eps2 * (d[m] * d[m - 1]).abs() {
                break;
            }
            m -= 1;
        }
        if m > lend {
            e[m - 1] = 0.0;
        }
        let p = d[l];
        if m == l {
            if l > lend {
                l -= 1;
                continue;
            }
            return;
        }
        if m + 1 == l {
            let (rt1, rt2) = eigenvalues_2x2(d[l], e[l - 1].sqrt(), d[l - 1]);
            d[l] = rt1;
            d[l - 1] = rt2;
            e[l - 1] = 0.0;
            if l >= lend + 2 {
                l -= 2;
                continue;
            }
            return;
        }
        if *sweeps == max_sweeps {
            return;
        }
        *sweeps += 1;
        let rte = e[l - 1].sqrt();
        let g = (d[l - 1] - p) / (2.0 * rte);
        let r = g.hypot(1.0);
        let sigma = p - rte / (g + r.copysign(g));
        let (mut c, mut s) = (1.0f64, 0.0f64);
        let mut gamma = d[m] - sigma;
        let mut p = gamma * gamma;
        for i in m..l {
            let bb = e[i];
            let r = p + bb;
            if i != m {
                e[i - 1] = s * r;
            }
            let oldc = c;
            c = p / r;
            s = bb / r;
            let oldgam = gamma;
            let alpha = d[i + 1];
            gamma = c * (alpha - sigma) - s * oldgam;
            d[i] = oldgam + (alpha - gamma);
            p = if c != 0.0 {
                (gamma * gamma) / c
            } else {
                oldc * bb
            };
        }
        e[l - 1] = s * p;
        d[l] = sigma + gamma;
    }
}

/// Eigenvalues `(rt1, rt2)`, `|rt1| >= |rt2|`, of `[[a, b], [b, c]]` (LAPACK's `dlae2`):
/// `rt1 = (a + c +- sqrt((a - c)^2 + 4 b^2)) / 2` with the sign of `a + c`, and
/// `rt2 = det / rt1` computed as `(acmx / rt1) acmn - (b / rt1) b` to avoid the
/// cancellation of the other root.
fn eigenvalues_2x2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sm = a + c;
    let df = a - c;
    let adf = df.abs();
    let tb = b + b;
    let ab = tb.abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * std::f64::consts::SQRT_2
    };
    if sm < 0.0 {
        let rt1 = 0.5 * (sm - rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else if sm > 0.0 {
        let rt1 = 0.5 * (sm + rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else {
        (0.5 * rt, -0.5 * rt)
    }
}
