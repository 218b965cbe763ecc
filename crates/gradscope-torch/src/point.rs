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
        self.evaluate_with(|i, y| model.loss(&self.chunks[i].0, y, false))
    }

    /// The first-layer outputs of every chunk at the model's current point (see
    /// [`crate::models::Net::first_layer`]), when the model's first layer is affine in its
    /// parameters and the outputs take at most `budget` bytes; None otherwise.
    pub fn first_outputs(&self, model: &Model, budget: usize) -> Result<Option<Vec<Tensor>>> {
        tch::no_grad(|| -> Result<Option<Vec<Tensor>>> {
            let mut out = Vec::with_capacity(self.chunks.len());
            for (x, _) in &self.chunks {
                let Some(z) = model.first_layer(x)? else {
                    return Ok(None);
                };
                // The first chunk is the longest (only the last is shorter): its size
                // times the number of chunks bounds the total.
                let size = z.numel() * z.kind().elt_size_in_bytes();
                if out.is_empty() && size.saturating_mul(self.chunks.len()) > budget {
                    return Ok(None);
                }
                out.push(z);
            }
            Ok(Some(out))
        })
    }

    /// [`EvalSet::evaluate`] at the point theta_0 + alpha (theta_1 - theta_0) from the
    /// first-layer outputs `z0` and `z1` at its ends (`first_outputs` there), with the
    /// model's parameters set to that point: the first layer's output there is
    /// z_0 + alpha (z_1 - z_0) (libtorch's `lerp`, exact at alpha = 0 and 1), and only the
    /// layers after it run. The same loss as a full forward pass up to float rounding
    /// (about 1e-7 relative in f32).
    pub fn evaluate_on_line(
        &self,
        model: &Model,
        z0: &[Tensor],
        z1: &[Tensor],
        alpha: f64,
    ) -> Result<(f64, f64)> {
        if z0.len() != self.chunks.len() || z1.len() != self.chunks.len() {
            bail!("first-layer outputs of another evaluation set");
        }
        self.evaluate_with(|i, y| {
            let z = z0[i].f_lerp(&z1[i], alpha)?;
            model.loss_after_first(&z, y, false)
        })
    }

    /// [`EvalSet::evaluate`] from the first-layer outputs `z` at the model's current
    /// point: the same operations as a full forward pass, so the same numbers.
    pub fn evaluate_after_first(&self, model: &Model, z: &[Tensor]) -> Result<(f64, f64)> {
        if z.len() != self.chunks.len() {
            bail!("first-layer outputs of another evaluation set");
        }
        self.evaluate_with(|i, y| model.loss_after_first(&z[i], y, false))
    }

    /// Mean loss and accuracy from a per-chunk (loss, logits) function.
    fn evaluate_with(
        &self,
        f: impl Fn(usize, &Tensor) -> Result<(Tensor, Tensor)>,
    ) -> Result<(f64, f64)> {
        let (mut loss, mut correct) = (0.0, 0.0);
        tch::no_grad(|| -> Result<()> {
            for (i, (_, y)) in self.chunks.iter().enumerate() {
                let (l, logits) = f(i, y)?;
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
    fn first_layer_outputs_interpolate_the_line() {
        // On the line between two points, the loss from interpolated first-layer outputs
        // equals a full forward pass at the interpolated parameters up to f32 rounding
        // (checked to 1e-5 relative), exactly at the ends, and the loss from the outputs
        // at a point is the full pass's, bit for bit. BatchNorm (fnn-bn, evaluation mode
        // with interpolated buffers) comes after the split.
        for name in ["fnn-bn", "mlp"] {
            tch::manual_seed(3);
            let m = Model::new(name, &InputSpec::MNIST, Device::Cpu).unwrap();
            let x = Tensor::rand([60, 1, 28, 28], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(10, [60], (Kind::Int64, Device::Cpu));
            let set = EvalSet::new(&x, &y, 25, Device::Cpu).unwrap();
            let a = Point::of(&m).unwrap();
            let za = set.first_outputs(&m, 1 << 30).unwrap().unwrap();
            assert_eq!(za.len(), 3);
            assert_eq!(
                set.evaluate_after_first(&m, &za).unwrap(),
                set.evaluate(&m).unwrap()
            );
            tch::no_grad(|| {
                for p in m.store.tensors() {
                    let _ = p.shallow_clone().f_add_(&(p.randn_like() * 0.05)).unwrap();
                }
            });
            let b = Point::of(&m).unwrap();
            let zb = set.first_outputs(&m, 1 << 30).unwrap().unwrap();
            for alpha in [0.0, 0.1, 0.5, 0.9, 1.0] {
                a.interpolate(&b, alpha, &m).unwrap();
                let (l_line, acc_line) = set.evaluate_on_line(&m, &za, &zb, alpha).unwrap();
                let (l_full, _) = set.evaluate(&m).unwrap();
                if alpha == 0.0 || alpha == 1.0 {
                    assert_eq!(l_line, l_full, "{name} alpha {alpha}");
                } else {
                    assert!(
                        ((l_line - l_full) / l_full).abs() < 1e-5,
                        "{name} alpha {alpha}: {l_line} vs {l_full}"
                    );
                }
                assert!((0.0..=1.0).contains(&acc_line));
            }
            // Too little memory for the outputs: no split.
            assert!(set.first_outputs(&m, 1000).unwrap().is_none());
        }
        // A convolutional first layer is not split.
        let m = Model::new("lenet", &InputSpec::MNIST, Device::Cpu).unwrap();
        let x = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [4], (Kind::Int64, Device::Cpu));
        let set = EvalSet::new(&x, &y, 4, Device::Cpu).unwrap();
        assert!(set.first_outputs(&m, 1 << 30).unwrap().is_none());
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
