//! `noise-scale`'s state file: the sufficient statistics of the noise scale over one part
//! of a gradient matrix, so that parts measured apart (shards of the minibatches, files
//! of a dataset in parts) merge into the table of one pass over all of them.
//!
//! Why these statistics: both estimators of `gradscope_stats::noise_scale` and their
//! delete-a-group jackknife are functions of, per step, batch size and jackknife group,
//! the minibatch count, the sums of |g|^2 per scope and (for the one-batch-size estimator)
//! the sum of the gradients. Sums add, so the merged state is the one-pass state up to the
//! order of floating-point additions, and since a minibatch's group is its sample index
//! mod K, not the order it arrived in, the jackknife intervals merge too.
//!
//! Format: the state-file conventions every mergeable tool shares
//! (`gradscope_io::state_file`): kind `noise-scale-state`, version [`STATE`]`.version`,
//! `options` (`--groups`, `--per-tensor`, `--estimator`: what changes the statistics), the
//! input's parameter layout and its provenance as `source`. One row group per step and batch size, one row
//! per jackknife group: `step`, `batch_size`, `first_sample` and `last_sample` (the part's
//! smallest and largest sample index: with the counts, what shows parts that overlap,
//! which a merge refuses), `group`, `count`, `sq_norms` (list<f64>: the
//! whole vector, then each tensor with `--per-tensor`) and `sums` (list<f64> of the
//! gradient's dimension; empty when `--estimator batch-sizes` keeps no means). Memory: a
//! writer holds one step's accumulator, a merge one step's parts.

use anyhow::{bail, Result};
use arrow::array::{
    Array, ArrayRef, Float64Array, Float64Builder, ListArray, ListBuilder, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use gradscope_io::atomic::AtomicFile;
use gradscope_io::state_file::{self, StateKind};
use gradscope_io::{Provenance, TensorLayout};
use gradscope_stats::noise_scale::{BatchState, NoiseScaleAccumulator};
use std::path::Path;
use std::sync::Arc;

/// The state files of `noise-scale`, in the version this build writes and reads (raised
/// whenever the columns or their meaning change).
pub const STATE: StateKind = StateKind {
    tool: "noise-scale",
    version: 2,
};

/// The options that change the statistics a state holds; states merge only when equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateOptions {
    /// Jackknife groups K.
    pub groups: usize,
    /// Whether each tensor is a scope of its own.
    pub per_tensor: bool,
    /// The `--estimator` value name (`batch-sizes` keeps no gradient sums).
    pub estimator: String,
}

impl StateOptions {
    fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("--groups".into(), self.groups.into());
        m.insert("--per-tensor".into(), self.per_tensor.into());
        m.insert("--estimator".into(), self.estimator.clone().into());
        m
    }

    fn from_json(v: &serde_json::Map<String, serde_json::Value>) -> Option<Self> {
        Some(Self {
            groups: usize::try_from(v.get("--groups")?.as_u64()?).ok()?,
            per_tensor: v.get("--per-tensor")?.as_bool()?,
            estimator: v.get("--estimator")?.as_str()?.to_string(),
        })
    }
}

/// The provenance of a state written by `tool` (name and version) from an input whose
/// provenance is `source`.
pub fn provenance(tool: &str, source: &Provenance, options: &StateOptions) -> Provenance {
    STATE.provenance(tool, source, options.to_json())
}

fn schema() -> SchemaRef {
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Float64, false)));
    Arc::new(Schema::new(vec![
        Field::new("step", DataType::UInt64, false),
        Field::new("batch_size", DataType::UInt64, false),
        Field::new("first_sample", DataType::UInt64, false),
        Field::new("last_sample", DataType::UInt64, false),
        Field::new("group", DataType::UInt32, false),
        Field::new("count", DataType::UInt64, false),
        Field::new("sq_norms", list(), false),
        Field::new("sums", list(), false),
    ]))
}

/// A state file being written, one row group per step and batch size, to a temporary
/// renamed into place with the run's other outputs.
#[derive(Debug)]
pub struct StateWriter(state_file::StateWriter);

impl StateWriter {
    /// Starts the state file `path` with provenance `prov` (from [`provenance`]).
    pub fn create(path: &Path, prov: &Provenance) -> Result<Self> {
        Ok(Self(state_file::StateWriter::create(path, schema(), prov)?))
    }

    /// Writes the state of `step`: one row group per batch size.
    pub fn write_step(&mut self, step: u64, acc: &NoiseScaleAccumulator) -> Result<()> {
        let item = || Field::new("item", DataType::Float64, false);
        for b in acc.states() {
            let k = b.group_counts.len();
            let mut sq = ListBuilder::new(Float64Builder::new()).with_field(item());
            let mut sums = ListBuilder::new(Float64Builder::new()).with_field(item());
            for g in 0..k {
                sq.values().append_slice(&b.group_sq_norms[g]);
                sq.append(true);
                if let Some(s) = b.group_sums.get(g) {
                    sums.values().append_slice(s);
                }
                sums.append(true);
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(UInt64Array::from(vec![step; k])),
                Arc::new(UInt64Array::from(vec![b.batch_size; k])),
                Arc::new(UInt64Array::from(vec![b.first_sample; k])),
                Arc::new(UInt64Array::from(vec![b.last_sample; k])),
                Arc::new(UInt32Array::from_iter_values(0..k as u32)),
                Arc::new(UInt64Array::from(b.group_counts.clone())),
                Arc::new(sq.finish()),
                Arc::new(sums.finish()),
            ];
            self.0
                .write_group(&RecordBatch::try_new(schema(), columns)?)?;
        }
        Ok(())
    }

