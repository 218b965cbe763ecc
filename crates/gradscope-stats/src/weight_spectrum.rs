//! Spectra of a network's weight matrices, reshaped as WeightWatcher does (Martin and
//! Mahoney, "Implicit self-regularization in deep neural networks", JMLR 22, 2021; the
//! `weightwatcher` package, version 0.7.7, `WWLayer.set_weight_matrices`,
//! `conv2D_Wmats` and `combined_eigenvalues`).
//!
//! A layer's weight tensor becomes one or more matrices `W` (`N x M` after orientation,
//! `N >= M`):
//! - rank 2 (dense, embedding): the tensor itself;
//! - rank 4 (Conv2D): one matrix per kernel position. The package decides the layout by
//!   `a + b >= c + d` for a shape `(a, b, c, d)`: then the kernel is trailing (PyTorch's
//!   `(out, in, kh, kw)`) and the `kh * kw` matrices are `W[:, :, i, j]`, else it is
//!   leading (Keras's `(kh, kw, in, out)`) and they are `W[i, j, :, :]`;
//! - rank 3 (Conv1D; the package's state-dict reader skips these): likewise one matrix per
//!   kernel position, `W[:, :, t]` when the last axis is no longer than the first (PyTorch's
//!   `(out, in, k)`), else `W[t, :, :]` (Keras's `(k, in, out)`).
//!
//! Each matrix is transposed if needed so that `N >= M`. The layer's empirical spectral
//! density (ESD) is the union of the `M` eigenvalues of `X = W^T W / N` of every matrix
//! (`slices * M` values): the squared singular values over `N`, the normalisation of the
//! Marchenko-Pastur law (for i.i.d. entries of variance `s^2` the bulk lies within
//! `s^2 (1 +- sqrt(M/N))^2`). WeightWatcher 0.7.7 fits `sigma^2` itself (no `1/N`; its
//! `normalize` option is off by default) and multiplies Conv2D matrices by `1/sqrt(2)`
//! first (`conv2d_norm`): a constant factor per layer, which changes `xmin` and
//! `lambda_max` by that factor and leaves the exponent and the KS distance unchanged.
//!
//! Eigenvalues: [`crate::spectrum::symmetric_eigenvalues_lower`] (a blocked
//! tridiagonalisation and the root-free QL iteration, as LAPACK's `dsyevd` without vectors)
//! on the smaller Gram matrix `W^T W` (`M x M`, lower triangle only) rather than an SVD of
//! `W`. Its cost is `N M^2` for the product (a symmetric rank-`N` update, parallel) plus
//! `~4/3 M^3` for the tridiagonalisation, where a singular-value decomposition costs
//! `~4 N M^2 - 4/3 M^3` for the bidiagonalisation; and the squared singular values are exactly
//! the quantity wanted. The price of squaring: an eigenvalue's absolute error is about
//! `M * eps * lambda_max` instead of `eps * sigma_i * sigma_max`, so eigenvalues below about
//! `1e-13 lambda_max` lose their relative accuracy. Those are what
//! [`WeightSpectrum::significant`] leaves out as numerical zeros (`lambda <=
//! lambda_max * N * eps`, numpy's `matrix_rank` tolerance, as [`crate::spectrum`]), so
//! nothing a power-law fit sees is affected.
//!
//! Norms (Martin and Mahoney's "norm metrics"): the spectral norm `||W||_2 = sigma_max`
//! (the largest singular value over the layer's matrices, in the weights' own units) and
//! the stable rank `||W||_F^2 / ||W||_2^2` (dimensionless, between 1 and `slices * M`),
//! with `||W||_F^2` the sum of squares of every entry of the tensor. WeightWatcher's
//! `spectral_norm` column is its `lambda_max`, i.e. `sigma_max^2` (halved for Conv2D),
//! and its `stable_rank` is `sum(lambda) / lambda_max`, the same ratio as ours.

use crate::powerlaw::{
    fit, FitOptions, PowerLawError, PowerLawFit, ScanOptions, Support, XminRule,
};
use crate::spectrum::symmetric_eigenvalues_lower;
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use thiserror::Error;

/// How a weight tensor is read as matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// A rank-2 tensor: one matrix.
    Dense,
    /// A rank-3 tensor: one matrix per kernel position.
    Conv1d,
    /// A rank-4 tensor: one matrix per kernel position.
    Conv2d,
}

