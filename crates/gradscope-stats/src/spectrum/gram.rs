//! The Gram route: the `n x n` matrix `X X^T / c` accumulated over blocks of coordinates.
//!
//! For `n` gradients of dimension `d > n`, the non-zero eigenvalues of `X^T X / c`
//! (`d x d`) are those of `X X^T / c` (`n x n`): both are the squared singular values of
//! `X / sqrt(c)`. Each Gram entry `K_st = <g_s, g_t>` needs two whole gradients, so `K`
//! cannot be built from one gradient at a time in less than `O(n d)` memory; instead it
//! is summed over column blocks, `K = sum_b X_b X_b^T`, each block holding all `n`
//! samples' values of `b` coordinates. A streaming reader supplies the blocks by reading
//! its input once per block (or once, if all coordinates fit in one block). Memory:
//! the `n x n` f64 Gram plus one `n x b` f64 block.
//!
//! Only the lower triangle of `K` is computed (a symmetric rank-`b` update, half the
//! work of a full product); the eigensolver reads only that triangle.

use super::{symmetric_eigenvalues, MatrixKind, Route, Spectrum, SpectrumError};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatMut, Par};

/// Accumulates the Gram matrix of `n` gradients over blocks of coordinates.
#[derive(Debug)]
pub struct GramAccumulator {
    kind: MatrixKind,
    n: usize,
    dim: usize,
    seen: usize,
    gram: Mat<f64>,
}

impl GramAccumulator {
    /// A Gram matrix for `n` gradients of dimension `dim` (`dim` is checked against the
    /// blocks' total width in [`GramAccumulator::finish`]).
    pub fn new(n: usize, dim: usize, kind: MatrixKind) -> Result<Self, SpectrumError> {
        if n < kind.min_samples() {
            return Err(SpectrumError::TooFewSamples {
                kind: kind.name(),
                need: kind.min_samples(),
                got: n,
            });
        }
        if dim == 0 {
            return Err(SpectrumError::EmptyDimension);
        }
        Ok(GramAccumulator {
            kind,
            n,
            dim,
            seen: 0,
            gram: Mat::zeros(n, n),
        })
    }

    /// Bytes held: the `n x n` f64 Gram matrix.
    pub fn bytes(&self) -> usize {
        self.n * self.n * 8
    }

    /// Adds a block of coordinates: `block` is `n x b`, row `t` holding gradient `t`'s
    /// values of `b` consecutive (or any not yet added) coordinates. For the covariance
    /// the block's columns are centred in place first.
    pub fn add_block(&mut self, mut block: MatMut<'_, f64>) -> Result<(), SpectrumError> {
        if block.nrows() != self.n {
            return Err(SpectrumError::Shape(format!(
                "a block of {} rows for a Gram matrix of {} samples",
                block.nrows(),
                self.n
            )));
        }
        for j in 0..block.ncols() {
            let mut sum = 0.0;
            for t in 0..self.n {
                let v = block[(t, j)];
                if !v.is_finite() {
                    return Err(SpectrumError::NotFinite {
                        sample: t,
                        coordinate: self.seen + j,
                        value: v,
                    });
                }
                sum += v;
            }
            if self.kind == MatrixKind::Covariance {
                let mean = sum / self.n as f64;
                for t in 0..self.n {
                    block[(t, j)] -= mean;
                }
            }
        }
        let lhs = block.as_ref();
        matmul(
            self.gram.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            lhs,
            BlockStructure::Rectangular,
            lhs.transpose(),
            BlockStructure::Rectangular,
            1.0,
            Par::rayon(0),
        );
        self.seen += block.ncols();
        Ok(())
    }

    /// The number of coordinates added so far.
    pub fn covered(&self) -> usize {
        self.seen
    }

    /// The unscaled sums `K_ij = sum over the coordinates added of x_i x_j` (centred
    /// values for the covariance), row `i` holding `K_i0..K_ii` (the lower triangle): the
    /// partial Gram matrix of one block of coordinates, for a run split by coordinate.
    /// Why this splits: `K = sum_b X_b X_b^T` is a sum over disjoint blocks, and the
    /// covariance's centring is per coordinate, so the partial sums of disjoint blocks
    /// add up to the whole matrix's `K`.
    pub fn lower_rows(&self) -> Vec<Vec<f64>> {
        (0..self.n)
            .map(|i| (0..=i).map(|j| self.gram[(i, j)]).collect())
            .collect()
    }

    /// Adds a partial Gram matrix of `cols` coordinates computed elsewhere (rows as
    /// [`Self::lower_rows`] gives them).
    pub fn add_lower_rows(&mut self, rows: &[Vec<f64>], cols: usize) -> Result<(), SpectrumError> {
        if rows.len() != self.n || rows.iter().enumerate().any(|(i, r)| r.len() != i + 1) {
            return Err(SpectrumError::Shape(format!(
                "a partial Gram matrix that is not the lower triangle of {} x {}",
                self.n, self.n
            )));
        }
        for (i, r) in rows.iter().enumerate() {
            for (j, &v) in r.iter().enumerate() {
                if !v.is_finite() {
                    return Err(SpectrumError::Shape(format!(
                        "a partial Gram matrix with a non-finite entry ({i}, {j})"
                    )));
                }
                self.gram[(i, j)] += v;
            }
        }
        self.seen += cols;
        Ok(())
    }

    /// The eigenvalues of `K / c` (`c = n - 1` or `n`), descending: the `n` largest
    /// eigenvalues of the `d x d` matrix, whose other `d - n` eigenvalues are zero.
    pub fn finish(mut self) -> Result<Spectrum, SpectrumError> {
        if self.seen != self.dim {
            return Err(SpectrumError::Shape(format!(
                "blocks covered {} coordinates of {}",
                self.seen, self.dim
            )));
        }
        let scale = 1.0 / self.kind.divisor(self.n);
        for j in 0..self.n {
            for i in j..self.n {
                self.gram[(i, j)] *= scale;
            }
        }
        let eigenvalues = symmetric_eigenvalues(&self.gram)?;
        Ok(Spectrum {
            kind: self.kind,
            route: Route::Gram,
            samples: self.n,
            dim: self.dim,
            eigenvalues,
        })
    }
}
