//! Exact Hessian-vector products of the training loss (Pearlmutter 1994), by double
//! backward.
//!
//! For a loss L(theta) and a direction v, H v = d/dtheta (grad L(theta) . v): libtorch
//! computes grad L with `create_graph` (so the gradient is itself differentiable), forms
//! the scalar grad L . v, and differentiates it once more. The cost is one forward pass,
//! one backward pass that records its own graph, and a second backward through that
//! graph: a small constant times a gradient, never the d x d matrix (Pearlmutter,
//! "Fast exact multiplication by the Hessian", Neural Computation 6(1), 1994). For dense
//! layers the constant is fixed by the matrix products: with u = fan-in x fan-out
//! multiply-adds per example, a gradient costs 2u in the first layer (no input gradient)
//! and 3u in the others, a product 4u and 9u (the backward's two products each
//! differentiated twice, the forward product's backward): 2.50x a gradient on the walk
//! MLP, and the same count for forward-over-reverse.
//!
//! [`LossHessian`] is the Hessian of the mean cross-entropy over a fixed set of examples
//! (the training set or a seeded subset of it), evaluated in chunks: with chunk c of n_c
//! of the n examples, L = sum_c (n_c / n) L_c, so H v = sum_c (n_c / n) H_c v. When the set
//! is one chunk the gradient's graph is kept between products, so each further product is
//! one backward pass.
//!
//! Plain ReLU networks (flatten, linear and ReLU layers, a linear classifier: `mlp`, `fnn`,
//! `dfnn`) take their fresh products from [`crate::hessian_rop`] instead, Pearlmutter's
//! R-operator written out, which skips the gradient that double backward computes along
//! the way: 3u and 8u, 2.08x a gradient on the walk MLP. [`LossHessian::double_backward`]
//! turns that off (for comparisons).
//!
//! BatchNorm runs in evaluation mode (running statistics): H is then the Hessian of one
//! fixed function of theta, whatever the chunking (in training mode each chunk would be
//! normalised by its own statistics). Vectors are 1-D f64 tensors in layout order on the
//! model's device; products are accumulated in f64.

use crate::hessian_rop::{layer_tensors, relu_mlp_hvp, Layer};
use crate::models::Model;
use anyhow::{bail, Context, Result};
use tch::{Kind, Tensor};

/// H v for the loss `loss` (a scalar with its graph) at `params`: the per-parameter
/// products for the per-parameter pieces `v` of the direction. `keep_graph` keeps the
/// gradient's graph for further products (pass `grads` from an earlier call to reuse it).
///
/// `grads` are the gradients of `loss` computed with `create_graph`; a parameter the
/// gradient does not depend on (a zero Hessian block) gives zeros.
pub fn hvp_from_grads(
    grads: &[Tensor],
    params: &[Tensor],
    v: &[Tensor],
    keep_graph: bool,
) -> Result<Vec<Tensor>> {
    if grads.len() != params.len() || v.len() != params.len() {
        bail!(
            "Hessian-vector product: {} gradients, {} parameters, {} direction pieces",
            grads.len(),
            params.len(),
            v.len()
        );
    }
    let mut dot: Option<Tensor> = None;
    for (g, vi) in grads.iter().zip(v) {
        if !g.defined() || !g.requires_grad() {
            continue;
        }
        let term = g.f_mul(vi)?.f_sum(g.kind())?;
        dot = Some(match dot {
            None => term,
            Some(d) => d.f_add(&term)?,
        });
    }
    let Some(dot) = dot else {
        return params.iter().map(|p| Ok(p.f_zeros_like()?)).collect();
    };
    let hv = Tensor::f_run_backward(&[&dot], params, keep_graph, false)
        .context("second backward pass (Hessian-vector product) failed")?;
    hv.into_iter()
        .zip(params)
        .map(|(h, p)| {
            if h.defined() {
                Ok(h)
            } else {
                Ok(p.f_zeros_like()?)
            }
        })
        .collect()
}

/// The first derivative with its graph kept, for [`hvp_from_grads`].
pub fn grads_with_graph(loss: &Tensor, params: &[Tensor]) -> Result<Vec<Tensor>> {
    Tensor::f_run_backward(&[loss], params, true, true)
        .context("backward pass with create_graph failed")
}

