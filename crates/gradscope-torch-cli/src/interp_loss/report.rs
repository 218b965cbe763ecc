//! The columns of `interp-loss`'s three tables, each described once: the per-point
//! table (`-o`), the per-update table (`--steps-output`) and the per-epoch table
//! (`--epochs-output`, which is also the stderr summary and `--json`'s `epochs`). Losses
//! are mean cross-entropies in nats; alpha is the fraction of the way from theta_t to
//! theta_{t+1} (`gradscope_stats::barrier`).

use super::epochs::EpochSummary;
use super::replay::StepRow;
use gradscope_tool::report::{Column, Report};

/// One evaluated point of a line.
#[derive(Debug, Clone, Copy)]
pub struct PointRow {
    pub step: u64,
    pub alpha: f64,
    pub loss: f64,
    pub accuracy: f64,
}

/// Every point of every interpolated update, in order.
pub fn points_of(rows: &[StepRow]) -> Vec<PointRow> {
    rows.iter()
        .flat_map(|r| {
            (0..r.alphas.len()).map(move |i| PointRow {
                step: r.step,
                alpha: r.alphas[i],
                loss: r.losses[i],
                accuracy: r.accs[i],
            })
        })
        .collect()
}

/// `-o`: step, alpha, loss, accuracy.
pub fn points() -> Report<PointRow> {
    Report::new(vec![
        Column::u64("step", |r: &PointRow| r.step),
        Column::f64("alpha", |r: &PointRow| r.alpha),
        Column::f64("loss", |r: &PointRow| r.loss).unit("nats"),
        Column::f64("accuracy", |r: &PointRow| r.accuracy),
    ])
}

/// `--steps-output`: one row per update, its line's floor, barrier and height.
pub fn steps() -> Report<StepRow> {
    Report::new(vec![
        Column::u64("step", |r: &StepRow| r.step),
        Column::u64("epoch", |r: &StepRow| r.epoch),
        Column::f64("lr", |r: &StepRow| r.lr),
        Column::f64("batch_loss", |r: &StepRow| r.batch_loss).unit("nats"),
        Column::f64("loss_start", |r: &StepRow| r.interp.loss_start).unit("nats"),
        Column::f64("loss_end", |r: &StepRow| r.interp.loss_end).unit("nats"),
        Column::f64("loss_min", |r: &StepRow| r.interp.loss_min).unit("nats"),
        Column::f64("alpha_min", |r: &StepRow| r.interp.alpha_min),
        Column::f64("loss_max", |r: &StepRow| r.interp.loss_max_interior).unit("nats"),
        Column::f64("alpha_max", |r: &StepRow| r.interp.alpha_max_interior),
        Column::bool("barrier", |r: &StepRow| r.interp.barrier),
        Column::f64("barrier_height", |r: &StepRow| r.interp.barrier_height).unit("nats"),
        Column::bool("moved_over", |r: &StepRow| r.moved_over),
    ])
}

/// `--epochs-output`, the summary and `--json`'s `epochs`.
pub fn epochs() -> Report<EpochSummary> {
    Report::new(vec![
        Column::u64("epoch", |r: &EpochSummary| r.epoch)
            .summary("epoch")
            .json(),
        Column::u64("first_step", |r: &EpochSummary| r.first)
            .summary_with("steps", |r| format!("{}..{}", r.first, r.last))
            .json(),
        Column::u64("step", |r: &EpochSummary| r.last).json(),
        Column::u64("steps", |r: &EpochSummary| r.steps)
            .summary("updates")
            .json(),
        Column::u64("barriers", |r: &EpochSummary| r.barriers)
            .summary("barriers")
            .json(),
        Column::u64("moved_over", |r: &EpochSummary| r.moved_over)
            .summary("moved over")
            .json(),
        Column::f64("max_barrier_height", |r: &EpochSummary| r.max_height)
            .unit("nats")
            .summary("max height")
            .json(),
        Column::f64("mean_barrier_height", |r: &EpochSummary| r.mean_height)
            .unit("nats")
            .json(),
        Column::f64("mean_loss", |r: &EpochSummary| r.mean_loss)
            .unit("nats")
            .summary("mean loss")
            .json(),
        Column::f64("mean_floor_depth", |r: &EpochSummary| r.mean_floor_depth)
            .unit("nats")
            .summary("floor depth")
            .json(),
    ])
}
