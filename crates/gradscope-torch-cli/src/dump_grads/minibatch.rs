//! The minibatch gradients of `dump-grads`, computed by worker threads, each on its own
//! replica of the model, and handed to the writer in the order of one sequential run.

use super::Sampling;
use crate::shard::Shard;
use anyhow::{Context, Result};
use gradscope_torch::{grads, sampler, Model, Split};
use std::sync::mpsc;
use tch::Tensor;

/// One computed gradient on its way to the writer.
pub struct Computed {
    pub step: u64,
    pub sample: u32,
    pub loss: f64,
    pub batch_size: u32,
    pub values: Vec<f32>,
}

/// A parameter point for the workers: the training step and the values to load.
pub struct Point {
    pub step: u64,
    pub what: String,
    pub tensors: Vec<(String, Tensor)>,
}

/// The minibatch gradients of every point, shared out among `workers` threads: worker
/// `w` computes the gradients numbered `w`, `w + workers`, ... of each point, on its own
/// replica of the model (BatchNorm's running statistics, which a training-mode forward
/// pass updates, are then never shared between threads).
pub struct MinibatchJob<'a> {
    pub batch_sizes: &'a [usize],
    pub samples: usize,
    pub sampling: Sampling,
    pub seed: u64,
    pub which: &'a [usize],
    pub train_mode: bool,
    pub device: tch::Device,
    pub workers: usize,
    pub shard: Shard,
}

impl MinibatchJob<'_> {
    /// Worker `w`: loads each point it receives and sends its share of the gradients.
    /// Stops without an error when the writer has stopped (whoever stopped it says why).
    pub fn run(
        &self,
        w: usize,
        model: Model,
        train: &Split,
        points: mpsc::Receiver<Point>,
        out: &mpsc::SyncSender<Computed>,
        spent: &mpsc::Receiver<Vec<f32>>,
    ) -> Result<()> {
        let n = train.len();
        for point in points {
            model.store.load_from(&point.tensors, &point.what)?;
            let mut sample: u32 = 0;
            for &b in self.batch_sizes {
                let mut epoch = sampler::EpochSampler::new(n, b, self.seed, true);
                for i in 0..self.samples {
                    let j = sample as usize;
                    if self.shard.owns(j) && self.shard.rank(j) % self.workers == w {
                        let idx = match self.sampling {
                            Sampling::Independent => {
                                sampler::independent(n, b, self.seed, sample as u64)
                            }
                            Sampling::Epoch => epoch.batch(i as u64),
                        };
                        let (x, y) = train.batch(&idx, self.device)?;
                        let (loss, g) = grads::minibatch_grad_parts(
                            &model,
                            self.which,
                            &x,
                            &y,
                            self.train_mode,
                        )
                        .with_context(|| {
                            format!("gradient of minibatch {sample} (batch size {b})")
                        })?;
                        let mut values = spent.try_recv().unwrap_or_default();
                        grads::to_vec(&g, &mut values)?;
                        let c = Computed::new(point.step, sample, loss, b, values);
                        if out.send(c).is_err() {
                            return Ok(());
                        }
                    }
                    sample += 1;
                }
            }
        }
        Ok(())
    }
}

impl Computed {
    pub fn new(step: u64, sample: u32, loss: f64, batch_size: usize, values: Vec<f32>) -> Self {
        Self {
            step,
            sample,
            loss,
            batch_size: batch_size as u32,
            values,
        }
    }
}
