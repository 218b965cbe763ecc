//! `--cost-batch`: what one Hessian-vector product costs against one gradient on the same
//! minibatch, as the tool takes fresh products (the R-operator for plain ReLU networks,
//! else double backward), by double backward, and as a further product with the
//! gradient's graph kept (as Lanczos and the power iteration on one set take them: the
//! second backward pass alone). Each time is the median of 10 after one warm-up.

use super::report::Cost;
use anyhow::Result;
use gradscope_torch::hessian::LossHessian;
use gradscope_torch::Model;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The timings on the minibatch (`x`, `y`) of `batch` examples; the product's vector is
/// drawn from libtorch's generator.
pub fn measure(
    model: &Model,
    x: &Tensor,
    y: &Tensor,
    batch: usize,
    device: Device,
) -> Result<Cost> {
    let d = model.store.numel();
    let mut h = LossHessian::new(model, x, y, batch, false)?;
    let v = Tensor::f_randn([d as i64], (Kind::Double, device))?;
    let (_, _) = h.gradient()?; // warm-up
    let _ = h.hvp(&v)?;
    let mut db = LossHessian::new(model, x, y, batch, false)?.double_backward();
    let _ = db.hvp(&v)?; // warm-up
    let mut kept = LossHessian::new(model, x, y, batch, true)?;
    let _ = kept.hvp(&v)?; // warm-up
    let mut t: [Vec<f64>; 4] = Default::default();
    for _ in 0..10 {
        let c = Instant::now();
        let _ = h.gradient()?;
        t[0].push(c.elapsed().as_secs_f64());
        let c = Instant::now();
        let _ = h.hvp(&v)?;
        t[1].push(c.elapsed().as_secs_f64());
        let c = Instant::now();
        let _ = db.hvp(&v)?;
        t[2].push(c.elapsed().as_secs_f64());
        let c = Instant::now();
        let _ = kept.hvp(&v)?;
        t[3].push(c.elapsed().as_secs_f64());
    }
    let [gradient, hvp, double_backward, graph_kept] = t.map(median);
    Ok(Cost {
        batch: batch as u64,
        method: if h.uses_r_operator() {
            "R-operator"
        } else {
            "double backward"
        },
        gradient,
        hvp,
        double_backward,
        graph_kept,
    })
}
