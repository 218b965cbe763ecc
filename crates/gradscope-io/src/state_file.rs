//! State files: what a tool measured over one part of the data, stored so that the parts
//! can be merged into the result of one pass over all of it.
//!
//! Why a file format of its own: a gradient matrix too large for one machine is measured
//! in parts (shards of samples, blocks of coordinates), each part by its own process, and
//! only the parts' sufficient statistics travel. A merge is only meaningful between parts
//! of the same run, so a state file says what it is and how it was taken, and every merge
//! checks that before reading a number.
//!
//! The conventions every mergeable tool shares (`vmf-kappa --state-out`, `noise-scale
//! --state-out`, `powerlaw-fit --gram-out`):
//! - a Parquet file whose provenance (under [`crate::METADATA_KEY`]) has `kind`
//!   `<tool>-state` (see [`StateKind`]), `tool` the writer's name and version, the input's
//!   parameter `layout`, the input's provenance as `source`, and two more keys:
//!   [`STATE_VERSION_KEY`] (the version of that tool's state table, raised whenever its
//!   columns or their meaning change) and [`OPTIONS_KEY`] (a JSON object of the flags that
//!   change the statistics, named as on the command line, e.g. `{"--seed": 0}`);
//! - one row group per unit that is merged as a whole (for `vmf-kappa`, one step and
//!   batch size), written and flushed as soon as it is complete, so that neither the
//!   writer nor a merge holds more than a few units in memory, whatever their number;
//! - errors name the file and say what is wrong in one line: not a state file (a gradient
//!   matrix, a result table), another tool's state, another version, and between the
//!   files of one merge, another layout or other options;
//! - each unit records the first and last `sample` index it saw and its count, so that a
//!   merge refuses parts that overlap ([`check_disjoint`]).

use crate::atomic::AtomicFile;
use crate::provenance::Provenance;
use crate::{TensorLayout, METADATA_KEY};
use anyhow::{bail, Context, Result};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::fs::File;
use std::path::{Path, PathBuf};

/// One part of a unit (a step and batch size) in a merge: the first and last sample index
/// it holds, how many gradients, and its file (for messages).
#[derive(Debug, Clone, Copy)]
pub struct PartExtent<'a> {
    pub first: u64,
    pub last: u64,
    pub count: u64,
    pub file: &'a Path,
}

/// Refuses a merge whose parts of one unit (step `step`, batch size `batch_size`) share a
/// gradient, by two tests. Parts that start at the same sample hold the same gradients
/// (the same state twice, however sparse); and parts that together hold more gradients
/// than there are sample indices from the first to the last hold one twice, since within
/// a unit every sample index names one gradient (pigeonhole: parts 0..59 and 40..99 of
/// 100 samples). Parts that are disjoint pass whatever their split: consecutive ranges,
/// or the interleaved indices of `dump-grads --shard`. Overlaps that leave room (two
/// sparse parts sharing an index but not their first) cannot be seen this way. `what`
/// names the unit's members in the message (`gradients`, `minibatches`); of two parts
/// that start alike, the later in `parts` is named first.
pub fn check_disjoint(step: u64, batch_size: u64, what: &str, parts: &[PartExtent]) -> Result<()> {
    let mut sorted: Vec<&PartExtent> = parts.iter().collect();
    sorted.sort_by_key(|p| p.first); // stable: parts that start alike keep their order
    if let Some(w) = sorted.windows(2).find(|w| w[0].first == w[1].first) {
        bail!(
            "{}: step {step}, batch size {batch_size}: its {what} start at sample {} as {}'s do: states merge only over disjoint parts (the same state twice?)",
            w[1].file.display(),
            w[1].first,
            w[0].file.display()
        );
    }
    let (Some(first), Some(last)) = (
        parts.iter().map(|p| p.first).min(),
        parts.iter().map(|p| p.last).max(),
    ) else {
        return Ok(());
    };
    let count: u64 = parts.iter().map(|p| p.count).sum();
    let span = last.saturating_sub(first).saturating_add(1);
    if count > span {
        let names: Vec<String> = parts.iter().map(|p| p.file.display().to_string()).collect();
        bail!(
            "{}: step {step}, batch size {batch_size}: the parts hold {count} gradients between samples {first} and {last}, more than the {span} indices there: they overlap (states merge only over disjoint parts)",
            names.join(", ")
        );
    }
    Ok(())
}

/// The provenance key of a state table's version.
pub const STATE_VERSION_KEY: &str = "state_version";

/// The provenance key of the options that change the statistics.
pub const OPTIONS_KEY: &str = "options";

/// Which tool's state, and the version of its table this build writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateKind {
    /// The tool, e.g. "vmf-kappa".
    pub tool: &'static str,
    /// The version of the tool's state table.
    pub version: u64,
}

impl StateKind {
    /// The provenance `kind` of such a state file: `<tool>-state`.
    pub fn kind(&self) -> String {
        format!("{}-state", self.tool)
    }

