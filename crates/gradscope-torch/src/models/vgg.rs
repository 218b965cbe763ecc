//! VGG-11 (Simonyan and Zisserman 2014, configuration A) for 32x32 inputs as the walk
//! study trains it on CIFAR-10: 3x3 convolutions 64, M, 128, M, 256, 256, M, 512, 512, M,
//! 512, 512, M (M = 2x2 max pool), then one linear classifier on the 512 features (the
//! usual CIFAR adaptation; the study gives no classifier sizes). Biases, ReLU, PyTorch's
//! default init; `vgg11-bn` adds BatchNorm after each convolution. 9,225,610 parameters
//! (9,231,114 with BN) for 10 classes.

use super::layers::{max_pool, maybe_bn, BatchNorm, Conv2d, Linear};
use super::{flat_features, InputSpec, Net};
use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::Tensor;

#[derive(Debug)]
pub struct Vgg {
    layers: Vec<Option<(Conv2d, Option<BatchNorm>)>>,
    fc: Linear,
}

impl Vgg {
    pub fn vgg11(s: &mut ParamStore, spec: &InputSpec, bn: bool) -> Result<Self> {
        let cfg = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
        let mut layers = Vec::new();
        let mut cin = spec.channels;
        let mut i = 0;
        for &c in &cfg {
            if c == 0 {
                layers.push(None);
            } else {
                i += 1;
                let conv = Conv2d::new(
                    s,
                    &format!("conv{i}"),
                    cin,
                    c,
                    3,
                    1,
                    1,
                    true,
                    Init::UniformFanIn(cin * 9),
                )?;
                let b = if bn {
                    Some(BatchNorm::new(s, &format!("bn{i}"), c)?)
                } else {
                    None
                };
                layers.push(Some((conv, b)));
                cin = c;
            }
        }
        let flat = flat_features(spec, s.device(), |x| Self::features_of(&layers, x, false))?;
        let fc = Linear::new(s, "fc", flat, spec.classes, true, Init::UniformFanIn(flat))?;
        Ok(Self { layers, fc })
    }

    fn features_of(
        layers: &[Option<(Conv2d, Option<BatchNorm>)>],
        x: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let mut h = x.shallow_clone();
        for l in layers {
            h = match l {
                None => max_pool(&h, 2)?,
                Some((c, b)) => maybe_bn(b, c.forward(&h)?, train)?.f_relu()?,
            };
        }
        Ok(h)
    }
}

impl Net for Vgg {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = Self::features_of(&self.layers, x, train)?.f_flatten(1, -1)?;
        self.fc.forward(&h)
    }
}
