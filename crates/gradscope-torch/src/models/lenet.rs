//! LeNet-5 (LeCun et al. 1998) as the structure study uses it on MNIST: conv 6@5x5 (padded
//! by 2 on 28x28 inputs, so the maps are the paper's 28x28), 2x2 max pool, conv 16@5x5,
//! 2x2 max pool, then 120-84-classes fully connected; ReLU activations and PyTorch's
//! default init (the study names none). 61,706 parameters on MNIST.

use super::layers::{max_pool, Conv2d, Linear};
use super::{flat_features, InputSpec, Net};
use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::Tensor;

#[derive(Debug)]
pub struct LeNet {
    c1: Conv2d,
    c2: Conv2d,
    f1: Linear,
    f2: Linear,
    f3: Linear,
}

impl LeNet {
    pub fn new(s: &mut ParamStore, spec: &InputSpec) -> Result<Self> {
        let pad = if spec.height == 28 { 2 } else { 0 };
        let c1 = Conv2d::new(
            s,
            "conv1",
            spec.channels,
            6,
            5,
            1,
            pad,
            true,
            Init::UniformFanIn(spec.channels * 25),
        )?;
        let c2 = Conv2d::new(s, "conv2", 6, 16, 5, 1, 0, true, Init::UniformFanIn(150))?;
        let flat = flat_features(spec, s.device(), |x| Self::features_of(&c1, &c2, x))?;
        let f1 = Linear::new(s, "fc1", flat, 120, true, Init::UniformFanIn(flat))?;
        let f2 = Linear::new(s, "fc2", 120, 84, true, Init::UniformFanIn(120))?;
        let f3 = Linear::new(s, "fc3", 84, spec.classes, true, Init::UniformFanIn(84))?;
        Ok(Self { c1, c2, f1, f2, f3 })
    }

    fn features_of(c1: &Conv2d, c2: &Conv2d, x: &Tensor) -> Result<Tensor> {
        let h = max_pool(&c1.forward(x)?.f_relu()?, 2)?;
        max_pool(&c2.forward(&h)?.f_relu()?, 2)
    }
}

impl Net for LeNet {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let h = Self::features_of(&self.c1, &self.c2, x)?.f_flatten(1, -1)?;
        let h = self.f1.forward(&h)?.f_relu()?;
        let h = self.f2.forward(&h)?.f_relu()?;
        self.f3.forward(&h)
    }
}
