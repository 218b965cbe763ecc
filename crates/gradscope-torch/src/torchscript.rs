//! A user's own network saved as TorchScript (`torch.jit.script(model).save(path)` or
//! `torch.jit.trace(...)`), as a [`Model`] whose parameters (named as
//! `named_parameters()` names them, in that order) are the gradient matrix's layout.
//!
//! Its `forward` takes one tensor, the minibatch's `x` of whatever shape and dtype the
//! module expects (images, token ids, features); a module that returns a tuple or a list
//! (as Hugging Face models return `(logits, ...)`) gives its first element. The module is
//! put in training mode (BatchNorm with minibatch statistics, dropout active) or in
//! evaluation mode once, when loaded.

use crate::losses::Loss;
use crate::models::{InputSpec, Model, Net};
use crate::params::ParamStore;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Device, IValue, Tensor};

/// A TorchScript module as a network.
pub struct TorchScriptNet(tch::CModule);

impl Net for TorchScriptNet {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // The graph executor's optimisations (profiling, then fused kernels) would make
        // a module's first calls round differently from its later ones, so a gradient
        // would depend on how many the same replica computed before it (that is, on
        // --threads). The switch is per thread, so it is set where the forward runs.
        tch::jit::set_graph_executor_optimize(false);
        match self.0.forward_is(&[IValue::Tensor(x.shallow_clone())])? {
            IValue::Tensor(t) => Ok(t),
            IValue::Tuple(v) | IValue::GenericList(v) => match v.into_iter().next() {
                Some(IValue::Tensor(t)) => Ok(t),
                _ => {
                    bail!("the module returned a tuple or list whose first element is not a tensor")
                }
            },
            _ => bail!("the module returned something other than a tensor"),
        }
    }
}

/// Loads the module at `path` on `device`, in training mode (`train`) or evaluation mode,
/// as a model for inputs `spec` (see [`Model::accepting_any_input`] for modules that do not
/// take images) with loss `loss`.
pub fn load(
    path: &Path,
    spec: &InputSpec,
    device: Device,
    train: bool,
    loss: Loss,
) -> Result<Model> {
    if !path.is_file() {
        bail!("TorchScript module {} does not exist", path.display());
    }
    let mut module = tch::CModule::load_on_device(path, device).map_err(|e| {
        // libtorch's first sentence says what failed; the rest guesses at a corrupted
        // file, when the usual cause is a file that was never TorchScript (torch.save of
        // a model or a state_dict, a pickle).
        let full = e.to_string();
        let why = full.strip_prefix("Internal torch error: ").unwrap_or(&full);
        let end = [why.find(". "), why.find('\n')]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(why.len());
        let why = why[..end].trim_end_matches('.').trim();
        anyhow::anyhow!(
            "{} is not a TorchScript module libtorch can load ({why}): save one with torch.jit.script(model).save(PATH) or torch.jit.trace",
            path.display()
        )
    })?;
    if train {
        module.f_set_train()?;
    } else {
        module.f_set_eval()?;
    }
    let mut s = ParamStore::new(device);
    for (name, t) in module
        .named_parameters()
        .with_context(|| format!("{}: cannot list parameters", path.display()))?
    {
        let _ = s.adopt(&name, t);
    }
    if s.params().is_empty() {
        bail!("TorchScript module {} has no parameters", path.display());
    }
    let name = format!(
        "torchscript:{}",
        path.file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    Ok(Model::from_parts(&name, spec, s, Box::new(TorchScriptNet(module))).with_loss(loss))
}
