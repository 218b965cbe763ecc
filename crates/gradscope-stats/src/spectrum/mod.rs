//! Spectra of gradient matrices: the structure study's Gradient History Matrix (Xie,
//! Tang, Sun and Li, "On the overlooked structure of stochastic gradients", appendix A.1).
//!
//! `n` minibatch gradients `g_1..g_n` of dimension `d`, taken at one parameter point, are
//! the rows of the `n x d` matrix `X` (the study's history matrix is its transpose, `d x T`
//! with `T = n`). Two `d x d` matrices are analysed (the study names both, "the
//! covariance/second-moment", without fixing a normalisation; these are the usual
//! unbiased and plain averages):
//! - the **covariance** `C = 1/(n-1) sum_t (g_t - g_bar)(g_t - g_bar)^T`, `g_bar` the mean
//!   gradient (the gradient-noise covariance);
//! - the **second moment** `M = 1/n sum_t g_t g_t^T` (uncentred).
//!
//! A constant factor multiplies every eigenvalue alike, so it changes neither a power-law
//! exponent nor a KS distance (both depend on ratios `lambda/lambda_min` only).
//!
//! Two routes give the same non-zero eigenvalues ([`Route`]):
//! - **Gram** (`n < d`): the non-zero eigenvalues of `X^T X / c` (`d x d`) are those of the
//!   `n x n` Gram matrix `X X^T / c` (both equal the squared singular values of
//!   `X / sqrt(c)`), so `d x d` is never formed. The Gram matrix needs every pair of
//!   gradients, so it is accumulated over **blocks of coordinates**: for each block of `b`
//!   columns of `X` (all `n` samples), `K += X_b X_b^T` ([`GramAccumulator`]). Memory is
//!   `O(n^2 + n b)` f64: the Gram matrix plus one block. Centring for the covariance is
//!   exact: each block's columns are centred with their own means before the product,
//!   which equals `H X X^T H` (`H = I - 11^T/n`) without the cancellation of centring `K`
//!   afterwards.
//! - **Direct** (`d <= n`): the `d x d` matrix itself, accumulated over **blocks of
//!   samples** in one pass ([`DirectAccumulator`]); memory `O(d^2 + b d)`. The covariance
//!   merges per-block co-moment matrices with the pairwise update of Chan, Golub and
//!   LeVeque (1979), again without the cancellation of `sum x x^T - n mean mean^T`.
//!
//! Eigenvalues come from [`symmetric_eigenvalues_lower`] ([`eigenvalues`]: a blocked
//! Householder tridiagonalisation, [`tridiagonalisation`], then the root-free QL iteration,
//! [`root_free_ql`], as LAPACK's `dsyevd` without vectors). A spectrum keeps `min(n, d)`
//! eigenvalues in descending order; the other `d - n` eigenvalues of the `d x d` matrix are
//! exactly zero. Eigenvalues at or below the rank tolerance `lambda_max * max(n, d) * eps`
//! (numpy's `matrix_rank` convention) are rounding noise of a rank-deficient matrix (the
//! covariance of `n` samples has rank at most `n - 1`): [`Spectrum::significant`] leaves
//! them out, which is what power-law fits need.
//!
//! [`views`] holds the study's element views of the same matrix: dimension-wise (the
//! `d` elements of one gradient) and iteration-wise (the `n` values of one coordinate).
//! Eigengaps and the top-k fit live in [`crate::powerlaw::top_k`].

pub mod direct;
pub mod eigenvalues;
pub mod gram;
pub mod root_free_ql;
pub mod tridiagonalisation;
pub mod views;

pub use direct::DirectAccumulator;
pub use eigenvalues::symmetric_eigenvalues_lower;
pub use gram::GramAccumulator;
pub use views::{dimension_wise, iteration_wise, view_fits, ViewFits};

use faer::{Mat, Par};
use thiserror::Error;

/// Which second-order matrix of the gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatrixKind {
    /// `C = 1/(n-1) sum (g - g_bar)(g - g_bar)^T` (centred).
    Covariance,
    /// `M = 1/n sum g g^T` (uncentred).
    SecondMoment,
}

impl MatrixKind {
    /// The name used in result tables: `covariance` or `second-moment`.
    pub fn name(self) -> &'static str {
        match self {
            MatrixKind::Covariance => "covariance",
            MatrixKind::SecondMoment => "second-moment",
        }
    }

    /// The divisor `c` of the sum of outer products: `n - 1` or `n`.
    pub fn divisor(self, n: usize) -> f64 {
        match self {
            MatrixKind::Covariance => (n - 1) as f64,
            MatrixKind::SecondMoment => n as f64,
        }
    }

    /// Fewest samples with a defined matrix: 2 for the covariance, 1 otherwise.
    pub fn min_samples(self) -> usize {
        match self {
            MatrixKind::Covariance => 2,
            MatrixKind::SecondMoment => 1,
        }
    }
}

/// How the eigenvalues were computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The `n x n` Gram matrix (`n < d`).
    Gram,
    /// The `d x d` matrix itself (`d <= n`).
    Direct,
}

impl Route {
    /// The route this module takes for `n` samples of dimension `d`: Gram when `n < d`.
    pub fn choose(n: usize, d: usize) -> Route {
        if n < d {
            Route::Gram
        } else {
            Route::Direct
        }
    }

    /// `gram` or `direct`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Gram => "gram",
            Route::Direct => "direct",
        }
    }
}

