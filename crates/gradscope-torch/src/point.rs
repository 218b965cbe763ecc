//! Points in a model's parameter space: snapshots of its floating-point tensors, the
//! straight line between two of them, and the mean loss and accuracy of the model on a
//! fixed set of examples at a point (what `interp-loss` evaluates).
//!
//! A point holds every parameter and every BatchNorm buffer. Between iterates theta_t and
//! theta_{t+1} the model is set to theta(alpha) = theta_t + alpha (theta_{t+1} - theta_t)
//! (the walk study's interpolation, after Goodfellow et al. 2014), buffers included, with
//! libtorch's `lerp`, which returns theta_t exactly at alpha = 0 and theta_{t+1} exactly at
//! alpha = 1; restoring a snapshot copies it back bit for bit, so measuring between two
//! steps leaves the run's trajectory untouched.

use crate::models::Model;
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// A copy of a model's parameters and buffers, in store order.
#[derive(Debug)]
pub struct Point(Vec<Tensor>);

fn live(model: &Model) -> Vec<Tensor> {
    model
        .store
        .params()
        .iter()
        .chain(model.store.buffers())
        .map(|n| n.tensor.shallow_clone())
        .collect()
}

impl Point {
    /// The model's current point.
    pub fn of(model: &Model) -> Result<Self> {
        let v = tch::no_grad(|| -> Result<Vec<Tensor>> {
            live(model).iter().map(|t| Ok(t.f_detach_copy()?)).collect()
        })?;
        Ok(Self(v))
    }

    /// Sets the model to this point.
    pub fn restore(&self, model: &Model) -> Result<()> {
        let dst = live(model);
        if dst.len() != self.0.len() {
            bail!(
                "a point of {} tensors for a model of {}",
                self.0.len(),
                dst.len()
            );
        }
        tch::no_grad(|| -> Result<()> {
            for (d, s) in dst.iter().zip(&self.0) {
                d.shallow_clone().f_copy_(s)?;
            }
            Ok(())
        })
    }

    /// Sets the model to `self + alpha (end - self)` (floating tensors; others are left).
    pub fn interpolate(&self, end: &Point, alpha: f64, model: &Model) -> Result<()> {
        let dst = live(model);
        if dst.len() != self.0.len() || end.0.len() != self.0.len() {
            bail!("points of different models");
        }
        tch::no_grad(|| -> Result<()> {
            for ((d, a), b) in dst.iter().zip(&self.0).zip(&end.0) {
                if a.is_floating_point() {
                    let v = a.f_lerp(b, alpha)?;
                    d.shallow_clone().f_copy_(&v)?;
                } else {
                    d.shallow_clone().f_copy_(if alpha < 0.5 { a } else { b })?;
                }
            }
            Ok(())
        })
    }

    /// The Euclidean distance between two points' parameters and buffers (f64).
    pub fn distance(&self, other: &Point) -> Result<f64> {
        let mut s = 0.0;
        for (a, b) in self.0.iter().zip(&other.0) {
            if a.is_floating_point() {
                s += a
                    .f_sub(b)?
                    .f_square()?
                    .f_sum(Kind::Double)?
                    .f_double_value(&[])?;
            }
        }
        Ok(s.sqrt())
    }
}

/// A fixed set of examples on the model's device, evaluated in chunks.
#[derive(Debug)]
pub struct EvalSet {
    chunks: Vec<(Tensor, Tensor)>,
    n: usize,
}

impl EvalSet {
    /// Images (N, C, H, W) and labels (N), moved to `device` once, in chunks of at most
    /// `chunk` examples (as large as memory allows: fewer, larger forward passes).
    pub fn new(x: &Tensor, y: &Tensor, chunk: usize, device: tch::Device) -> Result<Self> {
        let n = y.size()[0];
        let chunk = chunk.max(1) as i64;
        let mut chunks = Vec::new();
        let mut s = 0;
        while s < n {
            let len = chunk.min(n - s);
            chunks.push((
                x.f_narrow(0, s, len)?.f_to_device(device)?,
                y.f_narrow(0, s, len)?.f_to_device(device)?,
            ));
            s += len;
        }
        Ok(Self {
            chunks,
            n: n as usize,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Mean cross-entropy and accuracy of `model` at its current point, BatchNorm in
    /// evaluation mode, no gradients (f64 sums of per-chunk means times chunk sizes).
    pub fn evaluate(&self, model: &Model) -> Result<(f64, f64)> {
        let (mut loss, mut correct) = (0.0, 0.0);
        tch::no_grad(|| -> Result<()> {
            for (x, y) in &self.chunks {
                let (l, logits) = model.loss(x, y, false)?;
                loss += l.f_double_value(&[])? * y.size()[0] as f64;
                correct += logits
                    .f_argmax(1, false)?
                    .f_eq_tensor(y)?
                    .f_sum(Kind::Int64)?
                    .f_int64_value(&[])? as f64;
            }
            Ok(())
        })?;
        let n = self.n.max(1) as f64;
        Ok((loss / n, correct / n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::InputSpec;
    use tch::Device;

    #[test]
    fn interpolation_hits_both_ends_exactly_and_restores() {
        tch::manual_seed(1);
        let m = Model::new("fnn-bn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let a = Point::of(&m).unwrap();
        tch::no_grad(|| {
            for p in m.store.tensors() {
                let _ = p.shallow_clone().f_add_(&p.randn_like()).unwrap();
            }
        });
        let b = Point::of(&m).unwrap();
        assert!(a.distance(&b).unwrap() > 1.0);
        a.interpolate(&b, 0.0, &m).unwrap();
        assert_eq!(Point::of(&m).unwrap().distance(&a).unwrap(), 0.0);
        a.interpolate(&b, 1.0, &m).unwrap();
        assert_eq!(Point::of(&m).unwrap().distance(&b).unwrap(), 0.0);
        // the midpoint is halfway
        a.interpolate(&b, 0.5, &m).unwrap();
        let mid = Point::of(&m).unwrap();
        let (da, db) = (mid.distance(&a).unwrap(), mid.distance(&b).unwrap());
        assert!((da - db).abs() < 1e-5 * da, "{da} {db}");
        a.restore(&m).unwrap();
        assert_eq!(Point::of(&m).unwrap().distance(&a).unwrap(), 0.0);
    }

    #[test]
    fn chunked_evaluation_equals_one_pass() {
        tch::manual_seed(2);
        let m = Model::new("fnn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let x = Tensor::rand([50, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [50], (Kind::Int64, Device::Cpu));
        let (l1, a1) = EvalSet::new(&x, &y, 7, Device::Cpu)
            .unwrap()
            .evaluate(&m)
            .unwrap();
        let (l2, a2) = EvalSet::new(&x, &y, 50, Device::Cpu)
            .unwrap()
            .evaluate(&m)
            .unwrap();
        assert!((l1 - l2).abs() < 1e-6 && a1 == a2);
        let direct = m.loss(&x, &y, false).unwrap().0.double_value(&[]);
        assert!((l2 - direct).abs() < 1e-6);
    }
}
