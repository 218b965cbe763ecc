//! Blocked Householder reduction of a symmetric matrix to tridiagonal form, `A = Q T Q^T`,
//! keeping only the diagonal `d` and subdiagonal `e` of `T` (no `Q`).
//!
//! Column `k` is annihilated below its subdiagonal by a reflector `H_k = I - tau v v^T`
//! (`v_{k+1} = 1`, `v_i = 0` for `i <= k`; `beta = -sign(alpha) ||x||`, `tau = (beta -
//! alpha) / beta`, `v = x / (alpha - beta)` for the column's part `x = (alpha, x_2, ..)`
//! below the diagonal, as LAPACK's `dlarfg`). Applied on both sides to the trailing
//! matrix it is the symmetric rank-2 update `A <- A - v w^T - w v^T` with
//! `p = tau A v`, `w = p - (tau / 2) (p^T v) v` (LAPACK's `dsytd2`).
//!
//! Blocking (LAPACK's `dsytrd` and `dlatrd`, lower triangle): in a panel of `nb` columns
//! only the panel's own columns are updated, each just before its reflector is formed,
//! from the `V` and `W` columns of the panel so far: `a_k -= V W_k^T + W V_k^T`. The
//! product `A v` for column `k` is taken with the trailing matrix as it stood at the start
//! of the panel (a symmetric matrix-vector product reading each stored element once) and
//! corrected for the panel's earlier reflectors: `A_k v = A_0 v - V (W^T v) - W (V^T v)`.
//! After the panel the trailing matrix receives all of it at once, `A22 -= V W^T + W V^T`,
//! a symmetric rank-`2 nb` update of the lower triangle through faer's triangular matrix
//! product (level 3, cache-blocked, optionally parallel). The last `nb` or fewer columns are
//! one panel without a trailing update.
//!
//! Cost: `4/3 n^3` flops, half in the matrix-vector products (memory-bound: the
//! trailing triangle is read once per column) and half in the rank-`2 nb` updates.
//!
//! References: G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., section
//! 8.3.1; LAPACK 3.12 `dsytrd`, `dlatrd`, `dsytd2`, `dlarfg` (Anderson et al., *LAPACK
//! Users' Guide*, 3rd ed., SIAM 1999); J. J. Dongarra, S. J. Hammarling and D. C.
//! Sorensen, "Block reduction of matrices to condensed forms for eigenvalue
//! computations", J. Comput. Appl. Math. 27 (1989).

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use multiversion::multiversion;

/// Columns per panel (LAPACK's default block size for `dsytrd`). On 1024 x 1024 Gram
/// matrices, one thread, 32 took 0.105 s and 64 took 0.12 s: wider panels make the
/// rank-`2 nb` product more efficient but cost more in the in-panel corrections
/// (`O(n nb^2)` per panel, level 2).
pub const PANEL: usize = 32;

/// At or below this norm the part of a column under the subdiagonal is taken as exactly
/// zero (no reflector): far below `eps ||A||` for any matrix the caller has scaled into
/// `[2^-400, 2^400]` (`2^-400` is about `4e-121`), and far enough above the underflow
/// threshold (`2.2e-308`) that `1 / (alpha - beta)` cannot overflow.
const NEGLIGIBLE: f64 = 1e-270;

/// The diagonal `d` (length `n`) and subdiagonal `e` (length `n - 1`) of a tridiagonal
/// matrix orthogonally similar to the symmetric matrix whose lower triangle `a` holds
/// (the strict upper triangle is never read). `a` is overwritten. Entries should be
/// finite and their magnitudes within `[2^-400, 2^400]` or zero (sums of squares of a
/// column then neither overflow nor lose anything that matters); `par` parallelises the
/// rank-`2 nb` updates only.
pub fn tridiagonalise_lower(a: &mut Mat<f64>, par: Par) -> (Vec<f64>, Vec<f64>) {
    let n = a.nrows();
    assert_eq!(n, a.ncols(), "tridiagonalisation needs a square matrix");
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n.saturating_sub(1)];
    if n == 0 {
        return (d, e);
    }
    let mut work = vec![0.0; 3 * PANEL.max(1) * n];
    let mut k = 0;
    while n - k > PANEL {
        reduce_panel(a, k, PANEL, &mut work, &mut d, &mut e, Some(par));
        k += PANEL;
    }
    let rest = n - k;
    let mut last = vec![0.0; 3 * rest * rest];
    reduce_panel(a, k, rest, &mut last, &mut d, &mut e, None);
    (d, e)
}

