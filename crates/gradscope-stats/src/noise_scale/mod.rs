//! The gradient noise scale: how large a batch is still useful.
//!
//! McCandlish, Kaplan, Amodei et al., "An Empirical Model of Large-Batch Training" (2018,
//! arXiv:1812.06162) model the minibatch gradient at batch size B as the true gradient G
//! plus noise of covariance Sigma/B, Sigma the per-example covariance. Then
//!
//! ```text
//! E |G_B|^2 = |G|^2 + tr(Sigma) / B
//! ```
//!
//! and the *simple noise scale* B_simple = tr(Sigma) / |G|^2 (their section 2) is the batch
//! size at which the noise and the signal in |G_B|^2 are equal, their estimate of the
//! critical batch size B_crit.
//!
//! Two estimators, both from the squared norms of minibatch gradients.
//!
//! **Several batch sizes** (their appendix A). With m_B the mean of |g|^2 over the
//! minibatches of size B, this is a line in 1/B: intercept |G|^2, slope tr(Sigma). For
//! two batch sizes B_s < B_b the line through both points is appendix A's pair of unbiased
//! estimates
//!
//! ```text
//! |G|^2    = (B_b m_Bb - B_s m_Bs) / (B_b - B_s)
//! tr Sigma = (m_Bs - m_Bb) / (1/B_s - 1/B_b)
//! ```
//!
//! With more batch sizes the line is the unweighted least-squares fit through the points
//! (1/B, m_B), which reduces to those formulas for two.
//!
//! **One batch size B, n minibatches** g_1..g_n (the vMF study's protocol): with the mean
//! g_bar and the unbiased sample covariance C of the minibatch gradients
//!
//! ```text
//! tr Sigma = B tr(C),    tr(C) = (sum_i |g_i|^2 - n |g_bar|^2) / (n - 1)
//! |G|^2    = |g_bar|^2 - tr(C) / n
//! ```
//!
//! both unbiased, since E|g_bar|^2 = |G|^2 + tr(Sigma)/(nB). This is the two-batch-size
//! estimator with B_s = B (m = mean |g_i|^2) and B_b = nB (|g_bar|^2): g_bar is a
//! minibatch of nB examples.
//!
//! B_simple is the ratio of the two estimates: unbiased numerator and denominator, a
//! biased but consistent ratio (the paper averages numerator and denominator over time
//! for the same reason). An estimate of |G|^2 at or below 0 means the noise swamps the
//! signal at these sample sizes; B_simple is then reported as computed (negative or
//! infinite), not clipped.
//!
//! **Uncertainty**: the delete-a-group jackknife (Efron and Stein 1981; Busing, Meijer and
//! van der Leeden 1999). Minibatch i belongs to group `sample_i mod K`; the estimate is
//! recomputed K times with one group left out, se = sqrt((K-1)/K sum_k (theta_-k -
//! theta_dot)^2), and the interval is theta +- t_{K-1, 0.975} se (Student's t with K-1
//! degrees of freedom). Grouping by sample index keeps the jackknife deterministic (no
//! seed) and independent of how the gradients were split into parts, so merged states
//! give the one-pass answer. A group with no minibatch (more groups than minibatches) is no
//! replicate, since leaving it out changes nothing: K counts the groups that hold
//! minibatches. A left-out group that would empty a batch size (or leave one minibatch for
//! the one-batch estimator) is skipped; with fewer than two replicates the standard
//! errors are NaN.
//!
//! **Memory**: per minibatch one f64 squared norm per scope; for the one-batch estimator,
//! K group sums of the gradients (8 K bytes per coordinate: 80 with the default K = 10),
//! which is what makes the jackknife of |g_bar|^2 possible in one pass.

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;

/// Coordinates per parallel work item; fixed so that the order of every reduction is fixed
/// and results do not depend on the number of threads.
const CHUNK: usize = 16_384;