/// Splits a flat vector (layout order) into pieces shaped like `params`, in their kind.
pub fn unflatten(v: &Tensor, params: &[Tensor]) -> Result<Vec<Tensor>> {
    let mut out = Vec::with_capacity(params.len());
    let mut off = 0i64;
    for p in params {
        let n = p.numel() as i64;
        out.push(
            v.f_narrow(0, off, n)?
                .f_view(p.size().as_slice())?
                .f_to_kind(p.kind())?,
        );
        off += n;
    }
    if off != v.size()[0] {
        bail!(
            "a vector of {} values for parameters of {} values",
            v.size()[0],
            off
        );
    }
    Ok(out)
}

/// Concatenates per-parameter tensors into one flat f64 vector (undefined ones as zeros).
pub fn flatten_f64(parts: &[Tensor], params: &[Tensor]) -> Result<Tensor> {
    let flat: Vec<Tensor> = parts
        .iter()
        .zip(params)
        .map(|(t, p)| {
            if t.defined() {
                Ok(t.f_detach()?.f_flatten(0, -1)?.f_to_kind(Kind::Double)?)
            } else {
                Ok(p.f_zeros_like()?
                    .f_flatten(0, -1)?
                    .f_to_kind(Kind::Double)?)
            }
        })
        .collect::<Result<_>>()?;
    Ok(Tensor::f_cat(&flat, 0)?)
}

/// The Hessian of the mean cross-entropy of `model` over a fixed set of examples.
#[derive(Debug)]
pub struct LossHessian<'a> {
    model: &'a Model,
    params: Vec<Tensor>,
    /// (images, labels, weight n_c / n) per chunk, on the model's device.
    chunks: Vec<(Tensor, Tensor, f64)>,
    /// The gradient with its graph when the set is one chunk and caching is on.
    cached: Option<Vec<Tensor>>,
    /// The layers, when the model is a plain ReLU network whose layers hold exactly the
    /// parameters, in order: products by the R-operator.
    relu_layers: Option<Vec<Layer>>,
    /// Hessian-vector products computed so far.
    pub products: usize,
}

impl<'a> LossHessian<'a> {
    /// The Hessian over images `x` (N, C, H, W) and labels `y` (N), in chunks of at most
    /// `chunk` examples. `cache`: keep the gradient's graph between products when the set
    /// is one chunk (memory: the graph of one forward and backward pass).
    pub fn new(
        model: &'a Model,
        x: &Tensor,
        y: &Tensor,
        chunk: usize,
        cache: bool,
    ) -> Result<Self> {
        let n = y.size()[0];
        if n == 0 {
            bail!("the Hessian needs at least one example");
        }
        let chunk = chunk.max(1) as i64;
        let device = model.store.device();
        let mut chunks = Vec::new();
        let mut s = 0;
        while s < n {
            let len = chunk.min(n - s);
            chunks.push((
                x.f_narrow(0, s, len)?.f_to_device(device)?,
                y.f_narrow(0, s, len)?.f_to_device(device)?,
                len as f64 / n as f64,
            ));
            s += len;
        }
        let params = model.store.tensors();
        let relu_layers = model
            .relu_layers()
            .filter(|layers| holds_exactly(layers, &params));
        let mut h = Self {
            model,
            params,
            chunks,
            cached: None,
            relu_layers,
            products: 0,
        };
        if cache && h.chunks.len() == 1 {
            let (x, y, _) = &h.chunks[0];
            let (loss, _) = model.loss(x, y, false)?;
            h.cached = Some(grads_with_graph(&loss, &h.params)?);
        }
        Ok(h)
    }

    /// Takes every product by double backward, also for plain ReLU networks.
    pub fn double_backward(mut self) -> Self {
        self.relu_layers = None;
        self
    }

    /// Whether fresh products go through the hand-written R-operator.
    pub fn uses_r_operator(&self) -> bool {
        self.relu_layers.is_some()
    }

    /// The number of parameters (the Hessian is dim x dim).
    pub fn dim(&self) -> usize {
        self.params.iter().map(|p| p.numel()).sum()
    }

    /// Examples in the set.
    pub fn examples(&self) -> i64 {
        self.chunks.iter().map(|c| c.1.size()[0]).sum()
    }

