//! Exact Hessian-vector products of plain ReLU networks by Pearlmutter's R-operator,
//! written out by hand.
//!
//! The network: z_l = a_l W_l^T + b_l for l = 0..L-1, a_0 the flattened input,
//! a_{l+1} = relu(z_l) for the hidden layers, and the loss the mean cross-entropy of the
//! logits z_{L-1} over n examples. For a direction (V_l, c_l) the R-operator
//! R{f} = d/dr f(theta + r v) at r = 0 (Pearlmutter, "Fast exact multiplication by the
//! Hessian", Neural Computation 6(1), 1994, section 4) gives H v as R{grad L}:
//!
//! - forward: R{z_l} = a_l V_l^T + c_l + R{a_l} W_l^T, R{a_{l+1}} = R{z_l} * 1[z_l > 0],
//!   R{a_0} = 0;
//! - at the loss, with p = softmax(z_{L-1}) and Y the one-hot labels:
//!   delta_{L-1} = (p - Y) / n, R{delta_{L-1}} = (p * R{z} - p sum_k(p * R{z})) / n
//!   (the cross-entropy's Hessian in the logits, diag(p) - p p^T, applied to R{z});
//! - backward: (H v)_{W_l} = R{delta_l}^T a_l + delta_l^T R{a_l},
//!   (H v)_{b_l} = sum over examples of R{delta_l},
//!   delta_{l-1} = (delta_l W_l) * 1[z_{l-1} > 0],
//!   R{delta_{l-1}} = (R{delta_l} W_l + delta_l V_l) * 1[z_{l-1} > 0]
//!   (ReLU's second derivative is zero wherever it is defined, as in libtorch's autograd,
//!   which also takes the derivative at 0 to be 0).
//!
//! Why by hand: double backward also computes the gradient itself (delta_l^T a_l), which
//! the product does not need. Counting matrix products, with u = fan-in x fan-out
//! multiply-adds per example, this costs 3u for the first layer (R{a_0} = 0, and no
//! delta is propagated into the input) and 8u for the others, against 4u and 9u by double
//! backward and 2u and 3u for a gradient: on the walk study's MLP (784-512-512-10)
//! 3,342,336 / 1,604,608 = 2.08 gradients instead of 2.50.

use anyhow::{bail, Result};
use tch::Tensor;

/// A layer's weight (out x in) and optional bias; also the shape of a direction's piece
/// and of the product's.
pub type Layer = (Tensor, Option<Tensor>);

/// The layers' tensors in parameter order: each weight, then its bias where there is one.
pub fn layer_tensors(layers: &[Layer]) -> impl Iterator<Item = &Tensor> {
    layers
        .iter()
        .flat_map(|(w, b)| std::iter::once(w).chain(b.iter()))
}

/// H v of the mean cross-entropy of the ReLU network `layers` over the examples `x`
/// (n x features, flattened) with integer `labels` (n), for the direction `v` given in
/// pieces shaped like the layers (a bias piece where the layer has a bias). The result
/// comes in the same pieces. No autograd graph is recorded.
pub fn relu_mlp_hvp(
    layers: &[Layer],
    x: &Tensor,
    labels: &Tensor,
    v: &[Layer],
) -> Result<Vec<Layer>> {
    if layers.is_empty() || layers.len() != v.len() {
        bail!(
            "R-operator product: {} layers, {} direction pieces",
            layers.len(),
            v.len()
        );
    }
    tch::no_grad(|| product(layers, x, labels, v))
}

