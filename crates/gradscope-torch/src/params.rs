//! An ordered store of named parameters and buffers.
//!
//! tch's `VarStore` keeps names in a hash map; gradscope needs one fixed order (the
//! gradient matrix's layout is "parameters in creation order"), so models register their
//! tensors here. Parameters are leaf tensors with `requires_grad`; buffers (BatchNorm
//! running statistics) are plain tensors updated in place.

use anyhow::{bail, Context, Result};
use gradscope_io::grad_matrix::{layout_from_shapes, TensorLayout};
use tch::{Device, Kind, Tensor};

/// How a weight is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Glorot and Bengio (2010), uniform on +-sqrt(6 / (fan_in + fan_out)) (the vMF
    /// study's choice); for a conv weight fan = channels x kernel area.
    XavierUniform,
    /// He et al. (2015), normal with std sqrt(2 / fan_in) (ResNets, VGG).
    KaimingNormal,
    /// PyTorch's default for Linear/Conv2d: uniform on +-1/sqrt(fan_in) (weights and biases).
    UniformFanIn(i64),
    Zeros,
    Ones,
}

fn fans(shape: &[i64]) -> (f64, f64) {
    let receptive: i64 = shape.iter().skip(2).product();
    match shape.len() {
        0 | 1 => (
            shape.first().copied().unwrap_or(1) as f64,
            shape.first().copied().unwrap_or(1) as f64,
        ),
        _ => ((shape[1] * receptive) as f64, (shape[0] * receptive) as f64),
    }
}

/// A named tensor.
#[derive(Debug)]
pub struct Named {
    pub name: String,
    pub tensor: Tensor,
}

/// Parameters and buffers in creation order.
#[derive(Debug)]
pub struct ParamStore {
    device: Device,
    params: Vec<Named>,
    buffers: Vec<Named>,
}

impl ParamStore {
    pub fn new(device: Device) -> Self {
        Self {
            device,
            params: Vec::new(),
            buffers: Vec::new(),
        }
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Creates a trainable parameter `name` of `shape` initialised by `init` (drawn from
    /// libtorch's CPU generator, seeded by `tch::manual_seed`, then moved to the store's
    /// device). Why the CPU: CUDA has its own generator and draws other numbers from the
    /// same seed, so a model initialised on a GPU would not be the model `--init-seed`
    /// names on a CPU; drawn here, a seed gives the same initial parameters everywhere.
    pub fn param(&mut self, name: &str, shape: &[i64], init: Init) -> Result<Tensor> {
        if self
            .params
            .iter()
            .chain(&self.buffers)
            .any(|n| n.name == name)
        {
            bail!("model defines tensor {name} twice");
        }
        let opts = (Kind::Float, Device::Cpu);
        let t = tch::no_grad(|| -> Result<Tensor> {
            let t = match init {
                Init::Zeros => Tensor::f_zeros(shape, opts)?,
                Init::Ones => Tensor::f_ones(shape, opts)?,
                Init::XavierUniform => {
                    let (fi, fo) = fans(shape);
                    let a = (6.0 / (fi + fo)).sqrt();
                    Tensor::f_empty(shape, opts)?.f_uniform_(-a, a)?
                }
                Init::KaimingNormal => {
                    let (fi, _) = fans(shape);
                    Tensor::f_empty(shape, opts)?.f_normal_(0.0, (2.0 / fi).sqrt())?
                }
                Init::UniformFanIn(fan_in) => {
                    let a = 1.0 / (fan_in.max(1) as f64).sqrt();
                    Tensor::f_empty(shape, opts)?.f_uniform_(-a, a)?
                }
            };
            Ok(t.f_to_device(self.device)?)
        })
        .with_context(|| format!("cannot create parameter {name} {shape:?}"))?;
        let t = t.set_requires_grad(true);
        self.params.push(Named {
            name: name.to_string(),
            tensor: t.shallow_clone(),
        });
        Ok(t)
    }

    /// Registers an existing tensor (a TorchScript module's parameter) as a parameter.
    pub fn adopt(&mut self, name: &str, t: Tensor) -> Tensor {
        let t = t.set_requires_grad(true);
        self.params.push(Named {
            name: name.to_string(),
            tensor: t.shallow_clone(),
        });
        t
    }

    /// Registers a buffer (not trained, saved in checkpoints).
    pub fn buffer(&mut self, name: &str, t: Tensor) -> Tensor {
        let t = t.to_device(self.device);
        self.buffers.push(Named {
            name: name.to_string(),
            tensor: t.shallow_clone(),
        });
        t
    }

    pub fn params(&self) -> &[Named] {
        &self.params
    }

    pub fn buffers(&self) -> &[Named] {
        &self.buffers
    }

    /// The trainable tensors in order.
    pub fn tensors(&self) -> Vec<Tensor> {
        self.params
            .iter()
            .map(|n| n.tensor.shallow_clone())
            .collect()
    }

    /// The total number of trainable values.
    pub fn numel(&self) -> usize {
        self.params.iter().map(|n| n.tensor.numel()).sum()
    }

    /// The gradient-matrix layout of the parameters (name, shape, numel, offset).
    pub fn layout(&self) -> Vec<TensorLayout> {
        let shapes: Vec<(String, Vec<usize>)> = self
            .params
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    n.tensor.size().iter().map(|&d| d as usize).collect(),
                )
            })
            .collect();
        layout_from_shapes(&shapes)
    }

    /// Copies values into the store from named tensors (a checkpoint): every parameter and
    /// buffer must be present with its shape.
    pub fn load_from(&self, tensors: &[(String, Tensor)], what: &str) -> Result<()> {
        for n in self.params.iter().chain(&self.buffers) {
            let src = tensors
                .iter()
                .find(|(k, _)| k == &n.name)
                .map(|(_, t)| t)
                .with_context(|| {
                    format!(
                        "{what} has no tensor {} (was it written for another model?)",
                        n.name
                    )
                })?;
            if src.size() != n.tensor.size() {
                bail!("{what}: tensor {} has shape {:?}, the model {:?} (was it written for another model or dataset?)", n.name, src.size(), n.tensor.size());
            }
            tch::no_grad(|| n.tensor.shallow_clone().f_copy_(src))
                .with_context(|| format!("{what}: cannot load {}", n.name))?;
        }
        Ok(())
    }

    /// Every parameter and buffer, for a checkpoint.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .chain(&self.buffers)
            .map(|n| (n.name.clone(), n.tensor.shallow_clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xavier_bounds_and_order() {
        tch::manual_seed(0);
        let mut s = ParamStore::new(Device::Cpu);
        let w = s
            .param("a.weight", &[800, 784], Init::XavierUniform)
            .unwrap();
        let _ = s.param("b.weight", &[10, 800], Init::Zeros).unwrap();
        let a = (6.0f64 / (800.0 + 784.0)).sqrt();
        assert!(w.abs().max().double_value(&[]) <= a);
        assert!(w.abs().max().double_value(&[]) > 0.9 * a);
        let l = s.layout();
        assert_eq!(l[0].name, "a.weight");
        assert_eq!(l[1].offset, 800 * 784);
        assert_eq!(s.numel(), 800 * 784 + 8000);
        assert!(s.param("a.weight", &[1], Init::Zeros).is_err());
    }
}