    /// Finishes the file and returns it uncommitted.
    pub fn finish(self) -> Result<AtomicFile> {
        self.0.finish()
    }
}

/// A state file opened for merging: its provenance checked, its row groups unread.
#[derive(Debug)]
pub struct StateFile {
    file: state_file::StateFile,
    options: StateOptions,
}

impl StateFile {
    /// Opens `path` and checks that it is a noise-scale state of this version with
    /// readable options and the state's columns; the error names the file and what it
    /// holds instead.
    pub fn open(path: &Path) -> Result<Self> {
        let file = state_file::StateFile::open(path, &STATE)?;
        let name = path.display();
        let Some(options) = StateOptions::from_json(file.options()) else {
            bail!("{name}: the state's metadata has no readable options");
        };
        if file.schema().fields() != schema().fields() {
            bail!(
                "{name}: the state's columns are not those of a noise-scale state version {}",
                STATE.version
            );
        }
        Ok(Self { file, options })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The provenance of the gradient matrix the state was taken from.
    pub fn source(&self) -> Provenance {
        let prov = self.file.provenance();
        prov.source
            .as_deref()
            .cloned()
            .unwrap_or_else(|| prov.clone())
    }

    pub fn options(&self) -> &StateOptions {
        &self.options
    }

    pub fn layout(&self) -> &[TensorLayout] {
        self.file.layout()
    }

    /// Checks that this state can be merged with `first`: the same layout and options.
    pub fn check_same_run(&self, first: &StateFile) -> Result<()> {
        self.file.check_same_run(&first.file)
    }

    /// The step of every row group, in file order.
    pub fn steps(&self) -> Result<Vec<u64>> {
        let n = self.file.row_groups();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let b = self.file.read(i, Some(&["step"]))?;
            let steps = b
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("schema checked at open");
            match steps.iter().next() {
                Some(Some(s)) if steps.iter().all(|x| x == Some(s)) => out.push(s),
                _ => bail!(
                    "{}: row group {i}: not one step (a damaged noise-scale state)",
                    self.path().display()
                ),
            }
        }
        Ok(out)
    }

    /// Row group `i` (one step and batch size) as the accumulator's per-batch state for
    /// `scopes` scopes besides the whole vector and a gradient of `dim` coordinates.
    pub fn batch_state(&self, i: usize, scopes: usize, dim: usize) -> Result<BatchState> {
        let name = self.path().display();
        let bad = |what: &str| {
            anyhow::anyhow!("{name}: row group {i}: {what} (a damaged noise-scale state)")
        };
        let b = self.file.read(i, None)?;
        let u64s = |c: usize| -> &UInt64Array {
            b.column(c)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("schema checked at open")
        };
        let lists = |c: usize| -> &ListArray {
            b.column(c)
                .as_any()
                .downcast_ref::<ListArray>()
                .expect("schema checked at open")
        };
        let groups_col = b
            .column(4)
            .as_any()
            .downcast_ref::<UInt32Array>()
            .expect("schema checked at open");
        let k = self.options.groups;
        if b.num_rows() != k {
            return Err(bad(&format!(
                "{} rows for {k} jackknife groups",
                b.num_rows()
            )));
        }
        let batch_size = u64s(1).value(0);
        if batch_size == 0 || u64s(1).iter().any(|x| x != Some(batch_size)) {
            return Err(bad("batch sizes differ or are 0"));
        }
        let first_sample = u64s(2).value(0);
        let last_sample = u64s(3).value(0);
        if u64s(2).iter().any(|x| x != Some(first_sample))
            || u64s(3).iter().any(|x| x != Some(last_sample))
            || last_sample < first_sample
        {
            return Err(bad("first or last samples differ or are not a range"));
        }
        let keep = self.options.estimator != "batch-sizes";
        let mut state = BatchState {
            batch_size,
            first_sample,
            last_sample,
            group_counts: vec![0; k],
            group_sq_norms: vec![Vec::new(); k],
            group_sums: if keep {
                vec![Vec::new(); k]
            } else {
                Vec::new()
            },
        };
        let mut seen = vec![false; k];
        for r in 0..k {
            let g = groups_col.value(r) as usize;
            if g >= k || seen[g] {
                return Err(bad("jackknife groups are not 0..K-1 once each"));
            }
            seen[g] = true;
            state.group_counts[g] = u64s(5).value(r);
            let sq = lists(6).value(r);
            let sq = sq
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("list<f64>");
            if sq.len() != scopes + 1 {
                return Err(bad(&format!(
                    "{} squared norms, expected {}",
                    sq.len(),
                    scopes + 1
                )));
            }
            state.group_sq_norms[g] = sq.values().to_vec();
            let sums = lists(7).value(r);
            let sums = sums
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("list<f64>");
            match (keep, sums.len()) {
                (true, n) if n == dim => state.group_sums[g] = sums.values().to_vec(),
                (false, 0) => {}
                (_, n) => {
                    return Err(bad(&format!(
                        "gradient sums of length {n}, expected {}",
                        if keep { dim } else { 0 }
                    )))
                }
            }
        }
        Ok(state)
    }
}
