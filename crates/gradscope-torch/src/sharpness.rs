//! Sharpness over training: the top eigenvalue of the training loss's Hessian, tracked
//! every few steps.
//!
//! Cohen, Kaur, Li, Kolter and Talwalkar ("Gradient descent on neural networks typically
//! occurs at the edge of stability", ICLR 2021) find that under full-batch gradient
//! descent with step size eta the sharpness lambda_max(H) first rises (progressive
//! sharpening) and then hovers just above 2/eta, the largest value at which gradient
//! descent on the local quadratic model is stable; they compute it by Lanczos on a fixed
//! subset of the training set. Here: the mean cross-entropy over a fixed, seeded subset
//! of the training examples (all of them when the subset is at least as large: the
//! full-batch setting), its exact Hessian-vector products
//! ([`crate::hessian::LossHessian`]: the R-operator for plain ReLU networks, double
//! backward otherwise), and Lanczos with full reorthogonalisation
//! ([`crate::hessian_spectrum::lanczos_from`]) stopping at relative residual `tol`.
//!
//! Warm start: each measurement starts from the previous top eigenvector plus a seeded
//! Gaussian perturbation of relative size [`PERTURBATION`]. The parameters moved little
//! since, so the old eigenvector is close to the new one and Lanczos converges in a few
//! products; the perturbation keeps the start from lying in an invariant subspace that
//! misses the new top eigenvector (which would return a smaller eigenvalue). The
//! Hessian is that of the loss alone (weight decay adds its coefficient to every
//! eigenvalue; BatchNorm layers in evaluation mode).

use crate::datasets::Split;
use crate::hessian::LossHessian;
use crate::hessian_spectrum::lanczos_from;
use crate::models::Model;
use anyhow::{bail, Context, Result};
use gradscope_stats::rng;
use rand::seq::index::sample;
use rand_distr::{Distribution, StandardNormal};
use tch::{Kind, Tensor};

/// Relative size of the random part of a warm start.
pub const PERTURBATION: f64 = 1e-2;

/// Examples per chunk of the Hessian's products (bounds the graph's memory).
const CHUNK: usize = 1024;

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct SharpnessPoint {
    /// The top eigenvalue of the Hessian of the mean loss over the subset.
    pub lambda_max: f64,
    /// Its Lanczos residual |H u - lambda u| (estimated, |beta s|).
    pub residual: f64,
    /// Hessian-vector products this measurement took.
    pub products: usize,
    pub converged: bool,
    /// The mean loss over the subset at these parameters.
    pub loss: f64,
}

/// The fixed subset and the last eigenvector.
#[derive(Debug)]
pub struct SharpnessTracker {
    x: Tensor,
    y: Tensor,
    tol: f64,
    max_iter: usize,
    seed: u64,
    previous: Option<Tensor>,
    measured: u64,
}

impl SharpnessTracker {
    /// The settings [`SharpnessTracker::new`] refuses, checkable before any data is
    /// loaded (`train` does, so that a bad one is a usage error before any work).
    pub fn check_settings(samples: usize, tol: f64, max_iter: usize) -> Result<()> {
        if samples == 0 {
            bail!("--sharpness-samples 0: the sharpness needs at least one example");
        }
        if !(tol.is_finite() && tol > 0.0) {
            bail!("--sharpness-tol {tol}: must be positive");
        }
        if max_iter == 0 {
            // One product is no iteration: it recorded |H v| of a random v as "sharpness".
            bail!("--sharpness-max-iter 0: the power iteration needs at least one step");
        }
        Ok(())
    }

    /// A tracker over `samples` training examples drawn without replacement by `seed`
    /// (all of them, in order, when `samples` >= the training set). `tol`: relative
    /// Lanczos residual; `max_iter`: products per measurement at most.
    pub fn new(
        train: &Split,
        samples: usize,
        tol: f64,
        max_iter: usize,
        seed: u64,
    ) -> Result<Self> {
        Self::check_settings(samples, tol, max_iter)?;
        let n = train.len();
        let (x, y) = if samples >= n {
            (train.images.shallow_clone(), train.labels.shallow_clone())
        } else {
            let mut r = rng::stream(seed, 0x5A4B);
            let mut idx: Vec<i64> = sample(&mut r, n, samples)
                .into_iter()
                .map(|i| i as i64)
                .collect();
            idx.sort_unstable();
            let idx = Tensor::f_from_slice(&idx)?;
            (
                train.images.f_index_select(0, &idx)?,
                train.labels.f_index_select(0, &idx)?,
            )
        };
        Ok(Self {
            x,
            y,
            tol,
            max_iter: max_iter.max(1),
            seed,
            previous: None,
            measured: 0,
        })
    }

    /// Examples in the subset.
    pub fn examples(&self) -> usize {
        self.y.size()[0] as usize
    }

    /// The sharpness of `model` at its current parameters.
    pub fn measure(&mut self, model: &Model) -> Result<SharpnessPoint> {
        let mut hessian = LossHessian::new(model, &self.x, &self.y, CHUNK, false)?;
        let (loss, _) = hessian.gradient()?;
        let d = hessian.dim();
        let device = model.store.device();
        let mut r = rng::stream(self.seed, self.measured);
        self.measured += 1;
        let noise: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
        let noise = Tensor::f_from_slice(&noise)?.f_to_device(device)?;
        let start = match &self.previous {
            None => noise,
            Some(prev) => {
                let scale = PERTURBATION / (d as f64).sqrt();
                prev.f_add(&noise.f_mul_scalar(scale)?)?
            }
        };
        let eig = lanczos_from(&start, 1, self.max_iter, self.tol, |v| hessian.hvp(v))
            .context("Lanczos for the sharpness")?;
        self.previous = Some(eig.vectors.f_get(0)?.f_to_kind(Kind::Double)?);
        Ok(SharpnessPoint {
            lambda_max: eig.values[0],
            residual: eig.residuals[0],
            products: eig.products,
            converged: eig.converged,
            loss,
        })
    }
}
