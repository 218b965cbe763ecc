//! One SGD step exactly as `train` takes it, the run's settings and position as its
//! checkpoints record them, and a replay that resumes from a checkpoint.
//!
//! A step (Trainer::step) is: the minibatch of global step t from the stateless
//! [`EpochSampler`] (seed, t), the optional augmentation drawn from stream
//! (seed ^ 0xA1163E47, t), gradients zeroed, mean cross-entropy in training mode,
//! backward, optional global-norm clipping, then the optimiser's update at the learning
//! rate of the epoch t / batches-per-epoch. `train` and the measuring tools that replay a
//! run (`interp-loss`, `hessian-align`) call this one function, so a replay from a
//! checkpoint takes the steps the original run took: the same parameters bit for bit on
//! CPU with the same thread count (tested in `gradscope-torch-cli/tests`).
//!
//! Checkpoints store a [`RunState`]: the position (step, optimiser step count, the epoch's
//! running sums, metrics so far), and, since the walk-study tools, the optimiser settings
//! ([`TrainConfig`]) and the data preprocessing, so a replay needs nothing but the file.
//! Both are optional in the record (serde defaults), so checkpoints written before them
//! still load; a replay from one of those is refused with a message saying so.

use crate::datasets::{self, DatasetName, Preprocess};
use crate::models::Model;
use crate::optim::{clip_grad_norm, Optimizer, OptimizerKind};
use crate::sampler::EpochSampler;
use crate::{checkpoint, Dataset, Split};
use anyhow::{bail, Context, Result};
use gradscope_stats::rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The optimiser of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// Plain SGD.
    Sgd,
    /// SGD with heavy-ball momentum.
    Momentum,
    /// Adam with betas (0.9, 0.999) and eps 1e-8.
    Adam,
}

/// The optimisation settings of a run (what `train`'s flags set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub optimizer: OptimizerName,
    /// Base learning rate.
    pub lr: f64,
    /// Momentum coefficient (used by `Momentum` only).
    pub momentum: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
    /// Epochs at which the learning rate is multiplied by `lr_decay`; values below 1 are
    /// fractions of `epochs`.
    pub lr_decay_at: Vec<f64>,
    pub lr_decay: f64,
    /// The run's length in epochs (resolves the fractional `lr_decay_at`).
    pub epochs: usize,
    /// Global L2 norm the gradient is clipped to.
    pub clip_grad_norm: Option<f64>,
    /// Random flips and padded crops of the training images.
    pub augment: bool,
}

impl TrainConfig {
    /// The optimiser with its hyper-parameters.
    pub fn optimizer_kind(&self) -> OptimizerKind {
        match self.optimizer {
            OptimizerName::Sgd => OptimizerKind::Sgd { momentum: 0.0 },
            OptimizerName::Momentum => OptimizerKind::Sgd {
                momentum: self.momentum,
            },
            OptimizerName::Adam => OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        }
    }

    /// The learning rate during 0-based epoch `epoch`: lr x lr_decay^(number of
    /// milestones m with epoch >= round(m)), m scaled by `epochs` when below 1.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let passed = self.lr_decay_at.iter().filter(|&&m| {
            let m = if m < 1.0 { m * self.epochs as f64 } else { m };
            epoch as f64 >= m.round()
        });
        self.lr * self.lr_decay.powi(passed.count() as i32)
    }
}

/// One row of `train`'s metrics.parquet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRow {
    pub epoch: u64,
    pub step: u64,
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: f64,
    pub val_acc: f64,
    pub wall_s: f64,
}

/// One row of `train`'s sharpness.parquet (`--sharpness-every`): the top Hessian
/// eigenvalue of the training loss over a fixed subset, after `step` steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharpnessRow {
    pub step: u64,
    /// Epochs completed, fractional (step / steps per epoch).
    pub epoch: f64,
    /// The learning rate of the next step.
    pub lr: f64,
    /// lambda_max of the loss's Hessian over the subset.
    pub sharpness: f64,
    /// Lanczos residual estimate of that eigenpair.
    pub residual: f64,
    pub products: u64,
    pub converged: bool,
    /// The mean loss over the subset.
    pub subset_loss: f64,
}