/// Why a noise scale cannot be estimated from what was accumulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoiseScaleError {
    #[error("no gradients")]
    Empty,
    #[error(
        "one batch size ({batch_size}) with {n} minibatch(es): the one-batch-size estimator \
         needs at least 2 minibatches"
    )]
    TooFewMinibatches { batch_size: u64, n: u64 },
    #[error(
        "one batch size ({0}): the two-batch-size estimator needs gradients at two or more \
         different batch sizes"
    )]
    OneBatchSize(u64),
    #[error(
        "one batch size ({0}) and the minibatch means were not kept: the one-batch-size \
         estimator needs them"
    )]
    MeansNotKept(u64),
    #[error("{0} jackknife groups: at least 2 are needed")]
    TooFewGroups(usize),
    #[error("gradient of length {got}, expected {expected}")]
    Length { got: usize, expected: usize },
    #[error("batch size 0")]
    ZeroBatchSize,
    #[error("states to merge differ in {0}")]
    Incompatible(&'static str),
    #[error("{0} batch sizes: the one-batch-size estimator takes one at a time")]
    SeveralBatchSizes(usize),
}

/// Which estimator produced a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// Minibatches of one batch size: mean and sample covariance.
    OneBatchSize,
    /// Squared norms at two or more batch sizes: the line of E|G_B|^2 in 1/B.
    BatchSizes,
}

impl Estimator {
    pub fn name(self) -> &'static str {
        match self {
            Estimator::OneBatchSize => "one-batch-size",
            Estimator::BatchSizes => "batch-sizes",
        }
    }
}

/// Which estimator to use; `Auto` takes the batch-size line when two or more batch sizes
/// are present and the one-batch-size estimator otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Auto,
    OneBatchSize,
    BatchSizes,
}

/// The noise scale of one scope (the whole vector or one block of coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseScale {
    pub estimator: Estimator,
    /// Estimate of |G|^2, the squared norm of the true gradient.
    pub grad_sq_norm: f64,
    /// Estimate of tr(Sigma), the trace of the per-example gradient covariance.
    pub trace_sigma: f64,
    /// B_simple = tr(Sigma) / |G|^2, in examples.
    pub b_simple: f64,
    /// Jackknife standard errors of the three.
    pub grad_sq_norm_se: f64,
    pub trace_sigma_se: f64,
    pub b_simple_se: f64,
    /// b_simple -+ t_{K'-1, 0.975} se.
    pub b_simple_lo: f64,
    pub b_simple_hi: f64,
    /// Jackknife replicates used (K' <= K).
    pub replicates: usize,
}

/// What is kept for one batch size: enough to estimate, to jackknife and to merge.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchState {
    pub batch_size: u64,
    /// The smallest sample index seen (`u64::MAX` before any): parts of one matrix that
    /// start at the same sample hold the same minibatches, which a merge refuses.
    pub first_sample: u64,
    /// The largest sample index seen (0 before any): with the count, what shows that
    /// merged parts overlap.
    pub last_sample: u64,
    /// Minibatches seen, per group.
    pub group_counts: Vec<u64>,
    /// Per group and scope (the whole vector first, then each scope): sum of |g|^2.
    pub group_sq_norms: Vec<Vec<f64>>,
    /// Per group: the sum of the gradients (empty when means are not kept).
    pub group_sums: Vec<Vec<f64>>,
}

impl BatchState {
    fn new(batch_size: u64, groups: usize, scopes: usize, dim: usize, keep_means: bool) -> Self {
        BatchState {
            batch_size,
            first_sample: u64::MAX,
            last_sample: 0,
            group_counts: vec![0; groups],
            group_sq_norms: vec![vec![0.0; scopes + 1]; groups],
            group_sums: if keep_means {
                vec![vec![0.0; dim]; groups]
            } else {
                Vec::new()
            },
        }
    }

    /// Minibatches seen.
    pub fn n(&self) -> u64 {
        self.group_counts.iter().sum()
    }
}

/// One pass over the minibatch gradients taken at one parameter point, at one or more
/// batch sizes; mergeable with the states of other passes over other minibatches of the
/// same point.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseScaleAccumulator {
    dim: usize,
    /// Blocks of coordinates measured on their own: (start, len).
    scopes: Vec<(usize, usize)>,
    groups: usize,
    keep_means: bool,
    batches: BTreeMap<u64, BatchState>,
}

