//! Options shared by the libtorch tools.

use anyhow::Result;
use clap::Args;
use gradscope_torch::datasets::{self, DatasetName, Preprocess};
use gradscope_torch::models::InputSpec;
use gradscope_torch::Dataset;
use std::path::PathBuf;

/// Which data, and how it is preprocessed.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Dataset: mnist, fashion-mnist, cifar10, cifar100, synthetic (1x28x28, 10 classes,
    /// 512 + 128 images) or synthetic-cifar (3x32x32).
    #[arg(long, default_value = "mnist", value_parser = dataset_name)]
    pub dataset: String,

    /// Directory holding the dataset files (looked up before data/raw, where `make data`
    /// puts them, and $GRADSCOPE_DATA_MIRROR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Per-pixel standardisation with the training set's mean and standard deviation
    /// (default: pixels scaled to [0, 1] only).
    #[arg(long)]
    pub standardize: bool,

    /// Hold out this many training images as a validation split, chosen by --data-seed
    /// (the vMF study: 5000 for CIFAR-10). 0: none.
    #[arg(long, default_value_t = 0)]
    pub val_size: usize,

    /// Symmetric label noise: probability that a training label is replaced by another
    /// class chosen uniformly (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub label_noise: f64,

    /// Replace every training label by a uniformly random class.
    #[arg(long, conflicts_with = "label_noise")]
    pub random_labels: bool,

    /// Seed of the validation split and of the label noise.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,
}

impl DataArgs {
    /// The preprocessing these flags ask for.
    pub fn preprocess(&self) -> Preprocess {
        Preprocess {
            standardize: self.standardize,
            val_size: self.val_size,
            label_noise: self.label_noise,
            random_labels: self.random_labels,
            seed: self.data_seed,
        }
    }

    /// Loads and preprocesses the dataset.
    pub fn load(&self) -> Result<Dataset> {
        let name = DatasetName::parse(&self.dataset)?;
        datasets::load(
            name,
            &datasets::search_dirs(self.data_dir.as_deref()),
            &self.preprocess(),
        )
    }

    /// The model input of this dataset, without loading it.
    pub fn spec(&self) -> Result<InputSpec> {
        let (channels, height, width, classes) = DatasetName::parse(&self.dataset)?.shape();
        Ok(InputSpec {
            channels,
            height,
            width,
            classes,
        })
    }

    /// Provenance description ("mnist", "cifar10+std+val5000", ...).
    pub fn describe(&self) -> String {
        let mut s = self.dataset.clone();
        if self.standardize {
            s.push_str("+standardize");
        }
        if self.val_size > 0 {
            s.push_str(&format!("+val{}", self.val_size));
        }
        if self.label_noise > 0.0 {
            s.push_str(&format!("+noise{}", self.label_noise));
        }
        if self.random_labels {
            s.push_str("+random-labels");
        }
        s
    }
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
