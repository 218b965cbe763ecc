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
//! Format (the conventions `vmf-kappa --state-out` follows, kept in this file until the
//! tools share one module): a Parquet file whose gradscope provenance has kind
//! `noise-scale-state`, `state_version` [`STATE_VERSION`], `options` (`--groups`,
//! `--per-tensor`, `--estimator`: what changes the statistics), the input's parameter
//! layout and its provenance as `source`. One row group per step and batch size, one row
//! per jackknife group: `step`, `batch_size`, `group`, `count`, `sq_norms` (list<f64>: the
//! whole vector, then each tensor with `--per-tensor`) and `sums` (list<f64> of the
//! gradient's dimension; empty when `--estimator batch-sizes` keeps no means). Memory: a
//! writer holds one step's accumulator, a merge one step's parts.

use anyhow::{bail, Context, Result};
use arrow::array::{
    Array, ArrayRef, Float64Array, Float64Builder, ListArray, ListBuilder, UInt32Array, UInt64Array,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use gradscope_io::atomic::AtomicFile;
use gradscope_io::{Provenance, TensorLayout, METADATA_KEY};
use gradscope_stats::noise_scale::{BatchState, NoiseScaleAccumulator};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The provenance kind of a noise-scale state.
pub const KIND: &str = "noise-scale-state";

/// The version of the state table this build writes and reads; raised whenever its
/// columns or their meaning change.
pub const STATE_VERSION: u64 = 1;

const VERSION_KEY: &str = "state_version";
const OPTIONS_KEY: &str = "options";

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
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "--groups": self.groups,
            "--per-tensor": self.per_tensor,
            "--estimator": self.estimator,
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<Self> {
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
    let mut p = Provenance::new(KIND, tool);
    p.layout = source.layout.clone();
    p.source = Some(Box::new(source.clone()));
    p.extra.insert(VERSION_KEY.into(), STATE_VERSION.into());
    p.extra.insert(OPTIONS_KEY.into(), options.to_json());
    p
}

fn schema() -> SchemaRef {
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Float64, false)));
    Arc::new(Schema::new(vec![
        Field::new("step", DataType::UInt64, false),
        Field::new("batch_size", DataType::UInt64, false),
        Field::new("group", DataType::UInt32, false),
        Field::new("count", DataType::UInt64, false),
        Field::new("sq_norms", list(), false),
        Field::new("sums", list(), false),
    ]))
}

/// A state file being written, one row group per step and batch size, to a temporary
/// renamed into place with the run's other outputs.
pub struct StateWriter {
    file: AtomicFile,
    writer: ArrowWriter<File>,
}

impl std::fmt::Debug for StateWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateWriter")
            .field("dest", &self.file.dest())
            .finish()
    }
}

impl StateWriter {
    /// Starts the state file `path` with provenance `prov` (from [`provenance`]).
    pub fn create(path: &Path, prov: &Provenance) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                METADATA_KEY.to_string(),
                prov.to_json(),
            )]))
            .build();
        let writer = ArrowWriter::try_new(file.file()?, schema(), Some(props))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { file, writer })
    }

    /// Writes the state of `step`: one row group per batch size.
    pub fn write_step(&mut self, step: u64, acc: &NoiseScaleAccumulator) -> Result<()> {
        for b in acc.states() {
            let k = b.group_counts.len();
            let mut sq = ListBuilder::new(Float64Builder::new()).with_field(Field::new(
                "item",
                DataType::Float64,
                false,
            ));
            let mut sums = ListBuilder::new(Float64Builder::new()).with_field(Field::new(
                "item",
                DataType::Float64,
                false,
            ));
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
                Arc::new(UInt32Array::from_iter_values(0..k as u32)),
                Arc::new(UInt64Array::from(b.group_counts.clone())),
                Arc::new(sq.finish()),
                Arc::new(sums.finish()),
            ];
            let batch = RecordBatch::try_new(schema(), columns)?;
            let name = || format!("cannot write {}", self.file.dest().display());
            self.writer.write(&batch).with_context(name)?;
            self.writer.flush().with_context(name)?;
        }
        Ok(())
    }

    /// Finishes the file and returns it uncommitted.
    pub fn finish(self) -> Result<AtomicFile> {
        let name = format!("cannot write {}", self.file.dest().display());
        self.writer.close().context(name)?;
        Ok(self.file)
    }
}

/// A state file opened for merging: its provenance checked, its row groups unread.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    prov: Provenance,
    options: StateOptions,
    meta: ArrowReaderMetadata,
}