impl NoiseScaleAccumulator {
    /// An accumulator over `dim` coordinates with `groups` jackknife groups. `scopes` are
    /// (start, len) blocks reported besides the whole vector. `keep_means` keeps the group
    /// sums of the gradients, which the one-batch-size estimator needs (8 x groups bytes
    /// per coordinate and batch size).
    pub fn new(
        dim: usize,
        scopes: Vec<(usize, usize)>,
        groups: usize,
        keep_means: bool,
    ) -> Result<Self, NoiseScaleError> {
        if groups < 2 {
            return Err(NoiseScaleError::TooFewGroups(groups));
        }
        Ok(NoiseScaleAccumulator {
            dim,
            scopes,
            groups,
            keep_means,
            batches: BTreeMap::new(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    pub fn keeps_means(&self) -> bool {
        self.keep_means
    }

    /// The batch sizes seen so far, ascending, with their minibatch counts.
    pub fn batch_sizes(&self) -> Vec<(u64, u64)> {
        self.batches
            .values()
            .map(|b| (b.batch_size, b.n()))
            .collect()
    }

    /// The per-batch-size states, ascending by batch size (for writing a state file).
    pub fn states(&self) -> impl Iterator<Item = &BatchState> {
        self.batches.values()
    }

    /// Adds minibatch `sample` of size `batch_size`; its group is `sample mod groups`.
    pub fn push(&mut self, batch_size: u64, sample: u64, g: &[f32]) -> Result<(), NoiseScaleError> {
        if g.len() != self.dim {
            return Err(NoiseScaleError::Length {
                got: g.len(),
                expected: self.dim,
            });
        }
        if batch_size == 0 {
            return Err(NoiseScaleError::ZeroBatchSize);
        }
        let (groups, n_scopes, dim, keep) =
            (self.groups, self.scopes.len(), self.dim, self.keep_means);
        let group = (sample % groups as u64) as usize;
        let state = self
            .batches
            .entry(batch_size)
            .or_insert_with(|| BatchState::new(batch_size, groups, n_scopes, dim, keep));
        state.group_counts[group] += 1;
        state.first_sample = state.first_sample.min(sample);
        state.last_sample = state.last_sample.max(sample);
        let norms = &mut state.group_sq_norms[group];
        norms[0] += sq_norm(g);
        for (s, &(start, len)) in self.scopes.iter().enumerate() {
            norms[s + 1] += sq_norm(&g[start..start + len]);
        }
        if keep {
            state.group_sums[group]
                .par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .for_each(|(acc, x)| {
                    for (a, &v) in acc.iter_mut().zip(x) {
                        *a += v as f64;
                    }
                });
        }
        Ok(())
    }

    /// Adds a state for `batch_size` taken over other minibatches (another part or shard)
    /// of the same parameter point. The result equals one pass over all minibatches up to
    /// the order of floating-point additions.
    pub fn merge_state(&mut self, other: BatchState) -> Result<(), NoiseScaleError> {
        if other.group_counts.len() != self.groups {
            return Err(NoiseScaleError::Incompatible("jackknife groups"));
        }
        if other
            .group_sq_norms
            .iter()
            .any(|v| v.len() != self.scopes.len() + 1)
        {
            return Err(NoiseScaleError::Incompatible("scopes"));
        }
        let other_keeps = !other.group_sums.is_empty();
        if other_keeps != self.keep_means {
            return Err(NoiseScaleError::Incompatible("whether means are kept"));
        }
        if other_keeps && other.group_sums.iter().any(|v| v.len() != self.dim) {
            return Err(NoiseScaleError::Incompatible("dimension"));
        }
        match self.batches.get_mut(&other.batch_size) {
            None => {
                self.batches.insert(other.batch_size, other);
            }
            Some(mine) => {
                mine.first_sample = mine.first_sample.min(other.first_sample);
                mine.last_sample = mine.last_sample.max(other.last_sample);
                for k in 0..self.groups {
                    mine.group_counts[k] += other.group_counts[k];
                    for (a, b) in mine.group_sq_norms[k]
                        .iter_mut()
                        .zip(&other.group_sq_norms[k])
                    {
                        *a += b;
                    }
                    if self.keep_means {
                        for (a, b) in mine.group_sums[k].iter_mut().zip(&other.group_sums[k]) {
                            *a += b;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Merges another accumulator of the same point, layout and settings.
    pub fn merge(&mut self, other: NoiseScaleAccumulator) -> Result<(), NoiseScaleError> {
        if other.dim != self.dim {
            return Err(NoiseScaleError::Incompatible("dimension"));
        }
        if other.scopes != self.scopes {
            return Err(NoiseScaleError::Incompatible("scopes"));
        }
        if other.groups != self.groups {
            return Err(NoiseScaleError::Incompatible("jackknife groups"));
        }
        if other.keep_means != self.keep_means {
            return Err(NoiseScaleError::Incompatible("whether means are kept"));
        }
        for (_, state) in other.batches {
            self.merge_state(state)?;
        }
        Ok(())
    }

    /// The noise scale of the whole vector (first) and of each scope from the line
    /// E|G_B|^2 = |G|^2 + tr(Sigma)/B fitted through every batch size present (two or more).
    pub fn estimate_batch_sizes(&self) -> Result<Vec<NoiseScale>, NoiseScaleError> {
        let batches: Vec<&BatchState> = self.batches.values().filter(|b| b.n() > 0).collect();
        match batches.len() {
            0 => Err(NoiseScaleError::Empty),
            1 => Err(NoiseScaleError::OneBatchSize(batches[0].batch_size)),
            _ => Ok(self.batch_size_line(&batches)),
        }
    }

    /// The noise scale of the whole vector (first) and of each scope from the minibatches
    /// of `batch_size` alone.
    pub fn estimate_one_batch_size(
        &self,
        batch_size: u64,
    ) -> Result<Vec<NoiseScale>, NoiseScaleError> {
        let Some(b) = self.batches.get(&batch_size).filter(|b| b.n() > 0) else {
            return Err(NoiseScaleError::Empty);
        };
        if !self.keep_means {
            return Err(NoiseScaleError::MeansNotKept(batch_size));
        }
        if b.n() < 2 {
            return Err(NoiseScaleError::TooFewMinibatches {
                batch_size,
                n: b.n(),
            });
        }
        Ok(self.one_batch_size(b))
    }

    /// `Auto`: the batch-size line with two or more batch sizes, else the one-batch-size
    /// estimator; the others as named (one-batch-size needs exactly one batch size here).
    pub fn estimate(&self, choice: Choice) -> Result<Vec<NoiseScale>, NoiseScaleError> {
        let sizes = self.batch_sizes();
        match (choice, sizes.len()) {
            (_, 0) => Err(NoiseScaleError::Empty),
            (Choice::BatchSizes, _) | (Choice::Auto, 2..) => self.estimate_batch_sizes(),
            (Choice::Auto | Choice::OneBatchSize, 1) => self.estimate_one_batch_size(sizes[0].0),
            (Choice::OneBatchSize, n) => Err(NoiseScaleError::SeveralBatchSizes(n)),
        }
    }

    /// Scope ranges including the whole vector first.
    fn ranges(&self) -> Vec<(usize, usize)> {
        std::iter::once((0, self.dim))
            .chain(self.scopes.iter().copied())
            .collect()
    }

    fn batch_size_line(&self, batches: &[&BatchState]) -> Vec<NoiseScale> {
        let n_scopes = self.scopes.len() + 1;
        // Per left-out group (None = all), per scope: (|G|^2, tr Sigma), or None when the
        // left-out group empties a batch size.
        let fit = |leave: Option<usize>| -> Option<Vec<(f64, f64)>> {
            let mut points: Vec<(f64, Vec<f64>)> = Vec::with_capacity(batches.len());
            for b in batches {
                let (n, sums) = group_totals(&b.group_counts, &b.group_sq_norms, leave);
                if n == 0 {
                    return None;
                }
                let means = sums.iter().map(|s| s / n as f64).collect();
                points.push((1.0 / b.batch_size as f64, means));
            }
            Some(
                (0..n_scopes)
                    .map(|s| {
                        let xy: Vec<(f64, f64)> = points.iter().map(|(x, m)| (*x, m[s])).collect();
                        least_squares_line(&xy)
                    })
                    .collect(),
            )
        };
        let full = fit(None).expect("every batch size has a minibatch");
        // Leaving out a group with no minibatch changes nothing: no replicate.
        let replicates: Vec<Vec<(f64, f64)>> = (0..self.groups)
            .filter(|&k| batches.iter().any(|b| b.group_counts[k] > 0))
            .filter_map(|k| fit(Some(k)))
            .collect();
        assemble(Estimator::BatchSizes, &full, &replicates)
    }

    fn one_batch_size(&self, b: &BatchState) -> Vec<NoiseScale> {
        let ranges = self.ranges();
        let total_sum: Vec<f64> = {
            let mut t = vec![0.0; self.dim];
            t.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
                let (start, len) = (c * CHUNK, out.len());
                for g in &b.group_sums {
                    for (o, v) in out.iter_mut().zip(&g[start..start + len]) {
                        *o += v;
                    }
                }
            });
            t
        };
        let batch = b.batch_size as f64;
        let estimate = |leave: Option<usize>| -> Option<Vec<(f64, f64)>> {
            let (n, sq) = group_totals(&b.group_counts, &b.group_sq_norms, leave);
            if n < 2 {
                return None;
            }
            let nf = n as f64;
            let left = leave.map(|k| &b.group_sums[k]);
            Some(
                ranges
                    .iter()
                    .enumerate()
                    .map(|(s, &(start, len))| {
                        let mean_sq = mean_sq_norm(
                            &total_sum[start..start + len],
                            left.map(|l| &l[start..start + len]),
                            nf,
                        );
                        let m = sq[s] / nf;
                        let trace_c = nf * (m - mean_sq) / (nf - 1.0);
                        (mean_sq - trace_c / nf, batch * trace_c)
                    })
                    .collect(),
            )
        };
        let full = estimate(None).expect("checked: at least two minibatches");
        let replicates: Vec<Vec<(f64, f64)>> = (0..self.groups)
            .filter(|&k| b.group_counts[k] > 0)
            .filter_map(|k| estimate(Some(k)))
            .collect();
        assemble(Estimator::OneBatchSize, &full, &replicates)
    }
}

/// Minibatch count and per-scope sums of |g|^2 over the groups, leaving out `leave`.
fn group_totals(counts: &[u64], sq: &[Vec<f64>], leave: Option<usize>) -> (u64, Vec<f64>) {
    let mut n = 0;
    let mut sums = vec![0.0; sq.first().map_or(0, Vec::len)];
    for (k, (c, s)) in counts.iter().zip(sq).enumerate() {
        if Some(k) == leave {
            continue;
        }
        n += c;
        for (a, b) in sums.iter_mut().zip(s) {
            *a += b;
        }
    }
    (n, sums)
}

/// |(total - left) / n|^2, reduced over fixed chunks in order.
fn mean_sq_norm(total: &[f64], left: Option<&[f64]>, n: f64) -> f64 {
    let partial: Vec<f64> = total
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, t)| {
            let start = c * CHUNK;
            match left {
                None => t.iter().map(|v| (v / n) * (v / n)).sum::<f64>(),
                Some(l) => t
                    .iter()
                    .zip(&l[start..start + t.len()])
                    .map(|(v, w)| {
                        let m = (v - w) / n;
                        m * m
                    })
                    .sum::<f64>(),
            }
        })
        .collect();
    partial.iter().sum()
}

fn sq_norm(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64) * (v as f64)).sum()
}

/// The least-squares line y = a + b x through `points`: (intercept, slope).
fn least_squares_line(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let slope = sxy / sxx;
    (my - slope * mx, slope)
}

/// Rows from the full estimate and the jackknife replicates, per scope.
fn assemble(
    estimator: Estimator,
    full: &[(f64, f64)],
    replicates: &[Vec<(f64, f64)>],
) -> Vec<NoiseScale> {
    let k = replicates.len();
    let t = if k >= 2 {
        StudentsT::new(0.0, 1.0, (k - 1) as f64)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN)
    } else {
        f64::NAN
    };
    full.iter()
        .enumerate()
        .map(|(s, &(g2, tr))| {
            let b = tr / g2;
            let se = |f: &dyn Fn(&(f64, f64)) -> f64| -> f64 {
                if k < 2 {
                    return f64::NAN;
                }
                let vals: Vec<f64> = replicates.iter().map(|r| f(&r[s])).collect();
                jackknife_se(&vals)
            };
            let g2_se = se(&|r| r.0);
            let tr_se = se(&|r| r.1);
            let b_se = se(&|r| r.1 / r.0);
            NoiseScale {
                estimator,
                grad_sq_norm: g2,
                trace_sigma: tr,
                b_simple: b,
                grad_sq_norm_se: g2_se,
                trace_sigma_se: tr_se,
                b_simple_se: b_se,
                b_simple_lo: b - t * b_se,
                b_simple_hi: b + t * b_se,
                replicates: k,
            }
        })
        .collect()
}

/// The delete-a-group jackknife's standard error from the K leave-one-group-out values:
/// sqrt((K-1)/K sum_k (theta_k - mean)^2).
pub fn jackknife_se(values: &[f64]) -> f64 {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    ((k - 1.0) / k * ss).sqrt()
}

#[cfg(test)]
mod tests;
