//! SGD (with momentum) and Adam, written out so their state can be checkpointed by name.
//!
//! Both follow PyTorch's update rules exactly (torch.optim.SGD with dampening 0 and
//! torch.optim.Adam), so results compare with the studies' PyTorch code:
//! - SGD: g = grad + wd p; b = mu b + g (b = g at the first step); p -= lr b (mu = 0:
//!   p -= lr g);
//! - Adam (Kingma and Ba 2015): g = grad + wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//!   p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

use anyhow::{bail, Result};
use tch::Tensor;

/// The optimiser and its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimizerKind {
    Sgd { momentum: f64 },
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

/// An optimiser with its state.
#[derive(Debug)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub weight_decay: f64,
    /// Steps taken (Adam's t).
    pub t: u64,
    /// Per parameter: momentum buffer (SGD) or first moment (Adam).
    buf1: Vec<Option<Tensor>>,
    /// Per parameter: second moment (Adam).
    buf2: Vec<Option<Tensor>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, weight_decay: f64, n_params: usize) -> Self {
        Self {
            kind,
            weight_decay,
            t: 0,
            buf1: (0..n_params).map(|_| None).collect(),
            buf2: (0..n_params).map(|_| None).collect(),
        }
    }

    /// One update of `params` from their `.grad` at learning rate `lr`.
    pub fn step(&mut self, params: &[Tensor], lr: f64) -> Result<()> {
        self.t += 1;
        let t = self.t as f64;
        tch::no_grad(|| -> Result<()> {
            for (i, p) in params.iter().enumerate() {
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let g = if self.weight_decay != 0.0 {
                    grad.f_add(&p.f_mul_scalar(self.weight_decay)?)?
                } else {
                    grad
                };
                match self.kind {
                    OptimizerKind::Sgd { momentum } => {
                        let d = if momentum != 0.0 {
                            let b = match self.buf1[i].take() {
                                None => g.f_mul_scalar(1.0)?,
                                Some(b) => b.f_mul_scalar(momentum)?.f_add(&g)?,
                            };
                            let d = b.shallow_clone();
                            self.buf1[i] = Some(b);
                            d
                        } else {
                            g
                        };
                        let _ = p.shallow_clone().f_sub_(&d.f_mul_scalar(lr)?)?;
                    }
                    OptimizerKind::Adam { beta1, beta2, eps } => {
                        let m = match self.buf1[i].take() {
                            None => g.f_mul_scalar(1.0 - beta1)?,
                            Some(m) => m
                                .f_mul_scalar(beta1)?
                                .f_add(&g.f_mul_scalar(1.0 - beta1)?)?,
                        };
                        let g2 = g.f_mul(&g)?.f_mul_scalar(1.0 - beta2)?;
                        let v = match self.buf2[i].take() {
                            None => g2,
                            Some(v) => v.f_mul_scalar(beta2)?.f_add(&g2)?,
                        };
                        let mhat = m.f_div_scalar(1.0 - beta1.powf(t))?;
                        let denom = v
                            .f_div_scalar(1.0 - beta2.powf(t))?
                            .f_sqrt()?
                            .f_add_scalar(eps)?;
                        let _ = p
                            .shallow_clone()
                            .f_sub_(&mhat.f_div(&denom)?.f_mul_scalar(lr)?)?;
                        self.buf1[i] = Some(m);
                        self.buf2[i] = Some(v);
                    }
                }
            }
            Ok(())
        })
    }

    /// The state as named tensors for a checkpoint (`optim.<param>.buf1` / `.buf2`).
    pub fn named_state(&self, names: &[String]) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(b) = &self.buf1[i] {
                out.push((format!("optim.{n}.buf1"), b.shallow_clone()));
            }
            if let Some(b) = &self.buf2[i] {
                out.push((format!("optim.{n}.buf2"), b.shallow_clone()));
            }
        }
        out
    }

    /// Restores the state written by [`Self::named_state`].
    pub fn load_state(
        &mut self,
        names: &[String],
        tensors: &[(String, Tensor)],
        t: u64,
    ) -> Result<()> {
        if names.len() != self.buf1.len() {
            bail!(
                "optimizer state for {} parameters, model has {}",
                names.len(),
                self.buf1.len()
            );
        }
        let get = |k: String| {
            tensors
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, t)| t.shallow_clone())
        };
        for (i, n) in names.iter().enumerate() {
            self.buf1[i] = get(format!("optim.{n}.buf1"));
            self.buf2[i] = get(format!("optim.{n}.buf2"));
        }
        self.t = t;
        Ok(())
    }
}

/// Scales the gradients so their global L2 norm is at most `max_norm` (as PyTorch's
/// clip_grad_norm_: factor max_norm / (norm + 1e-6) when the norm exceeds it). Returns the
/// norm before clipping.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> Result<f64> {
    let mut sq = 0.0;
    for p in params {
        let g = p.grad();
        if g.defined() {
            sq += g
                .f_square()?
                .f_sum(tch::Kind::Double)?
                .f_double_value(&[])?;
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm {
        let f = max_norm / (norm + 1e-6);
        tch::no_grad(|| -> Result<()> {
            for p in params {
                let g = p.grad();
                if g.defined() {
                    let _ = g.shallow_clone().f_mul_scalar_(f)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn quad_step(kind: OptimizerKind, steps: usize) -> f64 {
        // minimise 0.5 * p^2 from p = 1: grad = p
        let p = Tensor::ones([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let mut o = Optimizer::new(kind, 0.0, 1);
        for _ in 0..steps {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
            (&p * &p * 0.5).sum(Kind::Float).backward();
            o.step(&[p.shallow_clone()], 0.1).unwrap();
        }
        p.double_value(&[0])
    }

    #[test]
    fn matches_hand_computed_updates() {
        // SGD: p <- 0.9 p, twice
        assert!((quad_step(OptimizerKind::Sgd { momentum: 0.0 }, 2) - 0.81).abs() < 1e-6);
        // momentum 0.5: b1 = 1, p = 0.9; b2 = 0.5 + 0.9 = 1.4, p = 0.9 - 0.14 = 0.76
        assert!((quad_step(OptimizerKind::Sgd { momentum: 0.5 }, 2) - 0.76).abs() < 1e-6);
        // Adam's first step moves by lr (bias-corrected m/sqrt(v) = 1): 1 - 0.1
        assert!(
            (quad_step(
                OptimizerKind::Adam {
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8
                },
                1
            ) - 0.9)
                .abs()
                < 1e-6
        );
    }
}