/// One row of `train`'s subset_loss.parquet (`--loss-every`): the training loss of the
/// parameters after `step` steps over a fixed subset of the training set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubsetLossRow {
    pub step: u64,
    /// Epochs completed, fractional (step / steps per epoch).
    pub epoch: f64,
    /// Training examples the `step` steps used (E = B S with a constant batch size).
    pub examples: u64,
    /// Mean loss over the subset (nats per example).
    pub loss: f64,
    /// Fraction of the subset classified correctly.
    pub acc: f64,
}

/// The run's position and settings, stored in every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub model: String,
    pub dataset: String,
    /// Provenance description of the data ("mnist+standardize", ...).
    pub data: String,
    pub seed: u64,
    pub batch_size: usize,
    /// Steps taken.
    pub step: u64,
    /// The optimiser's step count (Adam's t).
    pub optimizer_t: u64,
    /// Sums over the current epoch's minibatches so far: loss x size, correct, examples.
    pub loss_sum: f64,
    pub correct: f64,
    pub seen: f64,
    pub wall_s: f64,
    pub metrics: Vec<EpochRow>,
    /// The optimisation settings (absent in checkpoints written before they were stored).
    #[serde(default)]
    pub config: Option<TrainConfig>,
    /// The data preprocessing (absent likewise).
    #[serde(default)]
    pub preprocess: Option<Preprocess>,
    /// The sharpness so far (`--sharpness-every`; absent, and not written, otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sharpness: Vec<SharpnessRow>,
    /// The subset loss so far (`--loss-every`; absent, and not written, otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subset_loss: Vec<SubsetLossRow>,
}

/// What one step did.
#[derive(Debug)]
pub struct StepOutcome {
    /// The 0-based epoch the step belongs to.
    pub epoch: usize,
    /// The learning rate it used.
    pub lr: f64,
    /// The minibatch's mean loss before the update.
    pub loss: f64,
    /// Correctly classified examples of the minibatch (before the update).
    pub correct: f64,
    /// Minibatch size.
    pub examples: usize,
    /// The minibatch gradient before clipping, flattened in layout order (f32), when
    /// [`Trainer::keep_grad`] is set.
    pub grad: Option<Tensor>,
}

/// A model with its optimiser, taking `train`'s steps.
#[derive(Debug)]
pub struct Trainer {
    pub model: Model,
    pub opt: Optimizer,
    pub config: TrainConfig,
    pub seed: u64,
    pub batch_size: usize,
    /// Return each step's minibatch gradient in [`StepOutcome::grad`].
    pub keep_grad: bool,
    sampler: EpochSampler,
    params: Vec<Tensor>,
    device: Device,
}

impl Trainer {
    /// A trainer for `model` on a training split of `n_train` examples.
    pub fn new(
        model: Model,
        config: TrainConfig,
        seed: u64,
        batch_size: usize,
        n_train: usize,
        device: Device,
    ) -> Self {
        let params = model.store.tensors();
        let opt = Optimizer::new(config.optimizer_kind(), config.weight_decay, params.len());
        Self {
            model,
            opt,
            config,
            seed,
            batch_size,
            keep_grad: false,
            sampler: EpochSampler::new(n_train, batch_size, seed, false),
            params,
            device,
        }
    }