impl LayerKind {
    /// `dense`, `conv1d` or `conv2d`.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Dense => "dense",
            LayerKind::Conv1d => "conv1d",
            LayerKind::Conv2d => "conv2d",
        }
    }
}

/// The matrices a tensor shape yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Dense or convolutional.
    pub kind: LayerKind,
    /// Rows of each oriented matrix (the larger side).
    pub n: usize,
    /// Columns of each oriented matrix (the smaller side): eigenvalues per matrix.
    pub m: usize,
    /// Matrices (kernel positions; 1 for dense): WeightWatcher's receptive field `rf`.
    pub slices: usize,
}

impl LayerShape {
    /// Eigenvalues in the layer's ESD: `slices * m`.
    pub fn eigenvalue_count(&self) -> usize {
        self.slices * self.m
    }
}

/// Where the matrices sit inside a row-major tensor: matrix `s` has entry `(r, c)` at
/// `s * slice_stride + r * row_stride + c * col_stride`.
#[derive(Debug, Clone, Copy)]
struct Slicing {
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
    /// The distance between two matrices' `(0, 0)` entries: a whole matrix when the kernel
    /// axes lead, 1 when they trail, 0 for a dense layer's one matrix.
    slice_stride: usize,
    slices: usize,
}

fn slicing(shape: &[usize]) -> Option<(LayerKind, Slicing)> {
    match *shape {
        [a, b] => Some((
            LayerKind::Dense,
            Slicing {
                rows: a,
                cols: b,
                row_stride: b,
                col_stride: 1,
                slice_stride: 0,
                slices: 1,
            },
        )),
        [a, b, c] => {
            let s = if c <= a {
                // (out, in, k): W[:, :, t].
                Slicing {
                    rows: a,
                    cols: b,
                    row_stride: b * c,
                    col_stride: c,
                    slice_stride: 1,
                    slices: c,
                }
            } else {
                // (k, in, out): W[t, :, :].
                Slicing {
                    rows: b,
                    cols: c,
                    row_stride: c,
                    col_stride: 1,
                    slice_stride: b * c,
                    slices: a,
                }
            };
            Some((LayerKind::Conv1d, s))
        }
        [a, b, c, d] => {
            let s = if a + b >= c + d {
                // (out, in, kh, kw): W[:, :, i, j], kernel positions in row-major (i, j).
                Slicing {
                    rows: a,
                    cols: b,
                    row_stride: b * c * d,
                    col_stride: c * d,
                    slice_stride: 1,
                    slices: c * d,
                }
            } else {
                // (kh, kw, in, out): W[i, j, :, :].
                Slicing {
                    rows: c,
                    cols: d,
                    row_stride: d,
                    col_stride: 1,
                    slice_stride: c * d,
                    slices: a * b,
                }
            };
            Some((LayerKind::Conv2d, s))
        }
        _ => None,
    }
}

/// The matrices a tensor of this shape yields, or `None` for ranks other than 2, 3, 4.
pub fn layer_shape(shape: &[usize]) -> Option<LayerShape> {
    let (kind, s) = slicing(shape)?;
    Some(LayerShape {
        kind,
        n: s.rows.max(s.cols),
        m: s.rows.min(s.cols),
        slices: s.slices,
    })
}

/// Why a layer's spectrum could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightSpectrumError {
    /// Not a rank 2, 3 or 4 tensor.
    #[error("a tensor of shape {0:?} is not a matrix or a convolution kernel (rank 2, 3 or 4)")]
    Rank(Vec<usize>),
    /// A zero-sized dimension.
    #[error("shape {0:?} has no entries")]
    Empty(Vec<usize>),
    /// The values do not fill the shape.
    #[error("{got} values for shape {shape:?} ({want} expected)")]
    Length {
        /// The shape.
        shape: Vec<usize>,
        /// Its element count.
        want: usize,
        /// Values given.
        got: usize,
    },
    /// NaN or infinity among the weights.
    #[error("weight {value} at flat index {index} is not finite")]
    NotFinite {
        /// Row-major index into the tensor.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The eigensolver did not converge.
    #[error("the eigensolver did not converge")]
    NoConvergence,
}

