//! How minibatch gradients align with the Hessian: for each batch size B and minibatch,
//! the gradient g_B, the study's alignment (equation 4) a(g_B) = g_B^T H g_B / |g_B|^2
//! and the share of |g_B|^2 in the top-k eigenspace, sum_i (u_i^T g_B)^2 / |g_B|^2; and
//! along replayed trajectories the cosine of consecutive minibatch gradients (equation 5),
//! cos(g_{t-1}, g_t) = g_{t-1}^T g_t / (|g_{t-1}| |g_t|).

use super::report::{BatchSizeRow, CosineRow, CosineSummary, SampleRow};
use super::{Args, Plan};
use anyhow::{Context, Result};
use gradscope_stats::describe::mean_sd;
use gradscope_tool::progress::progress;
use gradscope_torch::hessian::LossHessian;
use gradscope_torch::sampler;
use tch::{Device, Kind, Tensor};

/// The alignment and top-k share of `--minibatches` minibatches per batch size (one for
/// the whole set), each minibatch B distinct training examples drawn with `--seed` and
/// stream (batch size's index << 32 | minibatch); `basis`: the top-k eigenvectors as
/// rows (none: the share is NaN).
pub fn measure(
    args: &Args,
    plan: &Plan,
    hess: &mut LossHessian,
    basis: Option<&Tensor>,
) -> Result<Vec<SampleRow>> {
    let train = &plan.run.replay.data.train;
    let model = &plan.run.replay.trainer.model;
    let n = plan.examples;
    let total: usize = plan
        .sizes
        .iter()
        .map(|&b| if b == n { 1 } else { args.minibatches })
        .sum();
    let bar = progress(Some(total as u64), "hessian-align");
    let mut samples = Vec::new();
    for (bi, &b) in plan.sizes.iter().enumerate() {
        let count = if b == n { 1 } else { args.minibatches };
        for i in 0..count {
            let idx: Vec<i64> = if b == n {
                (0..n as i64).collect()
            } else {
                sampler::independent(n, b, args.seed, ((bi as u64) << 32) | i as u64)
            };
            let (x, y) = train.batch(&idx, Device::Cpu)?;
            let (loss, g) = LossHessian::new(model, &x, &y, args.chunk, false)?.gradient()?;
            let gg = g.f_dot(&g)?.f_double_value(&[])?;
            let hg = hess.hvp(&g)?;
            let alignment = g.f_dot(&hg)?.f_double_value(&[])? / gg;
            let topk_share = match basis {
                Some(u) => {
                    u.f_mv(&g)?
                        .f_square()?
                        .f_sum(Kind::Double)?
                        .f_double_value(&[])?
                        / gg
                }
                None => f64::NAN,
            };
            samples.push(SampleRow {
                step: plan.run.replay.state.step,
                batch_size: b as u64,
                sample: i as u64,
                loss,
                grad_norm: gg.sqrt(),
                alignment,
                topk_share,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(samples)
}

/// The per-batch-size rows: each batch size's means and sds over its minibatches, beside
/// the whole network's top eigenvalue and trace (mean, standard error).
pub fn by_batch_size(
    plan: &Plan,
    samples: &[SampleRow],
    top_k: usize,
    top_eigenvalue: f64,
    trace: (f64, f64),
) -> Vec<BatchSizeRow> {
    plan.sizes
        .iter()
        .map(|&b| {
            let s: Vec<&SampleRow> = samples
                .iter()
                .filter(|s| s.batch_size == b as u64)
                .collect();
            let of =
                |f: fn(&SampleRow) -> f64| mean_sd(&s.iter().map(|r| f(r)).collect::<Vec<_>>());
            let (alignment_mean, alignment_sd) = of(|r| r.alignment);
            let (topk_share_mean, topk_share_sd) = of(|r| r.topk_share);
            BatchSizeRow {
                step: plan.run.replay.state.step,
                epoch: plan.epoch,
                batch_size: b as u64,
                full: b == plan.examples,
                minibatches: s.len() as u64,
                alignment_mean,
                alignment_sd,
                topk_share_mean,
                topk_share_sd,
                grad_norm_mean: of(|r| r.grad_norm).0,
                loss_mean: of(|r| r.loss).0,
                top_k: top_k as u64,
                top_eigenvalue,
                hessian_trace: trace.0,
                hessian_trace_se: trace.1,
                hessian_examples: plan.hessian_examples() as u64,
            }
        })
        .collect()
}

/// `--cosine-steps` updates from the checkpoint for each batch size of
/// `--cosine-batch-sizes`, with the run's optimiser, schedule and seed and only the batch
/// size changed (the run's own batch size replays `train` exactly; another starts at the
/// checkpoint's epoch in its own step count). Each trajectory replays from the
/// checkpoint afresh.
pub fn cosine_trajectories(args: &Args, plan: &Plan) -> Result<Vec<CosineRow>> {
    let mut rows: Vec<CosineRow> = Vec::new();
    if plan.cos_sizes.is_empty() || args.cosine_steps == 0 {
        return Ok(rows);
    }
    let state = &plan.run.replay.state;
    let bar = progress(
        Some((plan.cos_sizes.len() * args.cosine_steps) as u64),
        "trajectories",
    );
    for &b in &plan.cos_sizes {
        let mut r = plan.run.reopen(&args.checkpoint, plan.device)?;
        let start = if b == state.batch_size {
            state.step
        } else {
            r.trainer.set_batch_size(b, plan.examples);
            plan.epoch * r.trainer.batches_per_epoch()
        };
        r.trainer.keep_grad = true;
        let mut prev: Option<Tensor> = None;
        for u in 0..args.cosine_steps as u64 {
            let done = r.trainer.step(&r.data.train, start + u)?;
            let g = done
                .grad
                .context("no gradient kept")?
                .f_to_kind(Kind::Double)?;
            let norm = g.f_norm()?.f_double_value(&[])?;
            let cosine = match &prev {
                Some(p) => {
                    p.f_dot(&g)?.f_double_value(&[])? / (p.f_norm()?.f_double_value(&[])? * norm)
                }
                None => f64::NAN,
            };
            rows.push(CosineRow {
                batch_size: b as u64,
                update: u + 1,
                step: start + u + 1,
                loss: done.loss,
                grad_norm: norm,
                cosine,
            });
            prev = Some(g);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Each trajectory's mean and sd of its finite cosines (the first update has none).
pub fn cosine_summaries(cos_sizes: &[usize], rows: &[CosineRow]) -> Vec<CosineSummary> {
    cos_sizes
        .iter()
        .map(|&b| {
            let c: Vec<f64> = rows
                .iter()
                .filter(|r| r.batch_size == b as u64 && r.cosine.is_finite())
                .map(|r| r.cosine)
                .collect();
            let (mean, sd) = mean_sd(&c);
            CosineSummary {
                batch_size: b as u64,
                mean,
                sd,
                pairs: c.len() as u64,
            }
        })
        .collect()
}
