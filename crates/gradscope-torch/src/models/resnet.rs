//! Residual networks (He et al. 2016).
//!
//! - `resnet20`, `resnet56` (the Gaussianity study; the walk study's ResNet-56): the CIFAR
//!   design of section 4.2: a 3x3 convolution to 16 channels, three stages of n basic
//!   blocks (n = 3, 9) at 16, 32, 64 channels on 32, 16, 8 maps, parameter-free shortcuts
//!   (option A: subsample, append zero channels), global average pooling, a linear
//!   classifier with bias. Convolutions without bias, each followed by BatchNorm; Kaiming
//!   normal init. Weight sizes as the study's tables: first conv 432, blocks 2,304 /
//!   4,608-9,216 / 18,432-36,864, classifier 640. 269,722 parameters for ResNet-20 and
//!   853,018 for ResNet-56 (ten classes, BN affine parameters included).
//! - `resnet18` (the structure study): the common CIFAR adaptation of the ImageNet
//!   ResNet-18: a 3x3 stem to 64 channels without max pool, stages of two basic blocks at
//!   64, 128, 256, 512, 1x1 convolution + BN shortcuts where the shape changes; 11,173,962
//!   parameters for ten classes.

use super::layers::{global_avg_pool, zero_pad_shortcut, BatchNorm, Conv2d, Linear};
use super::{InputSpec, Net};
use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::Tensor;

#[derive(Debug)]
enum Shortcut {
    Identity,
    /// Option A: stride and output channels.
    ZeroPad(i64, i64),
    Projection(Conv2d, BatchNorm),
}

#[derive(Debug)]
struct Block {
    c1: Conv2d,
    b1: BatchNorm,
    c2: Conv2d,
    b2: BatchNorm,
    shortcut: Shortcut,
}

impl Block {
    fn new(
        s: &mut ParamStore,
        name: &str,
        cin: i64,
        cout: i64,
        stride: i64,
        projection: bool,
    ) -> Result<Self> {
        let c1 = Conv2d::new(
            s,
            &format!("{name}.conv1"),
            cin,
            cout,
            3,
            stride,
            1,
            false,
            Init::KaimingNormal,
        )?;
        let b1 = BatchNorm::new(s, &format!("{name}.bn1"), cout)?;
        let c2 = Conv2d::new(
            s,
            &format!("{name}.conv2"),
            cout,
            cout,
            3,
            1,
            1,
            false,
            Init::KaimingNormal,
        )?;
        let b2 = BatchNorm::new(s, &format!("{name}.bn2"), cout)?;
        let shortcut = if stride == 1 && cin == cout {
            Shortcut::Identity
        } else if projection {
            let c = Conv2d::new(
                s,
                &format!("{name}.shortcut.conv"),
                cin,
                cout,
                1,
                stride,
                0,
                false,
                Init::KaimingNormal,
            )?;
            Shortcut::Projection(c, BatchNorm::new(s, &format!("{name}.shortcut.bn"), cout)?)
        } else {
            Shortcut::ZeroPad(stride, cout)
        };
        Ok(Self {
            c1,
            b1,
            c2,
            b2,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.b1.forward(&self.c1.forward(x)?, train)?.f_relu()?;
        let h = self.b2.forward(&self.c2.forward(&h)?, train)?;
        let sc = match &self.shortcut {
            Shortcut::Identity => x.shallow_clone(),
            Shortcut::ZeroPad(stride, cout) => zero_pad_shortcut(x, *stride, *cout)?,
            Shortcut::Projection(c, b) => b.forward(&c.forward(x)?, train)?,
        };
        Ok((h + sc).f_relu()?)
    }
}

/// A ResNet: stem, stages of basic blocks, global average pool, linear classifier.
#[derive(Debug)]
pub struct ResNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    blocks: Vec<Block>,
    fc: Linear,
}

impl ResNet {
    fn build(
        s: &mut ParamStore,
        spec: &InputSpec,
        widths: &[i64],
        depth: usize,
        projection: bool,
    ) -> Result<Self> {
        let stem = Conv2d::new(
            s,
            "conv1",
            spec.channels,
            widths[0],
            3,
            1,
            1,
            false,
            Init::KaimingNormal,
        )?;
        let stem_bn = BatchNorm::new(s, "bn1", widths[0])?;
        let mut blocks = Vec::new();
        let mut cin = widths[0];
        for (si, &w) in widths.iter().enumerate() {
            for j in 0..depth {
                let stride = if si > 0 && j == 0 { 2 } else { 1 };
                blocks.push(Block::new(
                    s,
                    &format!("layer{}.{}", si + 1, j),
                    cin,
                    w,
                    stride,
                    projection,
                )?);
                cin = w;
            }
        }
        let fc = Linear::new(s, "fc", cin, spec.classes, true, Init::UniformFanIn(cin))?;
        Ok(Self {
            stem,
            stem_bn,
            blocks,
            fc,
        })
    }

    /// CIFAR ResNet of depth 6n + 2 (20: n = 3; 56: n = 9).
    pub fn cifar(s: &mut ParamStore, spec: &InputSpec, n: usize) -> Result<Self> {
        Self::build(s, spec, &[16, 32, 64], n, false)
    }

    /// ResNet-18, CIFAR adaptation.
    pub fn resnet18(s: &mut ParamStore, spec: &InputSpec) -> Result<Self> {
        Self::build(s, spec, &[64, 128, 256, 512], 2, true)
    }
}

impl Net for ResNet {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = self
            .stem_bn
            .forward(&self.stem.forward(x)?, train)?
            .f_relu()?;
        for b in &self.blocks {
            h = b.forward(&h, train)?;
        }
        self.fc.forward(&global_avg_pool(&h)?)
    }
}