    /// The mean loss over the set and its gradient (flat, f64).
    pub fn gradient(&self) -> Result<(f64, Tensor)> {
        let mut loss_sum = 0.0;
        let mut acc: Option<Tensor> = None;
        for (x, y, w) in &self.chunks {
            let (loss, _) = self.model.loss(x, y, false)?;
            let g = Tensor::f_run_backward(&[&loss], &self.params, false, false)
                .context("backward pass failed")?;
            let g = flatten_f64(&g, &self.params)?.f_mul_scalar(*w)?;
            loss_sum += loss.f_double_value(&[])? * w;
            acc = Some(match acc {
                None => g,
                Some(a) => a.f_add(&g)?,
            });
        }
        Ok((loss_sum, acc.context("empty set")?))
    }

    /// H v for a flat f64 direction `v` (layout order), as flat f64.
    pub fn hvp(&mut self, v: &Tensor) -> Result<Tensor> {
        let pieces = unflatten(v, &self.params)?;
        self.products += 1;
        if let Some(g) = &self.cached {
            let hv = hvp_from_grads(g, &self.params, &pieces, true)?;
            return flatten_f64(&hv, &self.params);
        }
        let mut acc: Option<Tensor> = None;
        for (x, y, w) in &self.chunks {
            let hv = match &self.relu_layers {
                Some(layers) => {
                    let v = regroup(pieces.iter().map(Tensor::shallow_clone), layers)?;
                    let hv = relu_mlp_hvp(layers, &x.f_flatten(1, -1)?, y, &v)?;
                    layer_tensors(&hv).map(Tensor::shallow_clone).collect()
                }
                None => {
                    let (loss, _) = self.model.loss(x, y, false)?;
                    let g = grads_with_graph(&loss, &self.params)?;
                    hvp_from_grads(&g, &self.params, &pieces, false)?
                }
            };
            let hv = flatten_f64(&hv, &self.params)?.f_mul_scalar(*w)?;
            acc = Some(match acc {
                None => hv,
                Some(a) => a.f_add(&hv)?,
            });
        }
        acc.context("empty set")
    }

    /// The full d x d Hessian, column by column (d products): for tests and tiny models.
    pub fn dense(&mut self) -> Result<Tensor> {
        let d = self.dim() as i64;
        let device = self.model.store.device();
        let mut cols = Vec::with_capacity(d as usize);
        for j in 0..d {
            let e = Tensor::f_zeros([d], (Kind::Double, device))?;
            let _ = e.f_narrow(0, j, 1)?.f_fill_(1.0)?;
            cols.push(self.hvp(&e)?);
        }
        Ok(Tensor::f_stack(&cols, 1)?)
    }
}

/// Whether the layers' weights and biases, in order, are exactly `params` (the same
/// tensors, not copies): then a product in layer pieces is one in parameter order.
fn holds_exactly(layers: &[Layer], params: &[Tensor]) -> bool {
    let tensors: Vec<&Tensor> = layer_tensors(layers).collect();
    tensors.len() == params.len()
        && tensors
            .iter()
            .zip(params)
            .all(|(t, p)| t.data_ptr() == p.data_ptr() && t.size() == p.size())
}

