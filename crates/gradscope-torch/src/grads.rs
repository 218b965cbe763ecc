//! Minibatch gradients, flattened in layout order.
//!
//! The gradient of the mean cross-entropy over a minibatch with respect to the chosen
//! parameters, concatenated in the [`crate::ParamStore`]'s order (the gradient matrix's
//! layout). Computed with `torch.autograd.grad` semantics (`run_backward` with the
//! parameters as inputs), so nothing accumulates in `.grad` between minibatches.
//!
//! BatchNorm runs in training mode, as SGD sees it: each minibatch is normalised by its
//! own mean and variance, so the gradient is the one an SGD step would take. (The running
//! statistics move as a side effect; they do not enter a training-mode forward pass, so
//! the gradients do not depend on them.)

use crate::models::Model;
use anyhow::{Context, Result};
use tch::Tensor;

/// Which parameters' gradients are taken: indices into the store's parameters.
pub fn select(model: &Model, filter: &[String]) -> Result<Vec<usize>> {
    let params = model.store.params();
    if filter.is_empty() {
        return Ok((0..params.len()).collect());
    }
    let idx: Vec<usize> = (0..params.len())
        .filter(|&i| {
            filter
                .iter()
                .any(|f| params[i].name == *f || params[i].name.starts_with(&format!("{f}.")))
        })
        .collect();
    if idx.is_empty() {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        anyhow::bail!(
            "--tensors {} matches no parameter of {}; its parameters: {}",
            filter.join(","),
            model.name,
            names.join(", ")
        );
    }
    Ok(idx)
}

/// The loss (mean over the minibatch) and the flattened gradient of the parameters `which`.
pub fn minibatch_grad(
    model: &Model,
    which: &[usize],
    x: &Tensor,
    y: &Tensor,
    train: bool,
) -> Result<(f64, Tensor)> {
    let (loss, parts) = minibatch_grad_parts(model, which, x, y, train)?;
    let flat: Vec<Tensor> = parts
        .iter()
        .map(|g| g.f_flatten(0, -1))
        .collect::<Result<_, _>>()?;
    Ok((loss, Tensor::f_cat(&flat, 0)?))
}

/// The loss and the gradient of each parameter of `which`, one tensor per parameter:
/// [`to_vec`] copies them into the flat vector without concatenating them first (one
/// copy of the gradient instead of two).
pub fn minibatch_grad_parts(
    model: &Model,
    which: &[usize],
    x: &Tensor,
    y: &Tensor,
    train: bool,
) -> Result<(f64, Vec<Tensor>)> {
    let (loss, _) = model.loss(x, y, train)?;
    let params: Vec<Tensor> = which
        .iter()
        .map(|&i| model.store.params()[i].tensor.shallow_clone())
        .collect();
    let grads =
        Tensor::f_run_backward(&[&loss], &params, false, false).context("backward pass failed")?;
    Ok((loss.f_double_value(&[])?, grads))
}

/// Copies float tensors, flattened and one after the other, into `out` (resized to fit).
pub fn to_vec(parts: &[Tensor], out: &mut Vec<f32>) -> Result<()> {
    let n: usize = parts.iter().map(|t| t.numel()).sum();
    out.resize(n, 0.0);
    let mut offset = 0;
    for t in parts {
        let t = t.f_to_device(tch::Device::Cpu)?.f_contiguous()?;
        let k = t.numel();
        t.f_copy_data(&mut out[offset..offset + k], k)?;
        offset += k;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::InputSpec;
    use tch::{Device, Kind};

    #[test]
    fn per_example_gradients_average_to_the_batch_gradient() {
        tch::manual_seed(3);
        let m = Model::new("fnn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let which = select(&m, &[]).unwrap();
        let x = Tensor::rand([8, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5, 6, 7]);
        let (_, batch) = minibatch_grad(&m, &which, &x, &y, true).unwrap();
        let mut sum = Tensor::zeros_like(&batch);
        for i in 0..8 {
            let (_, g) =
                minibatch_grad(&m, &which, &x.narrow(0, i, 1), &y.narrow(0, i, 1), true).unwrap();
            sum += g;
        }
        let diff = (sum / 8.0 - &batch).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn equals_a_direct_backward() {
        tch::manual_seed(4);
        let m = Model::new("fnn-bn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let x = Tensor::rand([16, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::from_slice(&[1i64; 16]);
        let which = select(&m, &["fc2".to_string()]).unwrap();
        let (loss, g) = minibatch_grad(&m, &which, &x, &y, true).unwrap();
        let logits = m.forward(&x, true).unwrap();
        let l = logits.cross_entropy_for_logits(&y);
        l.backward();
        let direct = m
            .store
            .params()
            .iter()
            .find(|p| p.name == "fc2.weight")
            .unwrap()
            .tensor
            .grad()
            .flatten(0, -1);
        assert!((loss - l.double_value(&[])).abs() < 1e-6);
        assert!(g.equal(&direct));
        assert!(select(&m, &["nope".to_string()]).is_err());
    }

    #[test]
    fn parts_copied_in_place_equal_the_concatenated_gradient() {
        tch::manual_seed(5);
        let m = Model::new("lenet", &InputSpec::MNIST, Device::Cpu).unwrap();
        let which = select(&m, &[]).unwrap();
        let x = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::from_slice(&[3i64, 1, 4, 1]);
        let (loss_a, flat) = minibatch_grad(&m, &which, &x, &y, true).unwrap();
        let (loss_b, parts) = minibatch_grad_parts(&m, &which, &x, &y, true).unwrap();
        assert_eq!(loss_a, loss_b);
        let (mut a, mut b) = (Vec::new(), vec![7.0f32; 3]);
        to_vec(&[flat], &mut a).unwrap();
        to_vec(&parts, &mut b).unwrap();
        assert_eq!(a.len(), 61_706, "lenet's parameter count");
        assert_eq!(a, b);
    }
}
