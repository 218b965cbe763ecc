//! Fully connected networks: the vMF study's `fnn`, `dfnn` (+BN), the structure study's
//! `fcn` (and its widths and depths) and linear network `lnn`, and the walk study's `mlp`.

use super::layers::{maybe_bn, BatchNorm, Linear};
use super::{InputSpec, Net};
use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::Tensor;

/// How a fully connected network is built.
#[derive(Debug, Clone)]
pub struct MlpConfig {
    /// Hidden widths.
    pub hidden: Vec<i64>,
    pub bias: bool,
    /// BatchNorm right after each hidden linear map (before its ReLU, if any).
    pub batch_norm: bool,
    /// ReLU after each hidden layer; without it the network is linear in its input (up to
    /// BatchNorm), the structure study's linear network (LNN).
    pub relu: bool,
    pub init: Init,
}

impl MlpConfig {
    /// vMF study appendix E: 800 ReLU units per hidden layer, no biases, Xavier init;
    /// `fnn` has one hidden layer (784x800 + 800x10 = 635,200 weights), `dfnn` three
    /// (1,915,200); +BN adds 2 x 800 per hidden layer (636,800 and 1,920,000).
    pub fn vmf(layers: usize, batch_norm: bool) -> Self {
        Self {
            hidden: vec![800; layers],
            bias: false,
            batch_norm,
            relu: true,
            init: Init::XavierUniform,
        }
    }

    /// Structure study (Xie et al., appendix A): two hidden layers of 70, ReLU and
    /// BatchNorm; biases and PyTorch's default init (the paper names none).
    pub fn fcn() -> Self {
        Self::fcn_sized(&[70, 70])
    }

    /// The structure study's FCN with other hidden widths: its Table 6 varies the width
    /// (70, 30, 10 units a layer) and the depth (one or two hidden layers) of the
    /// otherwise unchanged network (ReLU, BatchNorm, biases, PyTorch's default init).
    pub fn fcn_sized(hidden: &[i64]) -> Self {
        Self {
            hidden: hidden.to_vec(),
            bias: true,
            batch_norm: true,
            relu: true,
            init: Init::UniformFanIn(0),
        }
    }

    /// Structure study, Table 7: the "4Layer-LNN", a linear network whose second-moment
    /// spectrum the study sets against the same network with BatchNorm and with ReLU.
    /// The appendix gives no width; gradscope reads "4Layer" as the FCN's "2Layer" (hidden
    /// layers) and takes the study's default width: four hidden layers of 70 with biases,
    /// PyTorch's default init, then the linear classifier (70,570 parameters; BatchNorm adds
    /// 2 x 70 per hidden layer, 71,130).
    pub fn lnn(batch_norm: bool, relu: bool) -> Self {
        Self {
            hidden: vec![70; 4],
            bias: true,
            batch_norm,
            relu,
            init: Init::UniformFanIn(0),
        }
    }

    /// Walk study: the paper gives no sizes for its MNIST MLP; gradscope uses two hidden
    /// layers of 512 with biases and PyTorch's default init (669,706 parameters).
    pub fn walk() -> Self {
        Self {
            hidden: vec![512, 512],
            bias: true,
            batch_norm: false,
            relu: true,
            init: Init::UniformFanIn(0),
        }
    }
}

/// Flatten, then (Linear, [BatchNorm], [ReLU]) per hidden layer, then a linear classifier.
#[derive(Debug)]
pub struct Mlp {
    hidden: Vec<(Linear, Option<BatchNorm>)>,
    relu: bool,
    out: Linear,
}

impl Mlp {
    pub fn new(s: &mut ParamStore, spec: &InputSpec, cfg: &MlpConfig) -> Result<Self> {
        let mut inp = spec.numel();
        let mut hidden = Vec::new();
        for (i, &h) in cfg.hidden.iter().enumerate() {
            let init = if let Init::UniformFanIn(_) = cfg.init {
                Init::UniformFanIn(inp)
            } else {
                cfg.init
            };
            let lin = Linear::new(s, &format!("fc{}", i + 1), inp, h, cfg.bias, init)?;
            let bn = if cfg.batch_norm {
                Some(BatchNorm::new(s, &format!("bn{}", i + 1), h)?)
            } else {
                None
            };
            hidden.push((lin, bn));
            inp = h;
        }
        let init = if let Init::UniformFanIn(_) = cfg.init {
            Init::UniformFanIn(inp)
        } else {
            cfg.init
        };
        let out = Linear::new(
            s,
            &format!("fc{}", cfg.hidden.len() + 1),
            inp,
            spec.classes,
            cfg.bias,
            init,
        )?;
        Ok(Self {
            hidden,
            relu: cfg.relu,
            out,
        })
    }
}

impl Net for Mlp {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self.first_layer(x) {
            Some(z) => self.after_first(&z?, train),
            None => self.out.forward(&x.f_flatten(1, -1)?),
        }
    }

    /// The first hidden layer's linear map (before its BatchNorm and ReLU).
    fn first_layer(&self, x: &Tensor) -> Option<Result<Tensor>> {
        let (lin, _) = self.hidden.first()?;
        Some(
            x.f_flatten(1, -1)
                .map_err(Into::into)
                .and_then(|h| lin.forward(&h)),
        )
    }

    fn after_first(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let Some(((_, bn0), rest)) = self.hidden.split_first() else {
            anyhow::bail!("a network without hidden layers has no first-layer split");
        };
        let act = |h: Tensor| -> Result<Tensor> { Ok(if self.relu { h.f_relu()? } else { h }) };
        let mut h = act(maybe_bn(bn0, z.shallow_clone(), train)?)?;
        for (lin, bn) in rest {
            h = act(maybe_bn(bn, lin.forward(&h)?, train)?)?;
        }
        self.out.forward(&h)
    }

    fn relu_layers(&self) -> Option<Vec<(Tensor, Option<Tensor>)>> {
        if !self.relu || self.hidden.iter().any(|(_, bn)| bn.is_some()) {
            return None;
        }
        let mut layers: Vec<_> = self
            .hidden
            .iter()
            .map(|(lin, _)| lin.parameters())
            .collect();
        layers.push(self.out.parameters());
        Some(layers)
    }
}
