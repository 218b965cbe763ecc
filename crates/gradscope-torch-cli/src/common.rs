//! Options shared by the libtorch tools.

use anyhow::{bail, Result};
use clap::Args;
use gradscope_torch::datasets::{self, DatasetName, Preprocess};
use gradscope_torch::models::InputSpec;
use gradscope_torch::Dataset;
use std::path::PathBuf;

/// Which data, and how it is preprocessed.
///
/// The settings are options whose absence is seen: `dump-grads --checkpoint` takes the
/// checkpoint's dataset and preprocessing where none is given (gradients of a network
/// trained on standardised images are taken on standardised images), and a setting given
/// replaces the checkpoint's ([`DataArgs::for_checkpoint`]).
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Dataset: mnist, fashion-mnist, cifar10, cifar100, synthetic (1x28x28, 10 classes,
    /// 512 + 128 images) or synthetic-cifar (3x32x32). Default: mnist.
    #[arg(long, value_parser = dataset_name)]
    pub dataset: Option<String>,

    /// Directory holding the dataset files (looked up before data/raw, where `make data`
    /// puts them, and $GRADSCOPE_DATA_MIRROR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Per-pixel standardisation with the training set's mean and standard deviation
    /// (default: pixels scaled to [0, 1] only).
    #[arg(long)]
    pub standardize: bool,

    /// Hold out this many training images as a validation split, chosen by --data-seed
    /// (the vMF study: 5000 for CIFAR-10). Default: 0, none.
    #[arg(long)]
    pub val_size: Option<usize>,

    /// Symmetric label noise: probability that a training label is replaced by another
    /// class chosen uniformly (0 to 1). Default: 0.
    #[arg(long, value_parser = probability)]
    pub label_noise: Option<f64>,

    /// Replace every training label by a uniformly random class.
    #[arg(long, conflicts_with = "label_noise")]
    pub random_labels: bool,

    /// Seed of the validation split and of the label noise (only with --val-size,
    /// --label-noise or --random-labels). Default: 0.
    #[arg(long)]
    pub data_seed: Option<u64>,
}

impl DataArgs {
    /// The dataset's name (mnist when none is given).
    pub fn dataset(&self) -> &str {
        self.dataset.as_deref().unwrap_or("mnist")
    }

    /// The preprocessing these flags ask for.
    pub fn preprocess(&self) -> Preprocess {
        Preprocess {
            standardize: self.standardize,
            val_size: self.val_size.unwrap_or(0),
            label_noise: self.label_noise.unwrap_or(0.0),
            random_labels: self.random_labels,
            seed: self.data_seed.unwrap_or(0),
        }
    }

    /// Refuses a --data-seed that nothing draws with: without a split or label noise it
    /// would be recorded and have no effect.
    pub fn check_seed_used(&self) -> Result<()> {
        let pre = self.preprocess();
        if self.data_seed.is_some() && !seeds_anything(&pre) {
            bail!("--data-seed: nothing is drawn with it (it seeds --val-size, --label-noise and --random-labels)");
        }
        Ok(())
    }

    /// These flags over a checkpoint's data: the checkpoint's `dataset` and preprocessing
    /// (`recorded`, absent in checkpoints older than its recording) where a flag is not
    /// given, the flag where it is. Label noise and random labels replace each other, as
    /// they exclude each other on the command line. Also returns whether the result differs
    /// from what the checkpoint was trained on.
    pub fn for_checkpoint(
        &self,
        dataset: Option<&str>,
        recorded: Option<&Preprocess>,
    ) -> (Self, bool) {
        let mut d = self.clone();
        if d.dataset.is_none() {
            d.dataset = dataset.map(str::to_string);
        }
        if let Some(r) = recorded {
            d.standardize |= r.standardize;
            d.val_size = d.val_size.or(Some(r.val_size));
            if !self.random_labels {
                d.label_noise = d.label_noise.or(Some(r.label_noise));
            }
            if self.label_noise.is_none() {
                d.random_labels |= r.random_labels;
            }
            d.data_seed = d.data_seed.or(Some(r.seed));
        }
        let differs = dataset.is_some_and(|n| n != d.dataset())
            || recorded.is_some_and(|r| !same_data(r, &d.preprocess()));
        (d, differs)
    }

    /// Loads and preprocesses the dataset.
    pub fn load(&self) -> Result<Dataset> {
        let name = DatasetName::parse(self.dataset())?;
        datasets::load(
            name,
            &datasets::search_dirs(self.data_dir.as_deref()),
            &self.preprocess(),
        )
    }

    /// The model input of this dataset, without loading it.
    pub fn spec(&self) -> Result<InputSpec> {
        let (channels, height, width, classes) = DatasetName::parse(self.dataset())?.shape();
        Ok(InputSpec {
            channels,
            height,
            width,
            classes,
        })
    }

    /// Provenance description ("mnist", "cifar10+std+val5000", ...); a data seed other
    /// than 0 is named where it draws something ("mnist+val100+dataseed3").
    pub fn describe(&self) -> String {
        let pre = self.preprocess();
        let mut s = self.dataset().to_string();
        if pre.standardize {
            s.push_str("+standardize");
        }
        if pre.val_size > 0 {
            s.push_str(&format!("+val{}", pre.val_size));
        }
        if pre.label_noise > 0.0 {
            s.push_str(&format!("+noise{}", pre.label_noise));
        }
        if pre.random_labels {
            s.push_str("+random-labels");
        }
        if pre.seed != 0 && seeds_anything(&pre) {
            s.push_str(&format!("+dataseed{}", pre.seed));
        }
        s
    }
}

/// Whether the data seed draws anything under `pre`.
fn seeds_anything(pre: &Preprocess) -> bool {
    pre.val_size > 0 || pre.label_noise > 0.0 || pre.random_labels
}

/// Whether two preprocessings give the same examples: equal settings, and the seed
/// compared only where it draws something.
pub fn same_data(a: &Preprocess, b: &Preprocess) -> bool {
    let unseeded = |p: &Preprocess| Preprocess {
        seed: if seeds_anything(p) { p.seed } else { 0 },
        ..p.clone()
    };
    unseeded(a) == unseeded(b)
}

/// The value parser of `--dataset`: an unknown name is a usage error (exit 2) naming the
/// known ones.
fn dataset_name(s: &str) -> Result<String, String> {
    DatasetName::parse(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The value parser of `--model`: an unknown name is a usage error (exit 2) naming the
/// known ones.
pub fn model_name(s: &str) -> Result<String, String> {
    gradscope_torch::models::lookup(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The value parser of a probability: a number from 0 to 1.
fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("{p} is not a probability (0 to 1)")),
        Err(e) => Err(e.to_string()),
    }
}
