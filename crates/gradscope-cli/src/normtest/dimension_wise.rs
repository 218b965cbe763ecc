//! The dimension-wise tests (`--mode dimension`): each gradient read across K random
//! coordinates (`--dim-coords`) of each tensor and of the whole gradient (scope `all`),
//! drawn afresh for every gradient. They need one gradient at a time, so they run during
//! the first pass.

use super::aggregate::{Agg, CoordOut};
use super::draws::{seed_for, subset, SALT_DIMENSION};
use super::test_plans::Plans;
use anyhow::{anyhow, Result};
use gradscope_io::{Sample, TensorLayout};
use gradscope_stats::normality::{TestSelection, Workspace};
use gradscope_stats::rng::stream;

/// The dimension-wise tests of a run, and what they add up to per (step, scope).
pub struct DimensionWise<'a> {
    layout: &'a [TensorLayout],
    /// The gradient's dimension (the numel of scope `all`).
    dim: usize,
    /// `--dim-coords`.
    k: usize,
    /// The fewest values the selected tests take: a scope with fewer is not tested.
    min_n: usize,
    alpha: f64,
    seed: u64,
    plans: Plans,
    ws: Workspace,
    gathered: Vec<f32>,
    /// Per step, per scope (the tensors, then `all`).
    pub aggs: Vec<Vec<Agg>>,
}

impl<'a> DimensionWise<'a> {
    pub fn new(
        layout: &'a [TensorLayout],
        dim: usize,
        k: usize,
        min_n: usize,
        alpha: f64,
        seed: u64,
        selection: TestSelection,
    ) -> Self {
        Self {
            layout,
            dim,
            k,
            min_n,
            alpha,
            seed,
            plans: Plans::new(selection),
            ws: Workspace::default(),
            gathered: Vec::new(),
            aggs: Vec::new(),
        }
    }

    /// A new step begins.
    pub fn new_step(&mut self) {
        self.aggs.push(vec![Agg::default(); self.layout.len() + 1]);
    }

    /// Tests the gradient `sample` (the `index`-th of the file) in every scope, adding
    /// the results to the current step's; `name` names the input in errors.
    pub fn test(&mut self, sample: &Sample, index: u64, name: &str) -> Result<()> {
        let all_scope = self.layout.len();
        let aggs = self.aggs.last_mut().expect("a step begun");
        let mut rng = stream(seed_for(self.seed, SALT_DIMENSION), index);
        for scope in 0..=self.layout.len() {
            let (offset, numel) = if scope == all_scope {
                (0, self.dim)
            } else {
                (self.layout[scope].offset, self.layout[scope].numel)
            };
            let k = self.k.min(numel);
            if k < self.min_n {
                continue;
            }
            self.gathered.clear();
            self.gathered.extend(
                subset(&mut rng, numel, k)
                    .into_iter()
                    .map(|i| sample.values[offset + i]),
            );
            let plan = self.plans.get(k)?;
            let report = plan
                .run_f32(&self.gathered, &mut self.ws)
                .map_err(|e| anyhow!("{name}: {e}"))?;
            aggs[scope].add(&CoordOut::from(&report), self.alpha, false);
        }
        Ok(())
    }
}
