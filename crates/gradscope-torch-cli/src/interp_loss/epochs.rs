//! The per-epoch summary of the interpolated updates: the barrier counts of the walk
//! study's Table 1 and Figure 4, and the valley floor's depth.

use super::replay::StepRow;

/// One epoch of the window.
#[derive(Debug, Clone)]
pub struct EpochSummary {
    pub epoch: u64,
    /// The first and last interpolated update of the epoch (`step` numbering).
    pub first: u64,
    pub last: u64,
    /// Interpolated updates.
    pub steps: u64,
    /// Updates whose line crosses a barrier (an interior loss above both ends).
    pub barriers: u64,
    /// Updates whose floor rose from the previous update's.
    pub moved_over: u64,
    /// The largest and mean barrier height (L_t + L_{t+1} - 2 L_min) / 2 of the updates
    /// with a barrier (nats; NaN when none has one).
    pub max_height: f64,
    pub mean_height: f64,
    /// Mean loss at the updates' starts (nats).
    pub mean_loss: f64,
    /// Mean of min(L_t, L_{t+1}) - L_min: how far the floor lies below the lower end (nats).
    pub mean_floor_depth: f64,
}

/// The epochs of `rows`, in order (rows are in update order, so an epoch's are adjacent).
pub fn summarise(rows: &[StepRow]) -> Vec<EpochSummary> {
    let mut sums: Vec<EpochSummary> = Vec::new();
    for r in rows {
        if sums.last().map(|s| s.epoch) != Some(r.epoch) {
            sums.push(EpochSummary {
                epoch: r.epoch,
                first: r.step,
                last: r.step,
                steps: 0,
                barriers: 0,
                moved_over: 0,
                max_height: f64::NAN,
                mean_height: 0.0,
                mean_loss: 0.0,
                mean_floor_depth: 0.0,
            });
        }
        let s = sums.last_mut().expect("pushed");
        s.last = r.step;
        s.steps += 1;
        s.mean_loss += r.interp.loss_start;
        s.mean_floor_depth += r.interp.loss_start.min(r.interp.loss_end) - r.interp.loss_min;
        if r.moved_over {
            s.moved_over += 1;
        }
        if r.interp.barrier {
            s.barriers += 1;
            s.mean_height += r.interp.barrier_height;
            s.max_height = if s.max_height.is_nan() {
                r.interp.barrier_height
            } else {
                s.max_height.max(r.interp.barrier_height)
            };
        }
    }
    for s in &mut sums {
        s.mean_loss /= s.steps as f64;
        s.mean_floor_depth /= s.steps as f64;
        s.mean_height = if s.barriers > 0 {
            s.mean_height / s.barriers as f64
        } else {
            f64::NAN
        };
    }
    sums
}
