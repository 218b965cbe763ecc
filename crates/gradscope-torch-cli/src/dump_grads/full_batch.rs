//! The full-batch gradient of `dump-grads --full-batch`.

use anyhow::{Context, Result};
use gradscope_torch::{grads, Model, Split};
use tch::Tensor;

/// The gradient of the mean loss over the whole training split, in chunks of `chunk`
/// examples, each chunk's gradient weighted by its share of the examples; and that loss.
pub fn full_batch_grad(
    model: &Model,
    which: &[usize],
    train: &Split,
    chunk: usize,
    device: tch::Device,
    train_mode: bool,
) -> Result<(f64, Tensor)> {
    let n = train.len();
    let chunk = chunk.max(1);
    let mut acc: Option<Tensor> = None;
    let mut loss_sum = 0.0;
    for s in (0..n).step_by(chunk) {
        let idx: Vec<i64> = (s as i64..(s + chunk).min(n) as i64).collect();
        let (x, y) = train.batch(&idx, device)?;
        let (loss, g) = grads::minibatch_grad(model, which, &x, &y, train_mode)?;
        let w = idx.len() as f64 / n as f64;
        loss_sum += loss * w;
        let g = g.f_mul_scalar(w)?;
        acc = Some(match acc {
            None => g,
            Some(a) => a.f_add(&g)?,
        });
    }
    Ok((loss_sum, acc.context("empty training split")?))
}
