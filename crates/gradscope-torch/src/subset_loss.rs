//! The training loss over a fixed subset of the training set, measured every few steps.
//!
//! McCandlish et al. ("An Empirical Model of Large-Batch Training", 2018, section 2.2)
//! measure, per batch size B, the steps S and examples E = B S that training takes to
//! reach a target loss. The mean over each epoch's minibatches (what `metrics.parquet`
//! holds) lags the parameters by half an epoch and is recorded once per epoch, too
//! coarse for runs of a few hundred large steps; here the loss is that of the current
//! parameters on one fixed, seeded subset of the training examples (evaluation mode:
//! BatchNorm's running statistics), the same subset at every measurement and for every
//! batch size of a study, so the step at which it first falls to the target is
//! comparable across runs. Units: nats per example (mean cross-entropy), accuracy a
//! fraction.

use crate::datasets::Split;
use crate::models::Model;
use anyhow::{bail, Result};
use gradscope_stats::rng;
use rand::seq::index::sample;
use tch::{Device, Kind, Tensor};

/// Examples per forward pass (bounds the activations' memory).
const CHUNK: usize = 1000;

/// Stream index of the subset's draw under the run's seed (the sharpness subset uses
/// another, so the two are independent).
const STREAM: u64 = 0x5B5E_7A55;

/// The fixed subset.
#[derive(Debug)]
pub struct SubsetLoss {
    subset: Split,
}

impl SubsetLoss {
    /// The setting [`SubsetLoss::new`] refuses, checkable before any data is loaded.
    pub fn check_samples(samples: usize) -> Result<()> {
        if samples == 0 {
            bail!("--loss-samples 0: the subset loss needs at least one example");
        }
        Ok(())
    }

    /// `samples` training examples drawn without replacement by `seed` (all of them, in
    /// order, when `samples` is at least the training set's size).
    pub fn new(train: &Split, samples: usize, seed: u64) -> Result<Self> {
        Self::check_samples(samples)?;
        let n = train.len();
        let subset = if samples >= n {
            train.shallow_clone()
        } else {
            let mut r = rng::stream(seed, STREAM);
            let mut idx: Vec<i64> = sample(&mut r, n, samples)
                .into_iter()
                .map(|i| i as i64)
                .collect();
            idx.sort_unstable();
            let (images, labels) = train.batch(&idx, Device::Cpu)?;
            Split { images, labels }
        };
        Ok(Self { subset })
    }

    /// Examples in the subset.
    pub fn examples(&self) -> usize {
        self.subset.len()
    }

    /// Mean loss and accuracy of `model` over the subset, in evaluation mode.
    pub fn measure(&self, model: &Model, device: Device) -> Result<(f64, f64)> {
        let n = self.subset.len();
        let (mut loss, mut correct) = (0.0, 0.0);
        tch::no_grad(|| -> Result<()> {
            for s in (0..n).step_by(CHUNK) {
                let idx: Vec<i64> = (s as i64..(s + CHUNK).min(n) as i64).collect();
                let (x, y) = self.subset.batch(&idx, device)?;
                let (l, logits): (Tensor, Tensor) = model.loss(&x, &y, false)?;
                loss += l.f_double_value(&[])? * idx.len() as f64;
                correct += logits
                    .f_argmax(1, false)?
                    .f_eq_tensor(&y)?
                    .f_sum(Kind::Int64)?
                    .f_int64_value(&[])? as f64;
            }
            Ok(())
        })?;
        Ok((loss / n as f64, correct / n as f64))
    }
}
