//! The tests of one sample size, built once per size and reused for every set of that
//! size.

use anyhow::{anyhow, Result};
use gradscope_stats::normality::{default_block_length, CoordinateTests, TestSelection};
use gradscope_tool::errln;
use std::collections::HashMap;

/// The plans per sample size, built once: the tail index needs a block length dividing
/// n, which a prime n lacks (its column is then null, with a note).
pub struct Plans {
    selection: TestSelection,
    plans: HashMap<usize, CoordinateTests>,
}

impl Plans {
    /// No plan yet; each size's is built when first asked for.
    pub fn new(selection: TestSelection) -> Self {
        Self {
            selection,
            plans: HashMap::new(),
        }
    }

    /// The plan for samples of `n`, built (with its note) the first time.
    pub fn get(&mut self, n: usize) -> Result<&CoordinateTests> {
        if !self.plans.contains_key(&n) {
            let mut sel = self.selection;
            if sel.tail_index && default_block_length(n).is_none() {
                errln!(
                    "note: the tail index needs a block length dividing the sample size; \
                     {n} has none (a prime), so its column is null for samples of {n}"
                );
                sel.tail_index = false;
            }
            let plan = CoordinateTests::new(n, sel).map_err(|e| anyhow!("samples of {n}: {e}"))?;
            self.plans.insert(n, plan);
        }
        Ok(&self.plans[&n])
    }
}