fn product(layers: &[Layer], x: &Tensor, labels: &Tensor, v: &[Layer]) -> Result<Vec<Layer>> {
    let last = layers.len() - 1;
    let n = x.size()[0];
    let kind = x.kind();
    // Forward: each layer's input a_l and R{a_l}, and the hidden layers' ReLU masks.
    let mut inputs: Vec<(Tensor, Option<Tensor>)> = vec![(x.shallow_clone(), None)];
    let mut masks = Vec::with_capacity(last);
    let mut logits = None;
    for (l, ((w, b), (vw, vb))) in layers.iter().zip(v).enumerate() {
        let (a, ra) = &inputs[l];
        let z = a.f_linear(w, b.as_ref())?;
        let mut rz = a.f_linear(vw, vb.as_ref())?;
        if let Some(ra) = ra {
            rz = rz.f_addmm(ra, &w.f_tr()?)?;
        }
        if l == last {
            logits = Some((z, rz));
            break;
        }
        let mask = z.f_gt(0.0)?.f_to_kind(kind)?;
        let next = (z.f_mul(&mask)?, Some(rz.f_mul(&mask)?));
        masks.push(mask);
        inputs.push(next);
    }
    let Some((z, rz)) = logits else {
        bail!("R-operator product: no output layer");
    };
    let classes = z.size()[1];
    let p = z.f_softmax(1, kind)?;
    let one_hot = labels.f_one_hot(classes)?.f_to_kind(kind)?;
    let inv_n = 1.0 / n as f64;
    let mut delta = p.f_sub(&one_hot)?.f_mul_scalar(inv_n)?;
    let p_rz = p.f_mul(&rz)?;
    let mean_rz = p_rz.f_sum_dim_intlist(1, true, kind)?;
    let mut r_delta = p_rz.f_sub(&p.f_mul(&mean_rz)?)?.f_mul_scalar(inv_n)?;
    // Backward, from the output layer down.
    let mut out: Vec<Layer> = Vec::with_capacity(layers.len());
    for l in (0..=last).rev() {
        let (w, b) = &layers[l];
        let (a, ra) = &inputs[l];
        let mut hw = r_delta.f_tr()?.f_mm(a)?;
        if let Some(ra) = ra {
            hw = hw.f_addmm(&delta.f_tr()?, ra)?;
        }
        let hb = match b {
            Some(_) => Some(r_delta.f_sum_dim_intlist(0, false, kind)?),
            None => None,
        };
        out.push((hw, hb));
        if l > 0 {
            let mask = &masks[l - 1];
            let next_r = r_delta.f_mm(w)?.f_addmm(&delta, &v[l].0)?.f_mul(mask)?;
            delta = delta.f_mm(w)?.f_mul(mask)?;
            r_delta = next_r;
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hessian::{grads_with_graph, hvp_from_grads};
    use tch::{Device, Kind};

    /// A random ReLU network in f64 (widths `dims`, biases when `bias`), a direction, and
    /// `n` examples; f64 so both methods agree to rounding.
    fn setup(
        seed: i64,
        dims: &[i64],
        bias: bool,
        n: i64,
    ) -> (Vec<Layer>, Vec<Layer>, Tensor, Tensor) {
        tch::manual_seed(seed);
        let opts = (Kind::Double, Device::Cpu);
        let mut layers = Vec::new();
        let mut v = Vec::new();
        for w in dims.windows(2) {
            let (i, o) = (w[0], w[1]);
            let scale = 1.5 / (i as f64).sqrt();
            layers.push((
                Tensor::randn([o, i], opts)
                    .f_mul_scalar(scale)
                    .unwrap()
                    .set_requires_grad(true),
                bias.then(|| {
                    Tensor::randn([o], opts)
                        .f_mul_scalar(0.3)
                        .unwrap()
                        .set_requires_grad(true)
                }),
            ));
            v.push((
                Tensor::randn([o, i], opts),
                bias.then(|| Tensor::randn([o], opts)),
            ));
        }
        let x = Tensor::randn([n, dims[0]], opts);
        let y = Tensor::randint(*dims.last().unwrap(), [n], (Kind::Int64, Device::Cpu));
        (layers, v, x, y)
    }

    /// The same product by libtorch's double backward through the same network.
    fn by_autograd(layers: &[Layer], v: &[Layer], x: &Tensor, y: &Tensor) -> Vec<Tensor> {
        let mut h = x.shallow_clone();
        for (l, (w, b)) in layers.iter().enumerate() {
            h = h.linear(w, b.as_ref());
            if l + 1 < layers.len() {
                h = h.relu();
            }
        }
        let loss = h.cross_entropy_loss::<Tensor>(y, None, tch::Reduction::Mean, -100, 0.0);
        let params: Vec<Tensor> = layer_tensors(layers).map(Tensor::shallow_clone).collect();
        let pieces: Vec<Tensor> = layer_tensors(v).map(Tensor::shallow_clone).collect();
        let g = grads_with_graph(&loss, &params).unwrap();
        hvp_from_grads(&g, &params, &pieces, false).unwrap()
    }

    fn max_rel_diff(ours: &[Layer], theirs: &[Tensor]) -> f64 {
        let ours: Vec<&Tensor> = layer_tensors(ours).collect();
        assert_eq!(ours.len(), theirs.len());
        ours.iter()
            .zip(theirs)
            .map(|(a, b)| {
                let d = (*a - b).abs().max().double_value(&[]);
                d / b.abs().max().double_value(&[])
            })
            .fold(0.0, f64::max)
    }

    /// Against libtorch's double backward (the independent computation the module
    /// replaces), in f64: networks of one to three hidden layers, with and without
    /// biases (the walk MLP and the vMF fnn/dfnn shapes in small).
    #[test]
    fn r_operator_matches_double_backward() {
        for (seed, dims, bias) in [
            (1, vec![12, 9, 4], true),
            (2, vec![12, 9, 4], false),
            (3, vec![20, 11, 7, 5], true),
            (4, vec![16, 8, 8, 8, 3], false),
        ] {
            let (layers, v, x, y) = setup(seed, &dims, bias, 33);
            let ours = relu_mlp_hvp(&layers, &x, &y, &v).unwrap();
            let theirs = by_autograd(&layers, &v, &x, &y);
            let d = max_rel_diff(&ours, &theirs);
            assert!(
                d < 1e-12,
                "dims {dims:?} bias {bias}: max relative difference {d:e}"
            );
        }
    }

    /// A network without hidden layers is softmax regression, whose Hessian is known in
    /// closed form: H v for the weight is sum_i x_i x_i^T V-products through
    /// (diag(p_i) - p_i p_i^T) / n, here summed by hand over the examples.
    #[test]
    fn softmax_regression_matches_the_closed_form() {
        let (layers, v, x, y) = setup(5, &[6, 4], false, 10);
        let ours = relu_mlp_hvp(&layers, &x, &y, &v).unwrap();
        let (w, _) = &layers[0];
        let (vw, _) = &v[0];
        let n = x.size()[0];
        let mut want = Tensor::zeros([4, 6], (Kind::Double, Device::Cpu));
        for i in 0..n {
            let xi = x.get(i); // (6)
            let p = xi.matmul(&w.tr()).softmax(0, Kind::Double).detach(); // (4)
            let a = p.diag(0) - p.unsqueeze(1).matmul(&p.unsqueeze(0)); // (4, 4)
            let rz = vw.matmul(&xi); // (4)
            let r = a.matmul(&rz); // (4)
            want += r.unsqueeze(1).matmul(&xi.unsqueeze(0)) / n as f64;
        }
        let d = (&ours[0].0 - &want).abs().max().double_value(&[]);
        assert!(d < 1e-14, "max difference {d:e}");
    }

    #[test]
    fn mismatched_pieces_are_an_error() {
        let (layers, v, x, y) = setup(6, &[5, 3, 2], true, 4);
        let err = relu_mlp_hvp(&layers, &x, &y, &v[..1])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "R-operator product: 2 layers, 1 direction pieces");
    }
}