/// A layer's spectrum and norms.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSpectrum {
    /// The matrices it was computed from.
    pub shape: LayerShape,
    /// The ESD: eigenvalues of `W^T W / N` of every matrix, descending (`slices * m` of
    /// them; zero eigenvalues appear as rounding noise of either sign, see
    /// [`WeightSpectrum::significant`]). Units: squared weight units.
    pub eigenvalues: Vec<f64>,
    /// `||W||_F^2`: the sum of squares of the tensor's entries.
    pub frobenius_sq: f64,
    /// `||W||_2`: the largest singular value over the layer's matrices.
    pub spectral_norm: f64,
}

impl WeightSpectrum {
    /// The largest eigenvalue `sigma_max^2 / N`.
    pub fn lambda_max(&self) -> f64 {
        self.eigenvalues.first().copied().unwrap_or(0.0)
    }

    /// `||W||_F^2 / ||W||_2^2` (dimensionless; NaN for an all-zero tensor).
    pub fn stable_rank(&self) -> f64 {
        self.frobenius_sq / (self.spectral_norm * self.spectral_norm)
    }

    /// Eigenvalues at or below `lambda_max * N * eps` are numerically zero.
    pub fn tolerance(&self) -> f64 {
        self.lambda_max().max(0.0) * self.shape.n as f64 * f64::EPSILON
    }

    /// The eigenvalues above [`WeightSpectrum::tolerance`], descending: what a power-law
    /// fit uses.
    pub fn significant(&self) -> Vec<f64> {
        let tol = self.tolerance();
        self.eigenvalues
            .iter()
            .copied()
            .filter(|&v| v > tol)
            .collect()
    }

    /// The power-law fit of the significant eigenvalues through [`crate::powerlaw::fit`],
    /// exactly as `powerlaw-fit --column` fits a column: continuous MLE exponent, `xmin`
    /// from the KS scan (Clauset, Shalizi and Newman 2009, sec. 3.3) over the distinct
    /// values but the two largest, candidates with `alpha >= alpha_max` invalid.
    /// WeightWatcher's own fit accepts any `alpha > 1` (`alpha_max = inf`).
    pub fn fit(&self, alpha_max: f64) -> Result<PowerLawFit, PowerLawError> {
        fit(
            &self.significant(),
            &FitOptions {
                support: Support::Continuous,
                xmin: XminRule::Scan(ScanOptions {
                    alpha_max,
                    sigma_threshold: None,
                }),
            },
        )
    }
}

