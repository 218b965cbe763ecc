//! The measurement of `interp-loss`: the replay from the checkpoint, and at every update
//! of the window the losses and accuracies on the line between the iterates (see the
//! module above for the method and its cost).

use super::{Args, Plan};
use anyhow::Result;
use gradscope_stats::barrier::{self, Interpolation};
use gradscope_tool::progress::progress;
use gradscope_torch::point::Point;
use gradscope_torch::trainer::RunState;

/// One interpolated update.
pub struct StepRow {
    /// Updates taken after this one (the update from theta_t to theta_{t+1} has step t+1).
    pub step: u64,
    /// 1-based epoch of the update.
    pub epoch: u64,
    /// Learning rate of the update.
    pub lr: f64,
    /// The minibatch's mean loss (nats).
    pub batch_loss: f64,
    pub interp: Interpolation,
    /// The floor rose from the previous update's (section 3's "moved over a barrier").
    pub moved_over: bool,
    pub alphas: Vec<f64>,
    /// Mean cross-entropy (nats) at each alpha.
    pub losses: Vec<f64>,
    pub accs: Vec<f64>,
}

/// The most memory the kept first-layer outputs may take (bytes; those at both ends of
/// an update). The walk MLP on 1,000 images needs 4 MB, on all 60,000 images 246 MB.
pub const FIRST_LAYER_BYTES: usize = 1 << 30;

/// What the replay measured.
pub struct Measured {
    pub rows: Vec<StepRow>,
    /// Forward evaluations of the whole evaluation set.
    pub evaluations: u64,
    /// The run's state after the last replayed update.
    pub state: RunState,
    /// The last 0-based update replayed.
    pub last: u64,
}

/// Replays the updates from the checkpoint through the window's last, interpolating those
/// in the window. Writes nothing.
pub fn measure(args: &Args, plan: &mut Plan) -> Result<Measured> {
    let Plan {
        replay,
        start,
        window,
        eval,
        alphas,
        ..
    } = plan;
    let (start, eval, alphas) = (*start, &*eval, &*alphas);
    let per_epoch = replay.trainer.batches_per_epoch();
    let train = &replay.data.train;
    let last = *window.last().expect("non-empty window");

    let bar = progress(Some(last + 1 - start), "interp-loss");
    let mut rows: Vec<StepRow> = Vec::new();
    // Loss and accuracy at the model's current point, with the set's first-layer outputs
    // there where they can be interpolated (the numbers are a full pass's either way).
    let evaluate_point =
        |model: &gradscope_torch::models::Model| -> Result<(f64, f64, Option<Vec<tch::Tensor>>)> {
            if !args.full_forward {
                if let Some(z) = eval.first_outputs(model, FIRST_LAYER_BYTES / 2)? {
                    let (l, a) = eval.evaluate_after_first(model, &z)?;
                    return Ok((l, a, Some(z)));
                }
            }
            let (l, a) = eval.evaluate(model)?;
            Ok((l, a, None))
        };
    // (point, loss, accuracy, first-layer outputs) at theta_t when update t-1 was
    // interpolated
    let mut prev: Option<(Point, f64, f64, Option<Vec<tch::Tensor>>)> = None;
    let mut evaluations = 0u64;
    let mut state = replay.state.clone();
    for t in start..=last {
        let inside = window.contains(&t);
        let before = if inside {
            Some(match prev.take() {
                Some(p) => p,
                None => {
                    let model = &replay.trainer.model;
                    evaluations += 1;
                    let (l, a, z) = evaluate_point(model)?;
                    (Point::of(model)?, l, a, z)
                }
            })
        } else {
            prev = None;
            None
        };
        let done = replay.trainer.step(train, t)?;
        state.step = t + 1;
        state.optimizer_t = replay.trainer.opt.t;
        state.loss_sum += done.loss * done.examples as f64;
        state.correct += done.correct;
        state.seen += done.examples as f64;
        if state.step % per_epoch == 0 {
            state.loss_sum = 0.0;
            state.correct = 0.0;
            state.seen = 0.0;
        }
        bar.inc(1);
        let Some((p0, l0, a0, z0)) = before else {
            continue;
        };
        let model = &replay.trainer.model;
        let p1 = Point::of(model)?;
        // The end theta_{t+1} first: its first-layer outputs serve the interior points.
        let (l1, a1, z1) = evaluate_point(model)?;
        let mut losses = vec![l0];
        let mut accs = vec![a0];
        for &alpha in &alphas[1..alphas.len() - 1] {
            p0.interpolate(&p1, alpha, model)?;
            let (l, a) = match (&z0, &z1) {
                (Some(z0), Some(z1)) => eval.evaluate_on_line(model, z0, z1, alpha)?,
                _ => eval.evaluate(model)?,
            };
            losses.push(l);
            accs.push(a);
        }
        p1.restore(model)?;
        evaluations += alphas.len() as u64 - 1;
        losses.push(l1);
        accs.push(a1);
        let interp = barrier::analyse(alphas, &losses, args.barrier_tol);
        let moved_over = rows
            .last()
            .is_some_and(|r| r.step == t && interp.loss_min > r.interp.loss_min);
        rows.push(StepRow {
            step: t + 1,
            epoch: t / per_epoch + 1,
            lr: done.lr,
            batch_loss: done.loss,
            interp,
            moved_over,
            alphas: alphas.clone(),
            losses,
            accs,
        });
        prev = Some((p1, l1, a1, z1));
    }
    bar.finish_and_clear();
    Ok(Measured {
        rows,
        evaluations,
        state,
        last,
    })
}