impl StateFile {
    /// Opens `path` and checks that it is a noise-scale state of this version; the error
    /// names the file and what it holds instead.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display();
        let hint = "a merge takes the files that noise-scale --state-out writes";
        let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        let meta = ArrowReaderMetadata::load(&file, Default::default())
            .with_context(|| format!("{name}: not a Parquet file; {hint}"))?;
        let json = meta
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == METADATA_KEY))
            .and_then(|k| k.value.clone());
        let Some(json) = json else {
            bail!("{name}: not a noise-scale state (no gradscope metadata); {hint}");
        };
        let prov = Provenance::from_json(&json)
            .with_context(|| format!("{name}: unreadable gradscope metadata"))?;
        if prov.kind != KIND {
            let what = if prov.kind == "gradient-matrix" {
                "a gradient matrix".to_string()
            } else if let Some(tool) = prov.kind.strip_suffix("-state") {
                format!("a {tool} state")
            } else {
                format!("a {} table", prov.kind)
            };
            bail!("{name}: {what}, not a noise-scale state; {hint}");
        }
        let version = prov.extra.get(VERSION_KEY).and_then(|v| v.as_u64());
        if version != Some(STATE_VERSION) {
            let v = version.map_or("no version".to_string(), |v| format!("version {v}"));
            bail!(
                "{name}: noise-scale state of {v}, this noise-scale reads version {STATE_VERSION} (write the states again with this version)"
            );
        }
        let Some(options) = prov
            .extra
            .get(OPTIONS_KEY)
            .and_then(StateOptions::from_json)
        else {
            bail!("{name}: the state's metadata has no readable options");
        };
        if meta.schema().fields() != schema().fields() {
            bail!("{name}: the state's columns are not those of a noise-scale state version {STATE_VERSION}");
        }
        Ok(Self {
            path: path.to_path_buf(),
            prov,
            options,
            meta,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The provenance of the gradient matrix the state was taken from.
    pub fn source(&self) -> Provenance {
        self.prov
            .source
            .as_deref()
            .cloned()
            .unwrap_or_else(|| self.prov.clone())
    }

    pub fn options(&self) -> &StateOptions {
        &self.options
    }

    pub fn layout(&self) -> &[TensorLayout] {
        &self.prov.layout
    }

    /// Checks that this state can be merged with `first`: the same layout and options.
    pub fn check_same_run(&self, first: &StateFile) -> Result<()> {
        let (name, other) = (self.path.display(), first.path.display());
        if self.layout() != first.layout() {
            let describe = |l: &[TensorLayout]| {
                let dim: usize = l.iter().map(|t| t.numel).sum();
                format!("{} tensors, {dim} coordinates", l.len())
            };
            bail!(
                "{name}: its parameter layout ({}) differs from {other}'s ({}): states merge only over the same parameters",
                describe(self.layout()),
                describe(first.layout())
            );
        }
        let (a, b) = (&self.options, &first.options);
        let differ = |flag: &str, x: String, y: String| -> Result<()> {
            bail!("{name}: taken with {flag} {x}, {other} with {flag} {y}: states merge only when taken with the same options")
        };
        if a.groups != b.groups {
            differ("--groups", a.groups.to_string(), b.groups.to_string())?;
        }
        if a.per_tensor != b.per_tensor {
            differ(
                "--per-tensor",
                a.per_tensor.to_string(),
                b.per_tensor.to_string(),
            )?;
        }
        if a.estimator != b.estimator {
            differ("--estimator", a.estimator.clone(), b.estimator.clone())?;
        }
        Ok(())
    }

    /// The step of every row group, in file order.
    pub fn steps(&self) -> Result<Vec<u64>> {
        let n = self.meta.metadata().num_row_groups();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let b = self.read(i, Some(0))?;
            let steps = b
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("schema checked at open");
            match steps.iter().next() {
                Some(Some(s)) if steps.iter().all(|x| x == Some(s)) => out.push(s),
                _ => bail!(
                    "{}: row group {i}: not one step (a damaged noise-scale state)",
                    self.path.display()
                ),
            }
        }
        Ok(out)
    }

    /// Row group `i` (one step and batch size) as the accumulator's per-batch state for
    /// `scopes` scopes besides the whole vector and a gradient of `dim` coordinates.
    pub fn batch_state(&self, i: usize, scopes: usize, dim: usize) -> Result<BatchState> {
        let name = self.path.display();
        let bad = |what: &str| {
            anyhow::anyhow!("{name}: row group {i}: {what} (a damaged noise-scale state)")
        };
        let b = self.read(i, None)?;
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
            .column(2)
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
        let keep = self.options.estimator != "batch-sizes";
        let mut state = BatchState {
            batch_size,
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
            state.group_counts[g] = u64s(3).value(r);
            let sq = lists(4).value(r);
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
            let sums = lists(5).value(r);
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

    /// Row group `i`, all columns or only column `column`, as one batch.
    fn read(&self, i: usize, column: Option<usize>) -> Result<RecordBatch> {
        let name = self.path.display();
        let file = File::open(&self.path).with_context(|| format!("cannot open {name}"))?;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
                .with_row_groups(vec![i]);
        if let Some(c) = column {
            builder =
                builder.with_projection(ProjectionMask::roots(self.meta.parquet_schema(), [c]));
        }
        let reader = builder
            .build()
            .with_context(|| format!("{name}: cannot read the state"))?;
        let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{name}: cannot read the state"))?;
        Ok(concat_batches(&schema, &batches)?)
    }
}
