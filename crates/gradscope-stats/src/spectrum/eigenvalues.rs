//! All eigenvalues of a dense symmetric matrix, the way LAPACK's `dsyevd` computes them
//! without eigenvectors (`jobz = 'N'`: `dsytrd`, then `dsterf`):
//!
//! 1. the matrix is scaled by a power of two when its largest entry lies outside
//!    `[2^-400, 2^400]` (exact, undone on the eigenvalues; keeps the sums of squares of
//!    the reduction from overflowing or underflowing);
//! 2. a blocked Householder reduction to tridiagonal form, `A = Q T Q^T`
//!    ([`super::tridiagonalisation`]): `4/3 n^3` flops, half of them in symmetric
//!    rank-`2 nb` updates (level 3) and half in symmetric matrix-vector products;
//! 3. the eigenvalues of `T` by the root-free QL/QR iteration of Pal, Walker and Kahan
//!    ([`super::root_free_ql`]): `O(n^2)`.
//!
//! Accuracy: both stages are backward stable, so each computed eigenvalue lies within
//! about `n eps ||A||_2` of an exact eigenvalue of `A` (Weyl's inequality; eigenvalues
//! much smaller than `||A||_2` keep only that absolute accuracy).
//!
//! Reference: E. Anderson et al., *LAPACK Users' Guide*, 3rd ed., SIAM 1999, sections
//! 2.4.4 and 4.7 (`dsyevd`, `dsytrd`, `dsterf`).

use super::root_free_ql::tridiagonal_eigenvalues;
use super::tridiagonalisation::tridiagonalise_lower;
use super::SpectrumError;
use faer::{Mat, Par};

/// Largest entries outside `[2^-LIMIT, 2^LIMIT]` are scaled to about 1.
const SCALE_LIMIT: i32 = 400;