    /// The parameter names in layout order.
    pub fn names(&self) -> Vec<String> {
        self.model
            .store
            .params()
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// Continues with minibatches of `batch_size` (a new sampler over `n_train` examples,
    /// same seed), keeping the parameters and optimiser state: the trajectories of
    /// different batch sizes from one point (the walk study's Figure 7).
    pub fn set_batch_size(&mut self, batch_size: usize, n_train: usize) {
        self.batch_size = batch_size;
        self.sampler = EpochSampler::new(n_train, batch_size, self.seed, false);
    }

    /// Minibatches per epoch (the last one of an epoch may be smaller).
    pub fn batches_per_epoch(&self) -> u64 {
        self.sampler.batches_per_epoch() as u64
    }

    /// The minibatch indices of global step `step`.
    pub fn batch_indices(&mut self, step: u64) -> Vec<i64> {
        self.sampler.batch(step)
    }

    /// Takes global step `step` (0-based) on `train`: see the module documentation.
    pub fn step(&mut self, train: &Split, step: u64) -> Result<StepOutcome> {
        let per_epoch = self.batches_per_epoch().max(1);
        let epoch = (step / per_epoch) as usize;
        let lr = self.config.lr_at(epoch);
        let idx = self.sampler.batch(step);
        let (mut x, y) = train.batch(&idx, self.device)?;
        if self.config.augment {
            x = datasets::augment(&x, &mut rng::stream(self.seed ^ 0xA116_3E47, step))?;
        }
        for p in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.f_zero_()?;
            }
        }
        let (loss, logits) = self.model.loss(&x, &y, true)?;
        loss.f_backward().context("backward pass failed")?;
        let grad = if self.keep_grad {
            Some(flat_grad(&self.params)?)
        } else {
            None
        };
        if let Some(c) = self.config.clip_grad_norm {
            clip_grad_norm(&self.params, c)?;
        }
        self.opt.step(&self.params, lr)?;
        let l = loss.f_double_value(&[])?;
        if !l.is_finite() {
            bail!("the loss diverged ({l}) at step {step} (lower --lr?)");
        }
        let correct = logits
            .f_argmax(1, false)?
            .f_eq_tensor(&y)?
            .f_sum(Kind::Int64)?
            .f_int64_value(&[])? as f64;
        Ok(StepOutcome {
            epoch,
            lr,
            loss: l,
            correct,
            examples: idx.len(),
            grad,
        })
    }

    /// Restores the parameters, buffers and optimiser state from checkpoint tensors.
    pub fn load(
        &mut self,
        tensors: &[(String, Tensor)],
        optimizer_t: u64,
        what: &str,
    ) -> Result<()> {
        self.model.store.load_from(tensors, what)?;
        let names = self.names();
        self.opt.load_state(&names, tensors, optimizer_t)
    }

    /// Writes the parameters, buffers, optimiser state and `state` to `path` atomically.
    pub fn save(&self, state: &RunState, path: &Path) -> Result<()> {
        let mut tensors = self.model.store.named_tensors();
        tensors.extend(self.opt.named_state(&self.names()));
        checkpoint::save(path, &tensors, &serde_json::to_value(state)?)
    }
}