/// Reduces columns `k .. k + b` (writing `d[k..k+b]` and `e[k..k+b]` where they exist);
/// with `update` the trailing matrix `A[k+b.., k+b..]` then receives the panel's
/// rank-`2b` update. `work` holds at least `3 b m` values, `m = n - k`: the panel's `V`,
/// `W` and a copy of `V`, each `m x b` column-major with row 0 at global row `k`.
fn reduce_panel(
    a: &mut Mat<f64>,
    k: usize,
    b: usize,
    work: &mut [f64],
    d: &mut [f64],
    e: &mut [f64],
    update: Option<Par>,
) {
    let n = a.nrows();
    let m = n - k;
    let work = &mut work[..3 * b * m];
    work.fill(0.0);
    let (v_all, rest) = work.split_at_mut(b * m);
    let (w_all, v_copy) = rest.split_at_mut(b * m);
    let mut t1 = vec![0.0; b];
    let mut t2 = vec![0.0; b];
    for i in 0..b {
        // The panel's column i (global k + i) on and below the diagonal, brought up to
        // date: a_i -= V W_i^T + W V_i^T over the earlier panel columns.
        let col = &mut a.col_as_slice_mut(k + i)[k + i..];
        for j in 0..i {
            let vj = &v_all[j * m..(j + 1) * m];
            let wj = &w_all[j * m..(j + 1) * m];
            axpy(col, -wj[i], &vj[i..]);
            axpy(col, -vj[i], &wj[i..]);
        }
        d[k + i] = col[0];
        if i + 1 == m {
            break;
        }
        // Reflector annihilating col[2..]: alpha = col[1], beta = -sign(alpha) ||col[1..]||.
        let alpha = col[1];
        let xnorm = dot(&col[2..], &col[2..]).sqrt();
        let (v_done, v_rest) = v_all.split_at_mut(i * m);
        let vi = &mut v_rest[..m];
        let (w_done, w_rest) = w_all.split_at_mut(i * m);
        let wi = &mut w_rest[..m];
        vi[i + 1] = 1.0;
        if xnorm <= NEGLIGIBLE {
            // Already zero below the subdiagonal: H = I, w = 0.
            e[k + i] = alpha;
            continue;
        }
        let beta = -alpha.hypot(xnorm).copysign(alpha);
        let tau = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        for (v, &x) in vi[i + 2..].iter_mut().zip(&col[2..]) {
            *v = x * scale;
        }
        e[k + i] = beta;
        // w = A0 v (the trailing matrix as at the start of the panel) ...
        let vt = &vi[i + 1..];
        let wt = &mut wi[i + 1..];
        symv_lower(a, k + i + 1, vt, wt);
        // ... - V (W^T v) - W (V^T v) over the earlier panel columns ...
        for j in 0..i {
            t1[j] = dot(&w_done[j * m + i + 1..(j + 1) * m], vt);
            t2[j] = dot(&v_done[j * m + i + 1..(j + 1) * m], vt);
        }
        for j in 0..i {
            axpy(wt, -t1[j], &v_done[j * m + i + 1..(j + 1) * m]);
            axpy(wt, -t2[j], &w_done[j * m + i + 1..(j + 1) * m]);
        }
        // ... times tau, then w -= (tau / 2) (w^T v) v.
        for x in wt.iter_mut() {
            *x *= tau;
        }
        let half = -0.5 * tau * dot(wt, vt);
        axpy(wt, half, vt);
    }
    let Some(par) = update else { return };
    if m <= b {
        return;
    }
    // A22 -= [V W] [W V]^T = V W^T + W V^T, lower triangle, rows and columns b.. of the panel.
    v_copy.copy_from_slice(v_all);
    let vw = MatRef::from_column_major_slice(&*work, m, 3 * b);
    let lhs = vw.submatrix(b, 0, m - b, 2 * b);
    let rhs = vw.submatrix(b, b, m - b, 2 * b);
    let a22: MatMut<f64> = a.as_mut().submatrix_mut(k + b, k + b, m - b, m - b);
    matmul(
        a22,
        BlockStructure::TriangularLower,
        Accum::Add,
        lhs,
        BlockStructure::Rectangular,
        rhs.transpose(),
        BlockStructure::Rectangular,
        -1.0,
        par,
    );
}

