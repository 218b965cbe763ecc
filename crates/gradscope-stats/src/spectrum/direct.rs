//! The direct route: the `d x d` matrix itself, for `d <= n`, in one pass over samples.
//!
//! Gradients are buffered in blocks of `b` rows. The second moment adds each block's
//! `B^T B`. The covariance keeps the running mean `mu` and co-moment matrix
//! `S = sum (g - mu)(g - mu)^T` and merges each block's own (centred) pair with the
//! pairwise update of Chan, Golub and LeVeque (1979):
//! `S = S_A + S_B + (n_A n_B / n) delta delta^T`, `delta = mu_B - mu_A`,
//! `mu = mu_A + delta n_B / n`, which avoids the cancellation of
//! `sum g g^T - n mu mu^T`. Memory: `O(d^2 + b d)` f64.

use super::{symmetric_eigenvalues, MatrixKind, Route, Spectrum, SpectrumError};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, Par};

/// Accumulates the `d x d` covariance or second moment over blocks of samples.
#[derive(Debug)]
pub struct DirectAccumulator {
    kind: MatrixKind,
    dim: usize,
    block: usize,
    buffer: Mat<f64>,
    buffered: usize,
    n: usize,
    mean: Vec<f64>,
    comoment: Mat<f64>,
}

impl DirectAccumulator {
    /// A `dim x dim` accumulator flushing every `block` samples (at least 1).
    pub fn new(dim: usize, kind: MatrixKind, block: usize) -> Result<Self, SpectrumError> {
        if dim == 0 {
            return Err(SpectrumError::EmptyDimension);
        }
        let block = block.max(1);
        Ok(DirectAccumulator {
            kind,
            dim,
            block,
            buffer: Mat::zeros(block, dim),
            buffered: 0,
            n: 0,
            mean: vec![0.0; dim],
            comoment: Mat::zeros(dim, dim),
        })
    }

    /// Adds one gradient (length `dim`).
    pub fn push(&mut self, g: &[f32]) -> Result<(), SpectrumError> {
        if g.len() != self.dim {
            return Err(SpectrumError::Shape(format!(
                "a gradient of {} values for dimension {}",
                g.len(),
                self.dim
            )));
        }
        for (j, &v) in g.iter().enumerate() {
            if !v.is_finite() {
                return Err(SpectrumError::NotFinite {
                    sample: self.n + self.buffered,
                    coordinate: j,
                    value: v as f64,
                });
            }
            self.buffer[(self.buffered, j)] = v as f64;
        }
        self.buffered += 1;
        if self.buffered == self.block {
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        let nb = self.buffered;
        if nb == 0 {
            return;
        }
        let mut b = self.buffer.as_mut().subrows_mut(0, nb);
        match self.kind {
            MatrixKind::SecondMoment => {}
            MatrixKind::Covariance => {
                let na = self.n as f64;
                let nbf = nb as f64;
                let total = na + nbf;
                let coef = na * nbf / total;
                let mut delta = vec![0.0; self.dim];
                for j in 0..self.dim {
                    let mut s = 0.0;
                    for t in 0..nb {
                        s += b[(t, j)];
                    }
                    let mu_b = s / nbf;
                    for t in 0..nb {
                        b[(t, j)] -= mu_b;
                    }
                    delta[j] = mu_b - self.mean[j];
                    self.mean[j] += delta[j] * nbf / total;
                }
                if coef > 0.0 {
                    for j in 0..self.dim {
                        for i in j..self.dim {
                            self.comoment[(i, j)] += coef * delta[i] * delta[j];
                        }
                    }
                }
            }
        }
        let lhs = b.as_ref();
        matmul(
            self.comoment.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            lhs.transpose(),
            BlockStructure::Rectangular,
            lhs,
            BlockStructure::Rectangular,
            1.0,
            Par::rayon(0),
        );
        self.n += nb;
        self.buffered = 0;
    }

    /// The `dim` eigenvalues, descending.
    pub fn finish(mut self) -> Result<Spectrum, SpectrumError> {
        self.flush();
        let kind = self.kind;
        if self.n < kind.min_samples() {
            return Err(SpectrumError::TooFewSamples {
                kind: kind.name(),
                need: kind.min_samples(),
                got: self.n,
            });
        }
        let scale = 1.0 / kind.divisor(self.n);
        for j in 0..self.dim {
            for i in j..self.dim {
                self.comoment[(i, j)] *= scale;
            }
        }
        let eigenvalues = symmetric_eigenvalues(&self.comoment)?;
        Ok(Spectrum {
            kind,
            route: Route::Direct,
            samples: self.n,
            dim: self.dim,
            eigenvalues,
        })
    }
}