/// The `.grad` of `params` flattened and concatenated (zeros where undefined), f32.
pub fn flat_grad(params: &[Tensor]) -> Result<Tensor> {
    let parts: Vec<Tensor> = params
        .iter()
        .map(|p| {
            let g = p.grad();
            if g.defined() {
                Ok(g.f_detach_copy()?.f_flatten(0, -1)?)
            } else {
                Ok(p.f_zeros_like()?.f_flatten(0, -1)?)
            }
        })
        .collect::<Result<_>>()?;
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// A run resumed from a checkpoint: the trainer at the checkpoint's step, the run's record
/// and its data.
#[derive(Debug)]
pub struct Replay {
    pub trainer: Trainer,
    pub state: RunState,
    pub data: Dataset,
}

/// Reads a `train` checkpoint as a [`RunState`] and its tensors.
pub fn read_checkpoint(path: &Path) -> Result<(Vec<(String, Tensor)>, RunState)> {
    let (tensors, state) = checkpoint::load(path)?;
    let state: RunState = serde_json::from_value(state)
        .with_context(|| format!("{} is not a train checkpoint", path.display()))?;
    Ok((tensors, state))
}

/// Resumes the run of checkpoint `path`: builds its model on `device`, loads the
/// parameters, buffers and optimiser state, and loads its dataset (looked up in
/// `data_dirs`) with the run's preprocessing. Seeds libtorch's generator with the run's
/// seed (the model's initial values are overwritten by the checkpoint's).
pub fn replay_from(path: &Path, data_dirs: &[PathBuf], device: Device) -> Result<Replay> {
    let (tensors, state) = read_checkpoint(path)?;
    let (Some(config), Some(pre)) = (state.config.clone(), state.preprocess.clone()) else {
        bail!(
            "checkpoint {} does not record its optimiser settings (written by an older train); re-run train to replay it",
            path.display()
        );
    };
    let name = DatasetName::parse(&state.dataset)
        .with_context(|| format!("checkpoint {}", path.display()))?;
    let data = datasets::load(name, data_dirs, &pre)?;
    let (c, h, w, classes) = name.shape();
    let spec = crate::models::InputSpec {
        channels: c,
        height: h,
        width: w,
        classes,
    };
    tch::manual_seed(state.seed as i64);
    let model = Model::new(&state.model, &spec, device)?;
    let mut trainer = Trainer::new(
        model,
        config,
        state.seed,
        state.batch_size,
        data.train.len(),
        device,
    );
    trainer.load(
        &tensors,
        state.optimizer_t,
        &format!("checkpoint {}", path.display()),
    )?;
    Ok(Replay {
        trainer,
        state,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(decay: Vec<f64>) -> TrainConfig {
        TrainConfig {
            optimizer: OptimizerName::Momentum,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
            lr_decay_at: decay,
            lr_decay: 0.1,
            epochs: 20,
            clip_grad_norm: None,
            augment: false,
        }
    }

    #[test]
    fn lr_schedule_counts_passed_milestones() {
        let c = config(vec![0.5, 15.0]);
        assert_eq!(c.lr_at(0), 0.1);
        assert_eq!(c.lr_at(9), 0.1);
        assert!((c.lr_at(10) - 0.01).abs() < 1e-15);
        assert!((c.lr_at(15) - 0.001).abs() < 1e-15);
    }

    #[test]
    fn old_state_records_still_parse() {
        let old = serde_json::json!({
            "model": "fnn", "dataset": "synthetic", "data": "synthetic", "seed": 1,
            "batch_size": 8, "step": 3, "optimizer_t": 3, "loss_sum": 0.0, "correct": 0.0,
            "seen": 0.0, "wall_s": 0.0, "metrics": []
        });
        let s: RunState = serde_json::from_value(old).unwrap();
        assert!(s.config.is_none() && s.preprocess.is_none());
        let mut s2 = s.clone();
        s2.config = Some(config(vec![]));
        let back: RunState = serde_json::from_value(serde_json::to_value(&s2).unwrap()).unwrap();
        assert_eq!(back.config, s2.config);
    }

    /// Two trainers from the same initialisation taking the same steps agree bit for bit,
    /// and a trainer saved after step 3 and reloaded into a fresh model continues
    /// identically (the replay property `interp-loss` relies on).
    #[test]
    fn saved_and_reloaded_trainer_takes_identical_steps() {
        let data = datasets::load(DatasetName::Synthetic, &[], &Preprocess::default()).unwrap();
        let spec = crate::models::InputSpec::MNIST;
        let build = || {
            tch::manual_seed(2);
            let m = Model::new("fnn-bn", &spec, Device::Cpu).unwrap();
            Trainer::new(m, config(vec![]), 7, 32, data.train.len(), Device::Cpu)
        };
        let mut a = build();
        for t in 0..3 {
            a.step(&data.train, t).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let state = RunState {
            model: "fnn-bn".into(),
            dataset: "synthetic".into(),
            data: "synthetic".into(),
            seed: 7,
            batch_size: 32,
            step: 3,
            optimizer_t: a.opt.t,
            loss_sum: 0.0,
            correct: 0.0,
            seen: 0.0,
            wall_s: 0.0,
            metrics: vec![],
            config: Some(a.config.clone()),
            preprocess: Some(Preprocess::default()),
            sharpness: vec![],
            subset_loss: vec![],
        };
        a.save(&state, &p).unwrap();
        let mut r = replay_from(&p, &[], Device::Cpu).unwrap();
        assert_eq!(r.state.step, 3);
        for t in 3..20 {
            a.step(&data.train, t).unwrap();
            r.trainer.step(&r.data.train, t).unwrap();
        }
        for (x, y) in a
            .model
            .store
            .named_tensors()
            .iter()
            .zip(r.trainer.model.store.named_tensors())
        {
            assert!(x.1.equal(&y.1), "{} differs", x.0);
        }
        // an old record cannot be replayed, and says why
        let mut old = state.clone();
        old.config = None;
        a.save(&old, &p).unwrap();
        let e = replay_from(&p, &[], Device::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("does not record its optimiser settings"));
    }
}