/// Why a spectrum could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpectrumError {
    /// Too few gradients for the matrix asked for.
    #[error("{kind} spectrum needs at least {need} gradient(s), got {got}")]
    TooFewSamples {
        /// `covariance` or `second-moment`.
        kind: &'static str,
        /// Minimum.
        need: usize,
        /// Given.
        got: usize,
    },
    /// Zero-dimensional gradients.
    #[error("the gradients have dimension 0")]
    EmptyDimension,
    /// A block or sample of the wrong shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// NaN or infinity in the data (sample index, coordinate index).
    #[error("value {value} of sample {sample}, coordinate {coordinate} is not finite")]
    NotFinite {
        /// Row of `X`.
        sample: usize,
        /// Column of `X`.
        coordinate: usize,
        /// The value.
        value: f64,
    },
    /// NaN or infinity in a matrix handed to the eigensolver (row, column).
    #[error("matrix entry ({row}, {column}) = {value} is not finite")]
    NotFiniteEntry {
        /// Row.
        row: usize,
        /// Column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// The eigensolver did not converge.
    #[error("the symmetric eigensolver did not converge")]
    NoConvergence,
}

/// The eigenvalues of a covariance or second-moment matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Which matrix.
    pub kind: MatrixKind,
    /// How it was computed.
    pub route: Route,
    /// Gradients (`n`).
    pub samples: usize,
    /// Dimension of each gradient (`d`).
    pub dim: usize,
    /// The `min(n, d)` computed eigenvalues, descending (units: squared gradient units).
    /// Rounding can leave eigenvalues of a singular matrix slightly negative.
    pub eigenvalues: Vec<f64>,
}

impl Spectrum {
    /// The rank tolerance `lambda_max * max(n, d) * eps` (numpy's `matrix_rank` default,
    /// from the singular values' rounding error bound); 0 for an all-zero spectrum.
    pub fn tolerance(&self) -> f64 {
        let top = self.eigenvalues.first().copied().unwrap_or(0.0).max(0.0);
        top * self.samples.max(self.dim) as f64 * f64::EPSILON
    }

    /// Eigenvalues above [`Spectrum::tolerance`], descending: the numerically non-zero
    /// part of the spectrum, which a power-law fit can use.
    pub fn significant(&self) -> Vec<f64> {
        let tol = self.tolerance();
        self.eigenvalues
            .iter()
            .copied()
            .filter(|&v| v > tol)
            .collect()
    }

    /// Numerical rank: the count of [`Spectrum::significant`] eigenvalues.
    pub fn rank(&self) -> usize {
        let tol = self.tolerance();
        self.eigenvalues.iter().filter(|&&v| v > tol).count()
    }

    /// The `k` largest eigenvalues (fewer if the spectrum is shorter).
    pub fn top_k(&self, k: usize) -> &[f64] {
        &self.eigenvalues[..k.min(self.eigenvalues.len())]
    }

    /// Eigengaps `lambda_r - lambda_{r+1}` of the significant eigenvalues
    /// ([`crate::powerlaw::eigengaps`]); empty when fewer than two are significant.
    pub fn eigengaps(&self) -> Vec<f64> {
        let s = self.significant();
        crate::powerlaw::eigengaps(&s).unwrap_or_default()
    }

    /// Trace of the matrix (sum of all eigenvalues).
    pub fn trace(&self) -> f64 {
        self.eigenvalues.iter().sum()
    }
}

/// Eigenvalues, descending, of the symmetric matrix whose lower triangle `a` holds
/// (the upper triangle is not read): [`symmetric_eigenvalues_lower`] on a copy, with the
/// level-3 part of the reduction on all of rayon's threads.
pub fn symmetric_eigenvalues(a: &Mat<f64>) -> Result<Vec<f64>, SpectrumError> {
    symmetric_eigenvalues_lower(a.clone(), Par::rayon(0))
}

/// The spectrum of the `n x d` row-major matrix `x` (row `t` = gradient `t`), by the
/// route [`Route::choose`] picks, with blocks of `block` columns (Gram) or rows
/// (direct). Memory beyond `x`: `O(min(n, d)^2 + block * max(n, d))` f64.
pub fn spectrum_of_rows(
    x: &[f32],
    n: usize,
    d: usize,
    kind: MatrixKind,
    block: usize,
) -> Result<Spectrum, SpectrumError> {
    spectrum_of_rows_by(x, n, d, kind, block, Route::choose(n, d))
}

/// [`spectrum_of_rows`] by the given route (tests compare the two).
pub fn spectrum_of_rows_by(
    x: &[f32],
    n: usize,
    d: usize,
    kind: MatrixKind,
    block: usize,
    route: Route,
) -> Result<Spectrum, SpectrumError> {
    if x.len() != n * d {
        return Err(SpectrumError::Shape(format!(
            "{} values for a {n} x {d} matrix",
            x.len()
        )));
    }
    let block = block.max(1);
    match route {
        Route::Gram => {
            let mut acc = GramAccumulator::new(n, d, kind)?;
            let mut start = 0;
            while start < d {
                let width = block.min(d - start);
                let mut b = Mat::<f64>::zeros(n, width);
                for t in 0..n {
                    let row = &x[t * d + start..t * d + start + width];
                    for (j, &v) in row.iter().enumerate() {
                        b[(t, j)] = v as f64;
                    }
                }
                acc.add_block(b.as_mut())?;
                start += width;
            }
            acc.finish()
        }
        Route::Direct => {
            let mut acc = DirectAccumulator::new(d, kind, block)?;
            for t in 0..n {
                acc.push(&x[t * d..(t + 1) * d])?;
            }
            acc.finish()
        }
    }
}

#[cfg(test)]
mod tests;
