//! The Gaussianity study's AlexNet for CIFAR (`alexnet-cifar`, `alexnet-cifar-bn`).
//!
//! Five convolutions (64, 192, 384, 256, 256 filters) and three linear layers, ReLU, no
//! LRN, no dropout, no average pool, non-overlapping 2x2 max pooling after conv 1, 2 and 5;
//! the BN variant puts BatchNorm before every hidden ReLU. The study's tables give the
//! weight counts 23,232 / 307,200 / 663,552 / 884,736 / 589,824 for the convolutions and
//! 2,560 for the classifier: so the first convolution is 64x3x11x11 (its text says it was
//! rescaled to 5x5; we follow the measured sizes and keep the text's stride 2 and padding
//! 2), conv 2 is 5x5, conv 3-5 3x3, and the classifier reads 256 features. The hidden
//! linear layers are therefore 256 wide (the study gives no other width). Biases and
//! PyTorch's default init. On 32x32 inputs the maps are 13 -> 6 -> 3 -> 1.

use super::layers::{max_pool, maybe_bn, BatchNorm, Conv2d, Linear};
use super::{flat_features, InputSpec, Net};
use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::Tensor;

#[derive(Debug)]
pub struct AlexNetCifar {
    convs: Vec<(Conv2d, Option<BatchNorm>, bool)>,
    fcs: Vec<(Linear, Option<BatchNorm>)>,
    out: Linear,
}

impl AlexNetCifar {
    pub fn new(s: &mut ParamStore, spec: &InputSpec, bn: bool) -> Result<Self> {
        // (cout, kernel, stride, padding, pool after)
        let plan = [
            (64, 11, 2, 2, true),
            (192, 5, 1, 2, true),
            (384, 3, 1, 1, false),
            (256, 3, 1, 1, false),
            (256, 3, 1, 1, true),
        ];
        let mut convs = Vec::new();
        let mut cin = spec.channels;
        for (i, &(cout, k, st, p, pool)) in plan.iter().enumerate() {
            let c = Conv2d::new(
                s,
                &format!("conv{}", i + 1),
                cin,
                cout,
                k,
                st,
                p,
                true,
                Init::UniformFanIn(cin * k * k),
            )?;
            let b = if bn {
                Some(BatchNorm::new(s, &format!("conv{}.bn", i + 1), cout)?)
            } else {
                None
            };
            convs.push((c, b, pool));
            cin = cout;
        }
        let flat = flat_features(spec, s.device(), |x| Self::features_of(&convs, x, false))?;
        let mut fcs = Vec::new();
        let mut inp = flat;
        for i in 0..2 {
            let l = Linear::new(
                s,
                &format!("fc{}", i + 1),
                inp,
                256,
                true,
                Init::UniformFanIn(inp),
            )?;
            let b = if bn {
                Some(BatchNorm::new(s, &format!("fc{}.bn", i + 1), 256)?)
            } else {
                None
            };
            fcs.push((l, b));
            inp = 256;
        }
        let out = Linear::new(s, "fc3", inp, spec.classes, true, Init::UniformFanIn(inp))?;
        Ok(Self { convs, fcs, out })
    }

    fn features_of(
        convs: &[(Conv2d, Option<BatchNorm>, bool)],
        x: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let mut h = x.shallow_clone();
        for (c, b, pool) in convs {
            h = maybe_bn(b, c.forward(&h)?, train)?.f_relu()?;
            if *pool {
                h = max_pool(&h, 2)?;
            }
        }
        Ok(h)
    }
}

impl Net for AlexNetCifar {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = Self::features_of(&self.convs, x, train)?.f_flatten(1, -1)?;
        for (l, b) in &self.fcs {
            h = maybe_bn(b, l.forward(&h)?, train)?.f_relu()?;
        }
        self.out.forward(&h)
    }
}