    /// The provenance of a state file: written by `tool_version` (name and version) from
    /// an input whose provenance is `source`, with `options` (flag name to value).
    pub fn provenance(
        &self,
        tool_version: &str,
        source: &Provenance,
        options: serde_json::Map<String, serde_json::Value>,
    ) -> Provenance {
        let mut p = Provenance::new(&self.kind(), tool_version);
        p.layout = source.layout.clone();
        p.source = Some(Box::new(source.clone()));
        p.extra.insert(
            STATE_VERSION_KEY.into(),
            serde_json::Value::from(self.version),
        );
        p.extra
            .insert(OPTIONS_KEY.into(), serde_json::Value::Object(options));
        p
    }
}

/// A state file opened for merging: its provenance checked against the expected kind,
/// its row groups not yet read.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    prov: Provenance,
    meta: ArrowReaderMetadata,
}

impl StateFile {
    /// Opens `path` and checks that it is a state of `kind` in the version this build
    /// reads; the error names the file and what it holds instead.
    pub fn open(path: &Path, kind: &StateKind) -> Result<Self> {
        let name = path.display();
        let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        let meta = ArrowReaderMetadata::load(&file, Default::default()).with_context(|| {
            format!(
                "{name}: not a Parquet file; a merge takes the files that {} writes",
                kind.writer()
            )
        })?;
        let json = meta
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == METADATA_KEY))
            .and_then(|k| k.value.clone());
        let Some(json) = json else {
            bail!(
                "{name}: not a {} state file (no gradscope metadata); a merge takes the files that {} writes",
                kind.tool,
                kind.writer()
            );
        };
        // The kind first, from the JSON as it is: other tables' metadata need not parse
        // as a state's provenance.
        let value: serde_json::Value = serde_json::from_str(&json)
            .with_context(|| format!("{name}: unreadable gradscope metadata"))?;
        let found = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("unknown");
        if found != kind.kind() {
            let what = if found == "gradient-matrix" {
                "a gradient matrix".to_string()
            } else if let Some(tool) = found.strip_suffix("-state") {
                format!("a {tool} state")
            } else {
                format!("a {found} table")
            };
            bail!(
                "{name}: {what}, not a {} state; a merge takes the files that {} writes",
                kind.tool,
                kind.writer()
            );
        }
        let prov = Provenance::from_json(&json)
            .with_context(|| format!("{name}: unreadable gradscope metadata"))?;
        let version = prov.extra.get(STATE_VERSION_KEY).and_then(|v| v.as_u64());
        if version != Some(kind.version) {
            let v = version.map_or("no".to_string(), |v| format!("version {v}"));
            bail!(
                "{name}: {} state {v}, this {} reads version {} (write the states again with this version)",
                kind.tool,
                kind.tool,
                kind.version
            );
        }
        if !prov.extra.get(OPTIONS_KEY).is_some_and(|o| o.is_object()) {
            bail!("{name}: the state's metadata has no options");
        }
        Ok(Self {
            path: path.to_path_buf(),
            prov,
            meta,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The provenance stored with the state.
    pub fn provenance(&self) -> &Provenance {
        &self.prov
    }

    /// The parameter layout of the input the state was taken from.
    pub fn layout(&self) -> &[TensorLayout] {
        &self.prov.layout
    }

    /// The options the state was taken with (flag name to value).
    pub fn options(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.prov.extra[OPTIONS_KEY]
            .as_object()
            .expect("checked at open")
    }

    /// Checks that this state can be merged with `first` (the first file of the merge):
    /// the same layout and the same options.
    pub fn check_same_run(&self, first: &StateFile) -> Result<()> {
        let (name, other) = (self.path.display(), first.path.display());
        if self.layout() != first.layout() {
            bail!(
                "{name}: its parameter layout ({}) differs from {other}'s ({}): states merge only over the same parameters",
                describe_layout(self.layout()),
                describe_layout(first.layout())
            );
        }
        let (a, b) = (self.options(), first.options());
        let keys = a.keys().chain(b.keys());
        for key in keys {
            let (x, y) = (a.get(key), b.get(key));
            if x != y {
                // Strings unquoted, as they are written on the command line.
                let show = |v: Option<&serde_json::Value>| match v {
                    None => "(not set)".to_string(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                bail!(
                    "{name}: taken with {key} {}, {other} with {key} {}: states merge only when taken with the same options",
                    show(x),
                    show(y)
                );
            }
        }
        Ok(())
    }

    /// The state's columns (a tool checks them against the ones it writes).
    pub fn schema(&self) -> &SchemaRef {
        self.meta.schema()
    }

    /// The number of row groups (units of merging).
    pub fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Row group `i`, all columns or only those named in `columns`, as one batch.
    pub fn read(&self, i: usize, columns: Option<&[&str]>) -> Result<RecordBatch> {
        let name = self.path.display();
        let file = File::open(&self.path).with_context(|| format!("cannot open {name}"))?;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
                .with_row_groups(vec![i]);
        if let Some(cols) = columns {
            let schema = self.meta.schema();
            let mut idx = Vec::with_capacity(cols.len());
            for c in cols {
                idx.push(
                    schema
                        .index_of(c)
                        .map_err(|_| anyhow::anyhow!("{name}: the state has no column '{c}'"))?,
                );
            }
            let mask = ProjectionMask::roots(self.meta.parquet_schema(), idx);
            builder = builder.with_projection(mask);
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

impl StateKind {
    /// How a user writes such a state (for messages).
    fn writer(&self) -> String {
        match self.tool.strip_suffix("-gram") {
            Some(tool) => format!("{tool} --gram-out"),
            None => format!("{} --state-out", self.tool),
        }
    }
}

/// A layout in a few words: tensors and coordinates.
fn describe_layout(layout: &[TensorLayout]) -> String {
    let dim: usize = layout.iter().map(|t| t.numel).sum();
    format!("{} tensors, {dim} coordinates", layout.len())
}

/// A state file being written: one row group per [`StateWriter::write_group`], to a
/// temporary that appears under its name only when the run's outputs are committed.
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
    /// Starts the state file `path` with columns `schema` and provenance `prov` (from
    /// [`StateKind::provenance`]).
    pub fn create(path: &Path, schema: SchemaRef, prov: &Provenance) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        // Sums of floats over millions of coordinates: neither dictionaries nor Snappy
        // shrink them, and page statistics of them serve no reader, so the writer skips
        // all three (they cost most of the time and memory of writing a large state).
        let props = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                METADATA_KEY.to_string(),
                prov.to_json(),
            )]))
            .build();
        let writer = ArrowWriter::try_new(file.file()?, schema, Some(props))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { file, writer })
    }

    /// Writes one unit of merging as its own row group.
    pub fn write_group(&mut self, batch: &RecordBatch) -> Result<()> {
        let name = || format!("cannot write {}", self.file.dest().display());
        self.writer.write(batch).with_context(name)?;
        self.writer.flush().with_context(name)?;
        Ok(())
    }

    /// Finishes the file and returns it uncommitted (see [`AtomicFile::commit`]).
    pub fn finish(self) -> Result<AtomicFile> {
        let name = format!("cannot write {}", self.file.dest().display());
        self.writer.close().context(name)?;
        Ok(self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad_matrix::layout_from_shapes;
    use arrow::array::UInt64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    const KIND: StateKind = StateKind {
        tool: "vmf-kappa",
        version: 1,
    };

    fn write(path: &Path, kind: &StateKind, seed: u64, shapes: &[(&str, Vec<usize>)]) {
        let mut source = Provenance::new("gradient-matrix", "test 0");
        source.layout = layout_from_shapes(shapes);
        let mut options = serde_json::Map::new();
        options.insert("--seed".into(), seed.into());
        let prov = kind.provenance("vmf-kappa 0", &source, options);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "step",
            DataType::UInt64,
            false,
        )]));
        let mut w = StateWriter::create(path, schema.clone(), &prov).unwrap();
        for step in [0u64, 5] {
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(UInt64Array::from(vec![step]))],
            )
            .unwrap();
            w.write_group(&b).unwrap();
        }
        w.finish().unwrap().commit().unwrap();
    }

    #[test]
    fn round_trip_and_the_checks() {
        let dir = tempfile::tempdir().unwrap();
        let shapes = [("w", vec![2, 3])];
        let a = dir.path().join("a.parquet");
        write(&a, &KIND, 0, &shapes);
        let sa = StateFile::open(&a, &KIND).unwrap();
        assert_eq!(sa.row_groups(), 2);
        let b = sa.read(1, Some(&["step"])).unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(sa.options()["--seed"], serde_json::json!(0));
        assert!(sa.check_same_run(&sa).is_ok());

        let other_seed = dir.path().join("b.parquet");
        write(&other_seed, &KIND, 1, &shapes);
        let e = StateFile::open(&other_seed, &KIND)
            .unwrap()
            .check_same_run(&sa)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("taken with --seed 1") && e.contains("--seed 0"),
            "{e}"
        );

        let other_layout = dir.path().join("c.parquet");
        write(&other_layout, &KIND, 0, &[("w", vec![7])]);
        let e = StateFile::open(&other_layout, &KIND)
            .unwrap()
            .check_same_run(&sa)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("parameter layout (1 tensors, 7 coordinates)"),
            "{e}"
        );

        let newer = StateKind {
            tool: "vmf-kappa",
            version: 2,
        };
        let v2 = dir.path().join("d.parquet");
        write(&v2, &newer, 0, &shapes);
        let e = StateFile::open(&v2, &KIND).unwrap_err().to_string();
        assert!(
            e.contains("vmf-kappa state version 2, this vmf-kappa reads version 1"),
            "{e}"
        );

        let noise = StateKind {
            tool: "noise-scale",
            version: 1,
        };
        let ns = dir.path().join("e.parquet");
        write(&ns, &noise, 0, &shapes);
        let e = StateFile::open(&ns, &KIND).unwrap_err().to_string();
        assert!(
            e.contains("a noise-scale state, not a vmf-kappa state"),
            "{e}"
        );

        let text = dir.path().join("f.parquet");
        std::fs::write(&text, "step\n0\n").unwrap();
        let e = StateFile::open(&text, &KIND).unwrap_err().to_string();
        assert!(e.contains("not a Parquet file"), "{e}");
    }
}