/// `y = A x` for the symmetric trailing block `A[s.., s..]` stored in the lower triangle
/// of `a` (`x`, `y` of length `n - s`): each stored element is read once and serves both
/// its column's `axpy` (below the diagonal) and its transpose's dot product. Columns go
/// four at a time, so `x` and `y` are read once per four columns.
fn symv_lower(a: &Mat<f64>, s: usize, x: &[f64], y: &mut [f64]) {
    let r = a.nrows() - s;
    let (x, y) = (&x[..r], &mut y[..r]);
    y.fill(0.0);
    let mut j = 0;
    while j + 4 <= r {
        let c: [&[f64]; 4] = std::array::from_fn(|q| &a.col_as_slice(s + j + q)[s + j..]);
        // The 4 x 4 diagonal block, lower triangle: entry (p, q), p >= q, is c[q][p].
        for q in 0..4 {
            y[j + q] += c[q][q] * x[j + q];
            for p in q + 1..4 {
                y[j + p] += c[q][p] * x[j + q];
                y[j + q] += c[q][p] * x[j + p];
            }
        }
        let xs = [x[j], x[j + 1], x[j + 2], x[j + 3]];
        let below: [&[f64]; 4] = std::array::from_fn(|q| &c[q][4..]);
        let t = axpy_dot4(&mut y[j + 4..], xs, below, &x[j + 4..]);
        for q in 0..4 {
            y[j + q] += t[q];
        }
        j += 4;
    }
    while j < r {
        let col = &a.col_as_slice(s + j)[s + j..];
        let xj = x[j];
        let below = axpy_dot(&mut y[j + 1..], xj, &col[1..], &x[j + 1..]);
        y[j] += col[0] * xj + below;
        j += 1;
    }
}

/// `y += sum_q alpha_q c_q` and returns `(c_q^T x)_q` for four columns `c_q`, in one
/// pass (all of one length; four lanes per dot product, merged pairwise).
#[multiversion(targets("x86_64+avx2+fma"))]
fn axpy_dot4(y: &mut [f64], alpha: [f64; 4], c: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    let len = y.len();
    let (c0, c1, c2, c3) = (&c[0][..len], &c[1][..len], &c[2][..len], &c[3][..len]);
    let x = &x[..len];
    let mut acc = [[0.0f64; 4]; 4];
    let mut yc = y.chunks_exact_mut(4);
    let mut xc = x.chunks_exact(4);
    let mut cc0 = c0.chunks_exact(4);
    let mut cc1 = c1.chunks_exact(4);
    let mut cc2 = c2.chunks_exact(4);
    let mut cc3 = c3.chunks_exact(4);
    for (((((yb, xb), b0), b1), b2), b3) in (&mut yc)
        .zip(&mut xc)
        .zip(&mut cc0)
        .zip(&mut cc1)
        .zip(&mut cc2)
        .zip(&mut cc3)
    {
        for l in 0..4 {
            yb[l] += (alpha[0] * b0[l] + alpha[1] * b1[l]) + (alpha[2] * b2[l] + alpha[3] * b3[l]);
            acc[0][l] += b0[l] * xb[l];
            acc[1][l] += b1[l] * xb[l];
            acc[2][l] += b2[l] * xb[l];
            acc[3][l] += b3[l] * xb[l];
        }
    }
    let mut t: [f64; 4] =
        std::array::from_fn(|q| (acc[q][0] + acc[q][1]) + (acc[q][2] + acc[q][3]));
    let rem = yc.into_remainder();
    let base = len - rem.len();
    for (i, yi) in rem.iter_mut().enumerate() {
        let k = base + i;
        *yi += (alpha[0] * c0[k] + alpha[1] * c1[k]) + (alpha[2] * c2[k] + alpha[3] * c3[k]);
        t[0] += c0[k] * x[k];
        t[1] += c1[k] * x[k];
        t[2] += c2[k] * x[k];
        t[3] += c3[k] * x[k];
    }
    t
}

/// `y += alpha x` over the common length.
#[multiversion(targets("x86_64+avx2+fma"))]
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `x^T y` over the common length, in eight interleaved partial sums (so the compiler
/// can vectorise the loop), merged pairwise.
#[multiversion(targets("x86_64+avx2+fma"))]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    let mut acc = [0.0f64; 8];
    let xc = x.chunks_exact(8);
    let yc = y.chunks_exact(8);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// `y += alpha c` and returns `c^T x` (all of one length), in one pass over `c`.
#[multiversion(targets("x86_64+avx2+fma"))]
fn axpy_dot(y: &mut [f64], alpha: f64, c: &[f64], x: &[f64]) -> f64 {
    let len = y.len().min(c.len()).min(x.len());
    let (y, c, x) = (&mut y[..len], &c[..len], &x[..len]);
    let mut acc = [0.0f64; 8];
    let mut yc = y.chunks_exact_mut(8);
    let mut cc = c.chunks_exact(8);
    let mut xc = x.chunks_exact(8);
    for ((yb, cb), xb) in (&mut yc).zip(&mut cc).zip(&mut xc) {
        for l in 0..8 {
            yb[l] += alpha * cb[l];
            acc[l] += cb[l] * xb[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for ((yi, &ci), &xi) in yc
        .into_remainder()
        .iter_mut()
        .zip(cc.remainder())
        .zip(xc.remainder())
    {
        *yi += alpha * ci;
        s += ci * xi;
    }
    s
}