/// Parameter-order pieces grouped as the layers' (weight, bias).
fn regroup(mut pieces: impl Iterator<Item = Tensor>, layers: &[Layer]) -> Result<Vec<Layer>> {
    let mut next = || {
        pieces
            .next()
            .context("fewer direction pieces than layer tensors")
    };
    layers
        .iter()
        .map(|(_, b)| {
            let w = next()?;
            let b = match b {
                Some(_) => Some(next()?),
                None => None,
            };
            Ok((w, b))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::models::{InputSpec, Net};
    use crate::params::{Init, ParamStore};
    use tch::Device;

    /// A tiny MLP (16 inputs, `hidden` ReLU units, 3 classes, biases): small enough for a
    /// dense Hessian.
    pub(crate) struct TinyMlp {
        w1: Tensor,
        b1: Tensor,
        w2: Tensor,
        b2: Tensor,
    }

    impl Net for TinyMlp {
        fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
            let h = x
                .f_flatten(1, -1)?
                .f_linear(&self.w1, Some(&self.b1))?
                .f_tanh()?;
            Ok(h.f_linear(&self.w2, Some(&self.b2))?)
        }
    }

    pub(crate) const TINY: InputSpec = InputSpec {
        channels: 1,
        height: 4,
        width: 4,
        classes: 3,
    };

    /// The tiny model (tanh hidden layer, so the Hessian is smooth and finite differences
    /// apply) and a random set of `n` examples.
    pub(crate) fn tiny(seed: i64, hidden: i64, n: i64) -> (Model, Tensor, Tensor) {
        tch::manual_seed(seed);
        let mut s = ParamStore::new(Device::Cpu);
        let w1 = s
            .param("fc1.weight", &[hidden, 16], Init::UniformFanIn(16))
            .unwrap();
        let b1 = s
            .param("fc1.bias", &[hidden], Init::UniformFanIn(16))
            .unwrap();
        let w2 = s
            .param("fc2.weight", &[3, hidden], Init::UniformFanIn(hidden))
            .unwrap();
        let b2 = s
            .param("fc2.bias", &[3], Init::UniformFanIn(hidden))
            .unwrap();
        let net = TinyMlp { w1, b1, w2, b2 };
        let m = Model::from_parts("tiny", &TINY, s, Box::new(net));
        let x = Tensor::randn([n, 1, 4, 4], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(3, [n], (Kind::Int64, Device::Cpu));
        (m, x, y)
    }

    /// The quadratic L(x) = 0.5 x^T A x + b^T x has H = A (symmetric A): H v must equal
    /// A v to f64 rounding (the double backward is exact, not an approximation).
    #[test]
    fn hvp_of_a_quadratic_is_the_matrix() {
        tch::manual_seed(1);
        let opts = (Kind::Double, Device::Cpu);
        let m = Tensor::randn([6, 6], opts);
        let a = &m + m.transpose(0, 1);
        let b = Tensor::randn([6], opts);
        let x = Tensor::randn([6], opts).set_requires_grad(true);
        let loss = (x.dot(&a.mv(&x)) * 0.5) + b.dot(&x);
        let g = grads_with_graph(&loss, &[x.shallow_clone()]).unwrap();
        for _ in 0..3 {
            let v = Tensor::randn([6], opts);
            let hv = hvp_from_grads(&g, &[x.shallow_clone()], &[v.shallow_clone()], true).unwrap();
            let err = (&hv[0] - a.mv(&v)).abs().max().double_value(&[]);
            assert!(err < 1e-13, "{err}");
        }
    }

    /// Softmax regression, mean cross-entropy over n examples with logits z_i = W x_i:
    /// the analytic Hessian-vector product (e.g. Bishop 2006, eq. 4.110 for the
    /// multiclass logistic Hessian) is
    ///   (H V) = (1/n) sum_i [(diag(p_i) - p_i p_i^T) V x_i] x_i^T,
    /// written here with plain tensor algebra, independently of autograd. f64 throughout.
    #[test]
    fn hvp_of_softmax_regression_matches_the_analytic_hessian() {
        tch::manual_seed(2);
        let opts = (Kind::Double, Device::Cpu);
        let (n, d, k) = (7, 5, 4);
        let xs = Tensor::randn([n, d], opts);
        let ys = Tensor::from_slice(&[0i64, 1, 2, 3, 0, 1, 2]);
        let w = (Tensor::randn([k, d], opts) * 0.5).set_requires_grad(true);
        let logits = xs.matmul(&w.transpose(0, 1));
        // (tch's cross_entropy_for_logits casts to f32; the fallible op keeps f64)
        let loss = logits
            .f_cross_entropy_loss::<Tensor>(&ys, None, tch::Reduction::Mean, -100, 0.0)
            .unwrap();
        let g = grads_with_graph(&loss, &[w.shallow_clone()]).unwrap();
        let v = Tensor::randn([k, d], opts);
        let hv = hvp_from_grads(&g, &[w.shallow_clone()], &[v.shallow_clone()], true).unwrap();
        let p = logits.detach().softmax(1, Kind::Double); // n x k
        let mut want = Tensor::zeros([k, d], opts);
        for i in 0..n {
            let xi = xs.get(i); // d
            let pi = p.get(i); // k
            let u = v.mv(&xi); // V x_i, k
            let s = &pi * &u - &pi * pi.dot(&u); // (diag p - p p^T) u
            want += s.outer(&xi);
        }
        want /= n as f64;
        let err = (&hv[0] - &want).abs().max().double_value(&[]);
        let scale = want.abs().max().double_value(&[]);
        assert!(err < 1e-14 * scale.max(1.0), "{err}");
    }

    /// The model-level product against central finite differences of the gradient:
    /// (g(theta + eps v) - g(theta - eps v)) / (2 eps) = H v + O(eps^2). f32 parameters:
    /// with eps = 1e-2 the truncation and rounding errors are both near 1e-4 of |H v|.
    #[test]
    fn hvp_matches_finite_differences_on_a_model() {
        let (m, x, y) = tiny(3, 8, 64);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let d = h.dim() as i64;
        assert_eq!(d, 16 * 8 + 8 + 8 * 3 + 3);
        let params = m.store.tensors();
        let v = Tensor::randn([d], (Kind::Double, Device::Cpu));
        let v = &v / v.norm().double_value(&[]);
        let hv = h.hvp(&v).unwrap();
        let shift = |s: f64| {
            let pieces = unflatten(&(&v * s), &params).unwrap();
            tch::no_grad(|| {
                for (p, dp) in params.iter().zip(&pieces) {
                    let _ = p.shallow_clone().f_add_(dp).unwrap();
                }
            });
        };
        let eps = 1e-2;
        shift(eps);
        let (_, gp) = h.gradient().unwrap();
        shift(-2.0 * eps);
        let (_, gm) = h.gradient().unwrap();
        shift(eps);
        let fd = (gp - gm) / (2.0 * eps);
        let rel = (&fd - &hv).norm().double_value(&[]) / hv.norm().double_value(&[]);
        assert!(rel < 2e-3, "relative difference {rel}");
        // chunked (no cache) equals cached to f32 rounding
        let mut h2 = LossHessian::new(&m, &x, &y, 10, false).unwrap();
        let hv2 = h2.hvp(&v).unwrap();
        let rel2 = (&hv2 - &hv).norm().double_value(&[]) / hv.norm().double_value(&[]);
        assert!(rel2 < 1e-5, "{rel2}");
        assert_eq!((h.products, h2.products), (1, 1));
    }

    /// Plain ReLU networks take their fresh products from the R-operator: the same
    /// numbers as double backward to f32 rounding, over several chunks, with biases
    /// (`mlp`) and without (`fnn`); a network with BatchNorm stays on double backward.
    #[test]
    fn r_operator_products_equal_double_backward_on_models() {
        for name in ["mlp", "fnn"] {
            tch::manual_seed(7);
            let m = Model::new(name, &TINY, Device::Cpu).unwrap();
            let x = Tensor::randn([40, 1, 4, 4], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(3, [40], (Kind::Int64, Device::Cpu));
            let mut rop = LossHessian::new(&m, &x, &y, 16, false).unwrap();
            assert!(rop.uses_r_operator(), "{name}");
            let mut db = LossHessian::new(&m, &x, &y, 16, false)
                .unwrap()
                .double_backward();
            assert!(!db.uses_r_operator());
            for _ in 0..2 {
                let v = Tensor::randn([rop.dim() as i64], (Kind::Double, Device::Cpu));
                let a = rop.hvp(&v).unwrap();
                let b = db.hvp(&v).unwrap();
                let rel = (&a - &b).norm().double_value(&[]) / b.norm().double_value(&[]);
                assert!(rel < 1e-6, "{name}: relative difference {rel:e}");
            }
        }
        let m = Model::new("fnn-bn", &TINY, Device::Cpu).unwrap();
        let x = Tensor::randn([8, 1, 4, 4], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(3, [8], (Kind::Int64, Device::Cpu));
        assert!(!LossHessian::new(&m, &x, &y, 8, false)
            .unwrap()
            .uses_r_operator());
    }

    #[test]
    fn dense_hessian_is_symmetric() {
        let (m, x, y) = tiny(4, 5, 32);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let a = h.dense().unwrap();
        let asym = (&a - a.transpose(0, 1)).abs().max().double_value(&[]);
        let scale = a.abs().max().double_value(&[]);
        assert!(asym < 1e-5 * scale, "{asym} vs {scale}");
        assert!(unflatten(
            &Tensor::zeros([3], (Kind::Double, Device::Cpu)),
            &m.store.tensors()
        )
        .is_err());
    }
}