/// The spectrum of one weight tensor given in row-major order (see the module
/// documentation for the reshaping, the normalisation and the eigensolver).
pub fn weight_spectrum(
    shape: &[usize],
    values: &[f64],
) -> Result<WeightSpectrum, WeightSpectrumError> {
    let (kind, s) = slicing(shape).ok_or_else(|| WeightSpectrumError::Rank(shape.to_vec()))?;
    let want: usize = shape.iter().product();
    if want == 0 {
        return Err(WeightSpectrumError::Empty(shape.to_vec()));
    }
    if values.len() != want {
        return Err(WeightSpectrumError::Length {
            shape: shape.to_vec(),
            want,
            got: values.len(),
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(WeightSpectrumError::NotFinite { index, value });
    }
    let (n, m) = (s.rows.max(s.cols), s.rows.min(s.cols));
    // One matrix: the product itself runs in parallel; several: the matrices do.
    let one = |k: usize, par: Par| -> Result<Vec<f64>, WeightSpectrumError> {
        let base = k * s.slice_stride;
        // Rows of contiguous entries (dense layers, and convolutions with the kernel axes
        // leading) are read where they lie; other slicings are gathered into a copy.
        let gathered;
        let a = if s.col_stride == 1 {
            MatRef::from_row_major_slice_with_stride(&values[base..], s.rows, s.cols, s.row_stride)
        } else {
            gathered = Mat::from_fn(s.rows, s.cols, |r, c| {
                values[base + r * s.row_stride + c * s.col_stride]
            });
            gathered.as_ref()
        };
        let mut g = Mat::<f64>::zeros(m, m);
        // Lower triangle of A^T A (M = cols) or A A^T (M = rows).
        let lhs = if s.rows >= s.cols {
            a.transpose()
        } else {
            a.as_ref()
        };
        matmul(
            g.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            lhs,
            BlockStructure::Rectangular,
            lhs.transpose(),
            BlockStructure::Rectangular,
            1.0 / n as f64,
            par,
        );
        symmetric_eigenvalues_lower(g, par).map_err(|_| WeightSpectrumError::NoConvergence)
    };
    let parts: Vec<Vec<f64>> = if s.slices == 1 {
        vec![one(0, Par::rayon(0))?]
    } else {
        (0..s.slices)
            .into_par_iter()
            .map(|k| one(k, Par::Seq))
            .collect::<Result<_, _>>()?
    };
    let mut eigenvalues: Vec<f64> = parts.into_iter().flatten().collect();
    eigenvalues.sort_unstable_by(|x, y| y.total_cmp(x));
    let lambda_max = eigenvalues[0].max(0.0);
    Ok(WeightSpectrum {
        shape: LayerShape {
            kind,
            n,
            m,
            slices: s.slices,
        },
        eigenvalues,
        frobenius_sq: values.iter().map(|v| v * v).sum(),
        spectral_norm: (lambda_max * n as f64).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Q diag(s) P` with `Q` a product of Givens rotations (rows) and `P` a column
    /// rotation: singular values exactly `s` (up to rounding), in a dense matrix.
    fn with_singular_values(rows: usize, cols: usize, s: &[f64]) -> Vec<f64> {
        let mut w = vec![0.0; rows * cols];
        for (i, &v) in s.iter().enumerate() {
            w[i * cols + i] = v;
        }
        let rot_rows = |w: &mut [f64], i: usize, j: usize, t: f64| {
            let (c, sn) = (t.cos(), t.sin());
            for k in 0..cols {
                let (a, b) = (w[i * cols + k], w[j * cols + k]);
                w[i * cols + k] = c * a - sn * b;
                w[j * cols + k] = sn * a + c * b;
            }
        };
        let rot_cols = |w: &mut [f64], i: usize, j: usize, t: f64| {
            let (c, sn) = (t.cos(), t.sin());
            for k in 0..rows {
                let (a, b) = (w[k * cols + i], w[k * cols + j]);
                w[k * cols + i] = c * a - sn * b;
                w[k * cols + j] = sn * a + c * b;
            }
        };
        for i in 0..rows {
            for j in (i + 1)..rows {
                rot_rows(&mut w, i, j, 0.3 + 0.1 * (i + 2 * j) as f64);
            }
        }
        for i in 0..cols {
            for j in (i + 1)..cols {
                rot_cols(&mut w, i, j, 0.7 - 0.05 * (3 * i + j) as f64);
            }
        }
        w
    }

    fn close(a: &[f64], b: &[f64], rel: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= rel * y.abs().max(1e-300), "{x} vs {y}");
        }
    }

    #[test]
    fn dense_eigenvalues_are_squared_singular_values_over_n_either_orientation() {
        let s = [3.0, 2.0, 0.5, 0.25];
        let want: Vec<f64> = s.iter().map(|v| v * v / 7.0).collect();
        let tall = with_singular_values(7, 4, &s);
        let sp = weight_spectrum(&[7, 4], &tall).unwrap();
        assert_eq!((sp.shape.n, sp.shape.m, sp.shape.slices), (7, 4, 1));
        close(&sp.eigenvalues, &want, 1e-13);
        // The transpose: the same N, M and eigenvalues.
        let mut wide = vec![0.0; 28];
        for r in 0..7 {
            for c in 0..4 {
                wide[c * 7 + r] = tall[r * 4 + c];
            }
        }
        let sw = weight_spectrum(&[4, 7], &wide).unwrap();
        assert_eq!((sw.shape.n, sw.shape.m), (7, 4));
        close(&sw.eigenvalues, &want, 1e-13);
        assert!((sp.spectral_norm - 3.0).abs() < 1e-13);
        // ||W||_F^2 = sum s^2 = 13.3125; stable rank 13.3125 / 9.
        assert!((sp.stable_rank() - 13.3125 / 9.0).abs() < 1e-13);
    }

    #[test]
    fn rank_deficient_zeros_are_not_significant() {
        let w = with_singular_values(6, 5, &[2.0, 1.0, 0.5]);
        let sp = weight_spectrum(&[6, 5], &w).unwrap();
        assert_eq!(sp.eigenvalues.len(), 5);
        close(
            &sp.significant(),
            &[4.0 / 6.0, 1.0 / 6.0, 0.25 / 6.0],
            1e-13,
        );
    }

    #[test]
    fn conv_kernels_are_sliced_per_position_and_combined() {
        // (out, in, kh, kw) = (5, 3, 2, 2): slice (i, j) has singular values s_ij.
        let (o, c, kh, kw) = (5, 3, 2, 2);
        let sv = [
            [1.0, 0.5, 0.2],
            [2.0, 0.1, 0.05],
            [0.7, 0.6, 0.3],
            [1.5, 1.2, 0.9],
        ];
        let mut w = vec![0.0; o * c * kh * kw];
        let mut want = Vec::new();
        for (p, s) in sv.iter().enumerate() {
            let slice = with_singular_values(o, c, s);
            for r in 0..o {
                for q in 0..c {
                    w[((r * c + q) * kh + p / kw) * kw + p % kw] = slice[r * c + q];
                }
            }
            want.extend(s.iter().map(|v| v * v / 5.0));
        }
        want.sort_by(|a, b| b.total_cmp(a));
        let sp = weight_spectrum(&[o, c, kh, kw], &w).unwrap();
        assert_eq!(sp.shape.kind, LayerKind::Conv2d);
        assert_eq!((sp.shape.n, sp.shape.m, sp.shape.slices), (5, 3, 4));
        close(&sp.eigenvalues, &want, 1e-13);
        assert!((sp.spectral_norm - 2.0).abs() < 1e-13);
        // The same kernel in Keras's (kh, kw, in, out) layout: the same spectrum.
        let mut keras = vec![0.0; w.len()];
        for r in 0..o {
            for q in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        keras[((i * kw + j) * c + q) * o + r] = w[((r * c + q) * kh + i) * kw + j];
                    }
                }
            }
        }
        // 2 + 2 < 3 + 5: kernel axes leading.
        let sk = weight_spectrum(&[kh, kw, c, o], &keras).unwrap();
        close(&sk.eigenvalues, &want, 1e-13);
        // Conv1d (out, in, k) = (5, 3, 4) with the same four slices.
        let mut w1 = vec![0.0; o * c * 4];
        for r in 0..o {
            for q in 0..c {
                for p in 0..4 {
                    w1[(r * c + q) * 4 + p] = w[((r * c + q) * kh + p / kw) * kw + p % kw];
                }
            }
        }
        let s1 = weight_spectrum(&[o, c, 4], &w1).unwrap();
        assert_eq!(s1.shape.kind, LayerKind::Conv1d);
        close(&s1.eigenvalues, &want, 1e-13);
    }

    #[test]
    fn fit_is_the_powerlaw_modules_fit_of_the_significant_eigenvalues() {
        // Singular values with a power-law-like decay.
        let s: Vec<f64> = (1..=40).map(|k| (k as f64).powf(-0.8)).collect();
        let w = with_singular_values(60, 40, &s);
        let sp = weight_spectrum(&[60, 40], &w).unwrap();
        let f = sp.fit(f64::INFINITY).unwrap();
        let direct = fit(
            &sp.significant(),
            &FitOptions {
                support: Support::Continuous,
                xmin: XminRule::Scan(ScanOptions {
                    alpha_max: f64::INFINITY,
                    sigma_threshold: None,
                }),
            },
        )
        .unwrap();
        assert_eq!(f, direct);
    }

    #[test]
    fn bad_tensors_are_errors() {
        assert!(matches!(
            weight_spectrum(&[4], &[1.0; 4]),
            Err(WeightSpectrumError::Rank(_))
        ));
        assert!(matches!(
            weight_spectrum(&[2, 0], &[]),
            Err(WeightSpectrumError::Empty(_))
        ));
        assert!(matches!(
            weight_spectrum(&[2, 2], &[1.0; 3]),
            Err(WeightSpectrumError::Length { .. })
        ));
        let e = weight_spectrum(&[2, 2], &[1.0, f64::NAN, 0.0, 1.0]).unwrap_err();
        assert!(
            matches!(e, WeightSpectrumError::NotFinite { index: 1, value } if value.is_nan()),
            "{e}"
        );
    }
}
