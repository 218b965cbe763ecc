//! The layers the studies' networks are made of, on [`ParamStore`] tensors.

use crate::params::{Init, ParamStore};
use anyhow::Result;
use tch::{Kind, Tensor};

/// y = x W^T (+ b).
#[derive(Debug)]
pub struct Linear {
    w: Tensor,
    b: Option<Tensor>,
}

impl Linear {
    /// `bias`: with PyTorch's default bias initialisation, uniform on +-1/sqrt(fan_in).
    pub fn new(
        s: &mut ParamStore,
        name: &str,
        inp: i64,
        out: i64,
        bias: bool,
        init: Init,
    ) -> Result<Self> {
        let w = s.param(&format!("{name}.weight"), &[out, inp], init)?;
        let b = if bias {
            Some(s.param(&format!("{name}.bias"), &[out], Init::UniformFanIn(inp))?)
        } else {
            None
        };
        Ok(Self { w, b })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.w, self.b.as_ref())?)
    }

    /// The weight (out x in) and the bias, shared with the parameter store.
    pub fn parameters(&self) -> (Tensor, Option<Tensor>) {
        (
            self.w.shallow_clone(),
            self.b.as_ref().map(Tensor::shallow_clone),
        )
    }
}

/// A 2-d convolution with square kernel, stride and padding.
#[derive(Debug)]
pub struct Conv2d {
    w: Tensor,
    b: Option<Tensor>,
    stride: i64,
    padding: i64,
}

impl Conv2d {
    pub fn new(
        s: &mut ParamStore,
        name: &str,
        cin: i64,
        cout: i64,
        k: i64,
        stride: i64,
        padding: i64,
        bias: bool,
        init: Init,
    ) -> Result<Self> {
        let w = s.param(&format!("{name}.weight"), &[cout, cin, k, k], init)?;
        let b = if bias {
            Some(s.param(
                &format!("{name}.bias"),
                &[cout],
                Init::UniformFanIn(cin * k * k),
            )?)
        } else {
            None
        };
        Ok(Self {
            w,
            b,
            stride,
            padding,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_conv2d(
            &self.w,
            self.b.as_ref(),
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            1,
        )?)
    }
}

/// Batch normalisation (Ioffe and Szegedy 2015) over channels (N,C,H,W) or features
/// (N,C): affine weight (ones) and bias (zeros), running statistics with PyTorch's
/// momentum 0.1 and eps 1e-5. In training mode it normalises with the batch's own
/// statistics (what SGD sees) and updates the running ones; in evaluation mode it uses
/// the running statistics.
#[derive(Debug)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    pub fn new(s: &mut ParamStore, name: &str, channels: i64) -> Result<Self> {
        let weight = s.param(&format!("{name}.weight"), &[channels], Init::Ones)?;
        let bias = s.param(&format!("{name}.bias"), &[channels], Init::Zeros)?;
        let running_mean = s.buffer(
            &format!("{name}.running_mean"),
            Tensor::f_zeros([channels], (Kind::Float, tch::Device::Cpu))?,
        );
        let running_var = s.buffer(
            &format!("{name}.running_var"),
            Tensor::f_ones([channels], (Kind::Float, tch::Device::Cpu))?,
        );
        Ok(Self {
            weight,
            bias,
            running_mean,
            running_var,
        })
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(x.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            0.1,
            1e-5,
            true,
        )?)
    }
}

/// An optional BatchNorm: identity when absent.
pub fn maybe_bn(bn: &Option<BatchNorm>, x: Tensor, train: bool) -> Result<Tensor> {
    match bn {
        Some(b) => b.forward(&x, train),
        None => Ok(x),
    }
}

/// Global average pooling over the spatial dimensions: (N,C,H,W) -> (N,C).
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_mean_dim([2i64, 3].as_slice(), false, Kind::Float)?)
}

/// Max pooling with a k x k window and stride k (non-overlapping).
pub fn max_pool(x: &Tensor, k: i64) -> Result<Tensor> {
    Ok(x.f_max_pool2d([k, k], [k, k], [0, 0], [1, 1], false)?)
}

/// The parameter-free shortcut of He et al. (2016, option A): subsample by `stride` and
/// append zero channels up to `cout`.
pub fn zero_pad_shortcut(x: &Tensor, stride: i64, cout: i64) -> Result<Tensor> {
    let x = if stride > 1 {
        x.f_slice(2, 0, None, stride)?.f_slice(3, 0, None, stride)?
    } else {
        x.shallow_clone()
    };
    let cin = x.size()[1];
    if cout > cin {
        // pad spec runs from the last dimension backwards: (W lo, W hi, H lo, H hi, C lo, C hi)
        Ok(x.f_constant_pad_nd([0, 0, 0, 0, 0, cout - cin])?)
    } else {
        Ok(x)
    }
}
