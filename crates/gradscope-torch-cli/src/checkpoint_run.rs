//! A `train` checkpoint opened with the run it belongs to, for the tools that measure at
//! a checkpoint (`interp-loss`, `hessian-align`): the replay (the model at the
//! checkpoint, the trainer that continues the run, the run's state; see
//! `gradscope_torch::trainer::replay_from`), the training data read as the run read it,
//! and fixed seeded subsets of the training split as one batch of tensors.

use anyhow::Result;
use gradscope_torch::trainer::{replay_from, Replay};
use gradscope_torch::{datasets, sampler};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// The checkpoint's replay and where its dataset's files were found.
pub struct CheckpointRun {
    pub replay: Replay,
    /// The directories the dataset is looked up in: `--data-dir`, then data/raw and
    /// $GRADSCOPE_DATA_MIRROR.
    pub data_dirs: Vec<PathBuf>,
}

impl CheckpointRun {
    /// Opens the checkpoint at `path` and its dataset (looked up in `data_dir` first), the
    /// model on `device`. libtorch is set up first (`threads`; its generator seeded with
    /// `seed`), as every draw of the tool follows from it.
    pub fn open(
        path: &Path,
        data_dir: Option<&Path>,
        device: Device,
        threads: usize,
        seed: u64,
    ) -> Result<Self> {
        gradscope_torch::device::init_torch(threads, seed);
        let data_dirs = datasets::search_dirs(data_dir);
        let replay = replay_from(path, &data_dirs, device)?;
        Ok(Self { replay, data_dirs })
    }

    /// The checkpoint replayed afresh (a trajectory that starts at it again).
    pub fn reopen(&self, path: &Path, device: Device) -> Result<Replay> {
        replay_from(path, &self.data_dirs, device)
    }

    /// The examples of the training split.
    pub fn examples(&self) -> usize {
        self.replay.data.train.len()
    }

    /// The indices of `samples` training examples drawn once, without replacement, with
    /// `seed` on `stream` (`gradscope_torch::sampler::independent`), or of the whole split
    /// for 0; None when more are asked for than the split holds (the caller names its
    /// flag).
    pub fn subset(&self, samples: usize, seed: u64, stream: u64) -> Option<Vec<i64>> {
        let n = self.examples();
        if samples == 0 {
            Some((0..n as i64).collect())
        } else if samples > n {
            None
        } else {
            Some(sampler::independent(n, samples, seed, stream))
        }
    }

    /// The images and labels of training examples `idx`, on the CPU.
    pub fn batch(&self, idx: &[i64]) -> Result<(Tensor, Tensor)> {
        self.replay.data.train.batch(idx, Device::Cpu)
    }
}