/// Eigenvalues, descending, of the symmetric matrix whose lower triangle `a` holds (the
/// strict upper triangle is not read; `a` is consumed as workspace). `par` parallelises
/// the level-3 part of the reduction (`Par::Seq` when matrices are already processed in
/// parallel). A non-square matrix is [`SpectrumError::Shape`], a NaN or infinite entry
/// [`SpectrumError::NotFiniteEntry`].
pub fn symmetric_eigenvalues_lower(mut a: Mat<f64>, par: Par) -> Result<Vec<f64>, SpectrumError> {
    let n = a.nrows();
    if a.ncols() != n {
        return Err(SpectrumError::Shape(format!(
            "a {n} x {} matrix is not square",
            a.ncols()
        )));
    }
    let mut largest = 0.0f64;
    for j in 0..n {
        for (i, &x) in a.col_as_slice(j)[j..].iter().enumerate() {
            if !x.is_finite() {
                return Err(SpectrumError::NotFiniteEntry {
                    row: j + i,
                    column: j,
                    value: x,
                });
            }
            largest = largest.max(x.abs());
        }
    }
    if largest == 0.0 {
        return Ok(vec![0.0; n]);
    }
    // 2^-exponent in two factors, each representable, for largest = 2^exponent * (1..2).
    let exponent = largest.log2().floor() as i32;
    let factors = if exponent.abs() > SCALE_LIMIT {
        let half = -exponent / 2;
        Some((2f64.powi(half), 2f64.powi(-exponent - half)))
    } else {
        None
    };
    if let Some((f1, f2)) = factors {
        for j in 0..n {
            for x in &mut a.col_as_slice_mut(j)[j..] {
                *x = *x * f1 * f2;
            }
        }
    }
    let (mut d, mut e) = tridiagonalise_lower(&mut a, par);
    drop(a);
    tridiagonal_eigenvalues(&mut d, &mut e)?;
    if let Some((f1, f2)) = factors {
        for x in &mut d {
            *x = *x / f1 / f2;
        }
    }
    d.reverse();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand::Rng as _;
    use rand_distr::{Distribution, StandardNormal};
    use std::f64::consts::PI;

    const EPS: f64 = f64::EPSILON;

    /// The eigenvalues of the order-`n` tridiagonal Toeplitz matrix with `2` on the
    /// diagonal and `-1` beside it, descending: `2 - 2 cos(k pi / (n + 1))`, `k = n..1`
    /// (Golub and Van Loan, *Matrix Computations*, 4th ed., section 4.8.3).
    fn toeplitz_eigenvalues(n: usize) -> Vec<f64> {
        (1..=n)
            .rev()
            .map(|k| 2.0 - 2.0 * (k as f64 * PI / (n as f64 + 1.0)).cos())
            .collect()
    }

    fn toeplitz(n: usize) -> Mat<f64> {
        Mat::from_fn(n, n, |i, j| match i.abs_diff(j) {
            0 => 2.0,
            1 => -1.0,
            _ => 0.0,
        })
    }

    /// Fails unless `got` and `want` (both descending) agree within `tol` absolute.
    fn assert_within(got: &[f64], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol,
                "{what}: eigenvalue {i}: {g} vs {w} (|diff| {:e} > tol {tol:e})",
                (g - w).abs()
            );
        }
    }

    /// The lower triangle only: the strict upper triangle is filled with NaN so a read
    /// of it would show.
    fn lower_only(a: &Mat<f64>) -> Mat<f64> {
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
            if i >= j {
                a[(i, j)]
            } else {
                f64::NAN
            }
        })
    }

    fn random_symmetric(n: usize, seed: u64) -> Mat<f64> {
        let mut r = rng::seeded(seed);
        let mut a = Mat::<f64>::zeros(n, n);
        for j in 0..n {
            for i in j..n {
                let x: f64 = StandardNormal.sample(&mut r);
                a[(i, j)] = x;
                a[(j, i)] = x;
            }
        }
        a
    }

    /// `W^T W / rows` for a `rows x n` standard normal `W`: positive semi-definite, with
    /// a Marchenko-Pastur spread of eigenvalues (singular when `rows < n`).
    fn random_gram(n: usize, rows: usize, seed: u64) -> Mat<f64> {
        let mut r = rng::seeded(seed);
        let w = Mat::<f64>::from_fn(rows, n, |_, _| StandardNormal.sample(&mut r));
        let mut g = w.transpose() * &w;
        g *= faer::Scale(1.0 / rows as f64);
        g
    }

    /// The eigenvalues by faer's dense self-adjoint solver (an independent
    /// implementation: unblocked reduction and a QR iteration with rotations), descending.
    fn faer_eigenvalues(a: &Mat<f64>) -> Vec<f64> {
        let mut ev = a.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
        ev.sort_unstable_by(|x, y| y.total_cmp(x));
        ev
    }

    /// `||A||_2 = max |lambda|`, from faer's eigenvalues.
    fn norm2(eigenvalues: &[f64]) -> f64 {
        eigenvalues.iter().fold(0.0f64, |m, x| m.max(x.abs()))
    }

    #[test]
    fn toeplitz_closed_form() {
        for n in [1usize, 2, 3, 10, 200] {
            let got = symmetric_eigenvalues_lower(lower_only(&toeplitz(n)), Par::Seq).unwrap();
            // ||A||_2 < 4.
            assert_within(
                &got,
                &toeplitz_eigenvalues(n),
                10.0 * n as f64 * EPS * 4.0,
                &format!("toeplitz {n}"),
            );
        }
    }

    #[test]
    fn tridiagonal_stage_alone_on_toeplitz() {
        for n in [1usize, 2, 3, 10, 200] {
            let mut d = vec![2.0; n];
            let mut e = vec![-1.0; n.saturating_sub(1)];
            tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
            d.reverse();
            assert_within(
                &d,
                &toeplitz_eigenvalues(n),
                4.0 * n as f64 * EPS * 4.0,
                "dsterf",
            );
        }
    }

    /// `Q diag(l) Q^T` with `Q` the product of three Householder reflections
    /// `I - 2 u u^T / u^T u` of seeded normal vectors `u`: eigenvalues exactly `l` (up to
    /// the rounding of the construction, a few `eps max|l|`).
    fn with_eigenvalues(l: &[f64], seed: u64) -> Mat<f64> {
        let n = l.len();
        let mut a = Mat::<f64>::from_fn(n, n, |i, j| if i == j { l[i] } else { 0.0 });
        let mut r = rng::seeded(seed);
        for _ in 0..3 {
            let u: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut r)).collect();
            let uu: f64 = u.iter().map(|x| x * x).sum();
            // A <- H A H, H = I - 2 u u^T / uu, as two one-sided products: A <- (H A)^T
            // = A H, then A <- (H A H)^T = H A H.
            for _side in 0..2 {
                for j in 0..n {
                    let s: f64 = (0..n).map(|i| u[i] * a[(i, j)]).sum::<f64>() * 2.0 / uu;
                    for i in 0..n {
                        a[(i, j)] -= s * u[i];
                    }
                }
                a = a.transpose().to_owned();
            }
        }
        // Exactly symmetric: the lower triangle is what is read anyway.
        lower_only(&a)
    }

    #[test]
    fn prescribed_eigenvalues_are_recovered() {
        let n = 80;
        let graded: Vec<f64> = (0..n)
            .map(|i| 10f64.powf(-14.0 * i as f64 / (n - 1) as f64))
            .collect();
        let clustered: Vec<f64> = (0..n).map(|i| 1.0 + 1e-10 * i as f64).collect();
        let repeated: Vec<f64> = (0..n).map(|i| [3.0, -1.0, 0.5][i % 3]).collect();
        let negative: Vec<f64> = (0..n).map(|i| -(i as f64) - 0.25).collect();
        let zeros: Vec<f64> = (0..n).map(|i| if i % 4 == 0 { 2.0 } else { 0.0 }).collect();
        for (name, l) in [
            ("graded", graded),
            ("clustered", clustered),
            ("repeated", repeated),
            ("negative", negative),
            ("zeros", zeros),
        ] {
            let mut want = l.clone();
            want.sort_unstable_by(|x, y| y.total_cmp(x));
            let scale = l.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let got = symmetric_eigenvalues_lower(with_eigenvalues(&l, 7), Par::Seq).unwrap();
            assert_within(&got, &want, 10.0 * n as f64 * EPS * scale, name);
        }
    }

    /// Orders around the panel width (32) and the crossover to the unblocked last panel,
    /// and odd sizes, against faer's solver on random symmetric and Gram matrices.
    #[test]
    fn agrees_with_faer_on_random_matrices() {
        let mut orders: Vec<usize> = (1..=20).collect();
        orders.extend([
            31, 32, 33, 63, 64, 65, 66, 95, 96, 97, 100, 127, 128, 129, 200, 257, 300,
        ]);
        for &n in &orders {
            for (kind, a) in [
                ("symmetric", random_symmetric(n, n as u64)),
                ("gram", random_gram(n, 2 * n + 3, 1000 + n as u64)),
                ("singular gram", random_gram(n, n / 2 + 1, 2000 + n as u64)),
            ] {
                let want = faer_eigenvalues(&a);
                let tol = 1e-13 * norm2(&want);
                let got = symmetric_eigenvalues_lower(lower_only(&a), Par::Seq).unwrap();
                assert_within(&got, &want, tol, &format!("{kind} {n}"));
                let par = symmetric_eigenvalues_lower(lower_only(&a), Par::rayon(2)).unwrap();
                assert_within(&par, &want, tol, &format!("{kind} {n} in parallel"));
            }
        }
    }

    #[test]
    fn small_and_special_matrices() {
        assert_eq!(
            symmetric_eigenvalues_lower(Mat::zeros(0, 0), Par::Seq).unwrap(),
            Vec::<f64>::new()
        );
        assert_eq!(
            symmetric_eigenvalues_lower(Mat::zeros(5, 5), Par::Seq).unwrap(),
            vec![0.0; 5]
        );
        let one = Mat::from_fn(1, 1, |_, _| -3.5);
        assert_eq!(
            symmetric_eigenvalues_lower(one, Par::Seq).unwrap(),
            vec![-3.5]
        );
        // [[2, 1], [1, 2]]: 3 and 1.
        let two = lower_only(&Mat::from_fn(2, 2, |i, j| if i == j { 2.0 } else { 1.0 }));
        assert_within(
            &symmetric_eigenvalues_lower(two, Par::Seq).unwrap(),
            &[3.0, 1.0],
            2.0 * EPS * 3.0,
            "2 x 2",
        );
        // Diagonal (already tridiagonal, every off-diagonal zero): the diagonal, sorted.
        let diag = [4.0, -2.0, 0.0, 7.5, 1e-3, 4.0, -9.0, 3.25, 0.5, 2.0];
        let a = lower_only(&Mat::from_fn(
            10,
            10,
            |i, j| if i == j { diag[i] } else { 0.0 },
        ));
        let mut want = diag.to_vec();
        want.sort_unstable_by(|x, y| y.total_cmp(x));
        assert_eq!(symmetric_eigenvalues_lower(a, Par::Seq).unwrap(), want);
    }

    #[test]
    fn an_exact_zero_subdiagonal_splits_the_matrix() {
        // Two Toeplitz blocks of orders 6 and 9, decoupled: the union of their spectra.
        let n = 15;
        let a = Mat::from_fn(n, n, |i, j| {
            if i == j {
                2.0
            } else if i.abs_diff(j) == 1 && i.min(j) != 5 {
                -1.0
            } else {
                0.0
            }
        });
        let mut want = toeplitz_eigenvalues(6);
        want.extend(toeplitz_eigenvalues(9));
        want.sort_unstable_by(|x, y| y.total_cmp(x));
        let got = symmetric_eigenvalues_lower(lower_only(&a), Par::Seq).unwrap();
        assert_within(&got, &want, 10.0 * n as f64 * EPS * 4.0, "split");
        // The tridiagonal stage alone, with the zero in e.
        let mut d = vec![2.0; n];
        let mut e: Vec<f64> = (0..n - 1)
            .map(|i| if i == 5 { 0.0 } else { -1.0 })
            .collect();
        tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
        d.reverse();
        assert_within(&d, &want, 10.0 * n as f64 * EPS * 4.0, "split, tridiagonal");
    }

    #[test]
    fn huge_and_tiny_scales_are_scaled_exactly() {
        // The same matrix times 1e150 and 1e-150 (and near the ends of the range): the
        // same eigenvalues times the factor, within the usual relative tolerance.
        let base = random_symmetric(70, 99);
        let want = faer_eigenvalues(&base);
        let tol = 1e-13 * norm2(&want);
        for factor in [1e150, 1e-150, 1e300, 1e-300, 1e-310] {
            let mut a = base.clone();
            a *= faer::Scale(factor);
            let got = symmetric_eigenvalues_lower(lower_only(&a), Par::Seq).unwrap();
            let back: Vec<f64> = got.iter().map(|x| x / factor).collect();
            // 1e-310 is subnormal: the entries themselves carry a relative rounding of up
            // to 2^-1074 / 1e-310, about 5e-14.
            let t = if factor < 1e-300 { tol * 20.0 } else { tol };
            assert_within(&back, &want, t, &format!("scale {factor:e}"));
        }
        // The tridiagonal stage's own block scaling: entries past sqrt(safmax) / 3.
        for factor in [1e200, 1e-200] {
            let n = 40;
            let mut d = vec![2.0 * factor; n];
            let mut e = vec![-factor; n - 1];
            tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
            d.reverse();
            let want: Vec<f64> = toeplitz_eigenvalues(n).iter().map(|x| x * factor).collect();
            assert_within(
                &d,
                &want,
                10.0 * n as f64 * EPS * 4.0 * factor,
                "dsterf scaling",
            );
        }
    }

    #[test]
    fn non_finite_input_is_an_error_not_a_hang() {
        let mut a = random_symmetric(50, 3);
        a[(30, 7)] = f64::NAN;
        assert!(matches!(
            symmetric_eigenvalues_lower(a, Par::Seq),
            Err(SpectrumError::NotFiniteEntry { row: 30, column: 7, value }) if value.is_nan()
        ));
        let mut a = random_symmetric(5, 4);
        a[(4, 4)] = f64::INFINITY;
        assert!(matches!(
            symmetric_eigenvalues_lower(a, Par::Seq),
            Err(SpectrumError::NotFiniteEntry {
                row: 4,
                column: 4,
                ..
            })
        ));
        let mut d = vec![1.0, f64::NAN, 2.0];
        let mut e = vec![0.5, 0.5];
        assert_eq!(
            tridiagonal_eigenvalues(&mut d, &mut e),
            Err(SpectrumError::NoConvergence)
        );
        // Not square.
        assert!(matches!(
            symmetric_eigenvalues_lower(Mat::zeros(3, 4), Par::Seq),
            Err(SpectrumError::Shape(_))
        ));
        // Random uniform noise of every magnitude still converges.
        let mut r = rng::seeded(5);
        let n = 60;
        let mut d: Vec<f64> = (0..n)
            .map(|_| r.random::<f64>() * 10f64.powi(r.random_range(-30..30)))
            .collect();
        let mut e: Vec<f64> = (0..n - 1)
            .map(|_| r.random::<f64>() * 10f64.powi(r.random_range(-30..30)))
            .collect();
        tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
        assert!(d.windows(2).all(|w| w[0] <= w[1]));
    }
}
