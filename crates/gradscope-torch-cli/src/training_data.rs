//! The examples `dump-grads` draws its minibatches from: a built-in dataset (`--dataset`),
//! or a user's own tensors `x` and `y` (`--inputs`, see `gradscope_torch::inputs`) with
//! the loss they are trained with (`--loss`); and the model that fits them.

use crate::common::DataArgs;
use anyhow::{bail, Result};
use clap::ValueEnum;
use gradscope_tool::usage_bail;
use gradscope_torch::inputs;
use gradscope_torch::losses::{self, Loss};
use gradscope_torch::models::InputSpec;
use gradscope_torch::{DatasetName, Model, Split};
use std::path::Path;
use tch::Kind;

/// The loss a minibatch gradient is taken of (see `gradscope_torch::losses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Logits [B, C] against integer labels [B] (mean over the minibatch).
    CrossEntropy,
    /// Outputs against float targets of the same shape (mean over all elements).
    Mse,
    /// Logits [B, T, V] against next tokens [B, T] (mean over all B x T positions).
    NextToken,
}

impl From<LossArg> for Loss {
    fn from(l: LossArg) -> Loss {
        match l {
            LossArg::CrossEntropy => Loss::CrossEntropy,
            LossArg::Mse => Loss::Mse,
            LossArg::NextToken => Loss::NextToken,
        }
    }
}

/// The training examples, the model input they make, and the loss.
#[derive(Debug)]
pub struct TrainingData {
    pub train: Split,
    pub spec: InputSpec,
    pub loss: Loss,
    /// The dataset's name, or the inputs file's, for messages.
    pub name: String,
    /// For provenance: `mnist+standardize`, `inputs:tokens.safetensors`.
    pub describe: String,
    /// `x int64 [N, T], y int64 [N, T]` for `--inputs`.
    pub shapes: Option<String>,
    /// Whether the examples are a user's own (`--inputs`).
    pub user: bool,
}

impl TrainingData {
    /// The built-in dataset of `data`, or `inputs` read as a user's data for a TorchScript
    /// module (`torchscript`) or a built-in model. For a built-in model `x` must be images
    /// [N, C, H, W] (floats, converted to float32) and the class count is `classes`, else
    /// the checkpoint's dataset's (`state`), else the largest label + 1; with `--loss mse`
    /// the targets' width.
    pub fn load(
        data: &DataArgs,
        inputs: Option<&Path>,
        loss: Option<LossArg>,
        classes: Option<i64>,
        torchscript: bool,
        state: &serde_json::Value,
    ) -> Result<Self> {
        let loss: Loss = loss.map(Loss::from).unwrap_or_default();
        let Some(path) = inputs else {
            let d = data.load()?;
            return Ok(Self {
                train: d.train,
                spec: data.spec()?,
                loss,
                name: data.dataset().to_string(),
                describe: data.describe(),
                shapes: None,
                user: false,
            });
        };
        let mut inp = inputs::load(path)?;
        let shapes = inp.describe();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let xs = inp.x.size();
        let spec = if torchscript {
            let dim = |i: usize| xs.get(i).copied().unwrap_or(0);
            InputSpec {
                channels: dim(1),
                height: dim(2),
                width: dim(3),
                classes: 0,
            }
        } else {
            if loss == Loss::NextToken {
                usage_bail!("--loss next-token needs a --torchscript language model: the built-in models are image classifiers");
            }
            if xs.len() != 4 || !losses::is_float(inp.x.kind()) {
                bail!(
                    "inputs {}: the built-in models take images, x of shape [N, C, H, W] holding floats; x is {} {xs:?} (use --torchscript for a model of your own)",
                    path.display(),
                    inputs::kind_name(inp.x.kind())
                );
            }
            inp.x = inp.x.f_to_kind(Kind::Float)?;
            let ys = inp.y.size();
            let classes = match loss {
                Loss::Mse => {
                    if ys.len() != 2 {
                        bail!("inputs {}: --loss mse with a built-in model needs targets y of shape [N, K] (K outputs); y is {ys:?}", path.display());
                    }
                    ys[1]
                }
                _ => match classes.or_else(|| checkpoint_classes(state)) {
                    Some(c) => c,
                    None => {
                        if !losses::is_integer(inp.y.kind()) {
                            bail!("inputs {}: --loss cross-entropy needs integer class labels y, got {} (store y as int64)", path.display(), inputs::kind_name(inp.y.kind()));
                        }
                        inp.y.f_max()?.f_int64_value(&[])? + 1
                    }
                },
            };
            InputSpec {
                channels: xs[1],
                height: xs[2],
                width: xs[3],
                classes,
            }
        };
        Ok(Self {
            train: inp.into_split(),
            spec,
            loss,
            name: path.display().to_string(),
            describe: format!("inputs:{file}"),
            shapes: Some(shapes),
            user: true,
        })
    }

    /// What a model for these examples is built for (shareable between threads).
    pub fn recipe(&self) -> ModelRecipe {
        ModelRecipe {
            spec: self.spec,
            loss: self.loss,
            user: self.user,
        }
    }

    /// For a user's data: checks that `model` takes `x` and that its output fits the
    /// loss and the targets (see `gradscope_torch::inputs::check_fit`).
    pub fn check_fit(&self, model: &Model, train: bool) -> Result<()> {
        if self.user {
            inputs::check_fit(model, &self.train, train)?;
        }
        Ok(())
    }
}

/// The input, the loss and the kind of data a model is built for.
#[derive(Debug, Clone, Copy)]
pub struct ModelRecipe {
    pub spec: InputSpec,
    pub loss: Loss,
    pub user: bool,
}

impl ModelRecipe {
    /// The TorchScript module at `torchscript` (taking any input for a user's data,
    /// images of `spec` otherwise), or built-in model `name`; with the data's loss.
    pub fn build(
        &self,
        torchscript: Option<&Path>,
        name: &str,
        device: tch::Device,
        train: bool,
    ) -> Result<Model> {
        Ok(match torchscript {
            Some(p) if self.user => {
                gradscope_torch::torchscript::load(p, &self.spec, device, train, self.loss)?
                    .accepting_any_input()
            }
            Some(p) => Model::from_torchscript(p, &self.spec, device, train)?,
            None => Model::new(name, &self.spec, device)?.with_loss(self.loss),
        })
    }
}

/// The class count of the dataset a checkpoint was trained on.
fn checkpoint_classes(state: &serde_json::Value) -> Option<i64> {
    let name = state.get("dataset")?.as_str()?;
    DatasetName::parse(name).ok().map(|d| d.shape().3)
}
