//! Streaming reader of gradient matrices, with the checks that turn a wrong file into
//! one clear error.
//!
//! Reads Parquet files and Arrow IPC streams (from a file, or from stdin when the path is
//! `-`), sample by sample, holding one record batch at a time. Every sample is checked as
//! it is read: all tensors of the layout present and in order, each with as many values
//! as the layout says, no NaN or infinity (reported with step, sample, tensor and index),
//! samples in increasing (step, sample) order.

use crate::float_list_pages::{FloatListPages, Record};
use crate::grad_matrix::{check_layout, check_schema, ColumnIndex};
use crate::ipc_stream::StreamSource;
use crate::provenance::Provenance;
use crate::{is_stdio, METADATA_KEY};
use anyhow::{anyhow, bail, Result};
use arrow::array::{Array, AsArray, Float32Array, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Schema, UInt32Type, UInt64Type};
use arrow::error::ArrowError;
use arrow::ipc::reader::FileReader;
use arrow::record_batch::RecordBatchReader;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// One gradient: every tensor of the layout, concatenated.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub step: u64,
    pub sample: u32,
    pub loss: f64,
    pub batch_size: u32,
    pub values: Vec<f32>,
}

/// Read buffer of IPC streams (bytes): headers and the small columns come through it, a
/// gradient's floats mostly straight into their destination.
const STREAM_BUFFER: usize = 64 << 10;

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// Where record batches come from: arrow-rs's readers, or an IPC stream read by
/// [`StreamSource`], which lands the floats of `values` apart.
enum Source {
    Batches(Batches),
    Stream(Box<StreamSource<BufReader<File>>>),
}

/// Reads a gradient matrix sample by sample.
pub struct GradReader {
    name: String,
    meta: Provenance,
    source: Source,
    cols: ColumnIndex,
    batch: Option<RecordBatch>,
    /// For the current batch: layout index of each tensor-dictionary key (or of each row
    /// when the column is plain utf8).
    tensor_ids: Vec<Option<usize>>,
    dictionary: bool,
    row: usize,
    by_name: HashMap<String, usize>,
    last: Option<(u64, u32)>,
    samples: u64,
    check_finite: bool,
    /// The `values` column read from its pages (Parquet files written with plain
    /// encoding); None when the values come in the record batches.
    pages: Option<FloatListPages>,
}

impl std::fmt::Debug for GradReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradReader")
            .field("name", &self.name)
            .field("samples", &self.samples)
            .finish()
    }
}

/// What kind of file a path holds, from its first bytes.
fn sniff(file: &mut File) -> Result<&'static str> {
    let mut magic = [0u8; 8];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    Ok(if n >= 4 && &magic[..4] == b"PAR1" {
        "parquet"
    } else if n >= 6 && &magic[..6] == b"ARROW1" {
        "ipc-file"
    } else if n >= 4 && magic[..4] == [0xff, 0xff, 0xff, 0xff] {
        "ipc-stream"
    } else if n == 0 {
        "empty"
    } else {
        "unknown"
    })
}

fn provenance_from(name: &str, json: Option<&String>) -> Result<Provenance> {
    let json = json.ok_or_else(|| {
        anyhow!("{name}: no `{METADATA_KEY}` metadata: not a gradient matrix written by gradscope (write one with dump-grads or synth-grads)")
    })?;
    let meta = Provenance::from_json(json).map_err(|e| {
        anyhow!("{name}: the `{METADATA_KEY}` metadata is not valid provenance JSON: {e}")
    })?;
    if meta.format_version != crate::FORMAT_VERSION {
        bail!(
            "{name}: gradient-matrix format version {} (this tool reads version {})",
            meta.format_version,
            crate::FORMAT_VERSION
        );
    }
    check_layout(&meta.layout)
        .map_err(|e| anyhow!("{name}: bad parameter layout in the metadata: {e}"))?;
    Ok(meta)
}

impl GradReader {
    /// Opens a Parquet file or Arrow IPC stream/file at `path`, or stdin for `-`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// `open`, optionally without the page decoder (to check one path against the other).
    fn open_with(path: &Path, use_pages: bool) -> Result<Self> {
        if is_stdio(path) {
            crate::pipe::widen_stdin();
            let not_a_stream = |e: &dyn std::fmt::Display| {
                anyhow!("stdin: not an Arrow IPC stream of a gradient matrix ({e}); pipe the output of `dump-grads -o -` or `synth-grads -o -`")
            };
            let stdin = crate::pipe::raw_stdin().map_err(|e| not_a_stream(&e))?;
            let reader = StreamSource::try_new(BufReader::with_capacity(STREAM_BUFFER, stdin))
                .map_err(|e| not_a_stream(&e))?;
            return Self::from_stream("stdin".into(), reader);
        }
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|e| anyhow!("{name}: cannot open: {e}"))?;
        match sniff(&mut file).map_err(|e| anyhow!("{name}: cannot read: {e}"))? {
            "parquet" => {
                let plain_file = file.try_clone().map_err(|e| anyhow!("{name}: cannot open: {e}"))?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| anyhow!("{name}: not a readable Parquet file: {e}"))?;
                let kv = builder.metadata().file_metadata().key_value_metadata().and_then(|kv| kv.iter().find(|k| k.key == METADATA_KEY).and_then(|k| k.value.clone()));
                let schema = builder.schema().clone();
                let json = kv.or_else(|| schema.metadata().get(METADATA_KEY).cloned());
                let cols = check_schema(&schema).map_err(|e| anyhow!("{name}: {e}"))?;
                let descr = builder.metadata().file_metadata().schema_descr_ptr();
                let leaf = descr.columns().iter().position(|c| c.path().parts().first().map(String::as_str) == Some("values"));
                match leaf.filter(|&c| use_pages && FloatListPages::supports(builder.metadata(), c)) {
                    Some(leaf) => {
                        // Every column but `values` through Arrow; `values` from its pages.
                        let field = schema.field(cols.values);
                        let item_nullable = match field.data_type() {
                            DataType::List(f) | DataType::LargeList(f) => f.is_nullable(),
                            _ => true,
                        };
                        let pages = FloatListPages::open(&name, plain_file, builder.metadata().clone(), leaf, field.is_nullable(), item_nullable);
                        let others = ProjectionMask::leaves(&descr, (0..descr.num_columns()).filter(|&c| c != leaf));
                        let reader = builder.with_projection(others).with_batch_size(8192).build().map_err(|e| anyhow!("{name}: {e}"))?;
                        let projected = reader.schema();
                        let mut me = Self::from_batches(name, &schema, cols, json, Box::new(reader))?;
                        let at = |c: &str| projected.index_of(c).expect("projected column");
                        me.cols = ColumnIndex { step: at("step"), sample: at("sample"), tensor: at("tensor"), values: usize::MAX, loss: at("loss"), batch_size: at("batch_size") };
                        me.pages = Some(pages);
                        Ok(me)
                    }
                    None => {
                        // About 16 MiB of values per batch, whole rows.
                        let rows = builder.metadata().file_metadata().num_rows().max(1) as usize;
                        let bytes = builder.metadata().row_groups().iter().map(|g| g.total_byte_size().max(0) as usize).sum::<usize>().max(1);
                        let batch_rows = ((16usize << 20) / (bytes / rows).max(1)).clamp(1, 65_536);
                        let reader = builder.with_batch_size(batch_rows).build().map_err(|e| anyhow!("{name}: {e}"))?;
                        Self::from_batches(name, &schema, cols, json, Box::new(reader))
                    }
                }
            }
            "ipc-file" => {
                let reader = FileReader::try_new(BufReader::new(file), None).map_err(|e| anyhow!("{name}: not a readable Arrow IPC file: {e}"))?;
                let schema = reader.schema();
                let json = schema.metadata().get(METADATA_KEY).cloned();
                let cols = check_schema(&schema).map_err(|e| anyhow!("{name}: {e}"))?;
                Self::from_batches(name, &schema, cols, json, Box::new(reader))
            }
            "ipc-stream" => {
                let reader = StreamSource::try_new(BufReader::with_capacity(STREAM_BUFFER, file)).map_err(|e| anyhow!("{name}: not a readable Arrow IPC stream: {e}"))?;
                Self::from_stream(name, reader)
            }
            "empty" => bail!("{name}: the file is empty"),
            _ => bail!("{name}: not a Parquet file or an Arrow IPC stream (a gradient matrix is written by dump-grads or synth-grads)"),
        }
    }

    /// A reader of the IPC stream `reader` named `name`.
    fn from_stream(name: String, reader: StreamSource<BufReader<File>>) -> Result<Self> {
        let schema = reader.schema();
        let json = schema.metadata().get(METADATA_KEY).cloned();
        let cols = check_schema(&schema).map_err(|e| anyhow!("{name}: {e}"))?;
        Self::from_source(name, &schema, cols, json, Source::Stream(Box::new(reader)))
    }

    /// A reader of `batches` from a file of `schema`, whose columns `check_schema` found
    /// at `cols`, with the provenance `json`.
    fn from_batches(
        name: String,
        schema: &Schema,
        cols: ColumnIndex,
        json: Option<String>,
        batches: Batches,
    ) -> Result<Self> {
        Self::from_source(name, schema, cols, json, Source::Batches(batches))
    }

    fn from_source(
        name: String,
        schema: &Schema,
        cols: ColumnIndex,
        json: Option<String>,
        source: Source,
    ) -> Result<Self> {
        let meta = provenance_from(&name, json.as_ref())?;
        let by_name = meta
            .layout
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let dictionary = matches!(
            schema.field(cols.tensor).data_type(),
            DataType::Dictionary(..)
        );
        Ok(Self {
            name,
            meta,
            source,
            cols,
            batch: None,
            tensor_ids: Vec::new(),
            dictionary,
            row: 0,
            by_name,
            last: None,
            samples: 0,
            check_finite: true,
            pages: None,
        })
    }

    /// Skip the NaN/infinity check (for tools that handle non-finite values themselves).
    pub fn set_check_finite(&mut self, check: bool) {
        self.check_finite = check;
    }

    /// The name used in messages: the path, or "stdin".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provenance, including the parameter layout.
    pub fn meta(&self) -> &Provenance {
        &self.meta
    }

    /// Values per sample.
    pub fn dim(&self) -> usize {
        self.meta.dim()
    }

    /// Samples read so far.
    pub fn samples_read(&self) -> u64 {
        self.samples
    }

    /// Moves to the next row, loading the next batch when needed; false at the end.
    fn advance(&mut self) -> Result<bool> {
        loop {
            if let Some(b) = &self.batch {
                if self.row < b.num_rows() {
                    return Ok(true);
                }
            }
            let next = match &mut self.source {
                Source::Batches(batches) => batches.next().transpose(),
                Source::Stream(stream) => {
                    // The stream reuses the body the last batch views once it is dropped.
                    self.batch = None;
                    stream.next_batch()
                }
            };
            match next {
                Ok(None) => {
                    self.batch = None;
                    return Ok(false);
                }
                Err(e) => bail!(
                    "{}: cannot read after {} samples: {e}",
                    self.name,
                    self.samples
                ),
                Ok(Some(b)) => {
                    self.tensor_ids = self.map_tensors(&b)?;
                    self.batch = Some(b);
                    self.row = 0;
                }
            }
        }
    }

    fn map_tensors(&self, b: &RecordBatch) -> Result<Vec<Option<usize>>> {
        let col = b.column(self.cols.tensor);
        let strings: Vec<Option<String>> = if self.dictionary {
            let dict = col.as_dictionary_opt::<Int32Type>().ok_or_else(|| {
                anyhow!(
                    "{}: column `tensor` must be dictionary<int32, utf8>",
                    self.name
                )
            })?;
            let values = dict.values();
            let s = values
                .as_string_opt::<i32>()
                .ok_or_else(|| anyhow!("{}: column `tensor` must hold utf8 names", self.name))?;
            (0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
                .collect()
        } else {
            let s = col
                .as_string_opt::<i32>()
                .ok_or_else(|| anyhow!("{}: column `tensor` must hold utf8 names", self.name))?;
            (0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
                .collect()
        };
        Ok(strings
            .into_iter()
            .map(|s| s.and_then(|s| self.by_name.get(&s).copied()))
            .collect())
    }

    fn tensor_at(&self, b: &RecordBatch, row: usize) -> Result<usize> {
        let col = b.column(self.cols.tensor);
        let key = if self.dictionary {
            let dict = col.as_dictionary::<Int32Type>();
            if dict.is_null(row) {
                None
            } else {
                Some(dict.keys().value(row) as usize)
            }
        } else if col.is_null(row) {
            None
        } else {
            Some(row)
        };
        if let Some(Some(id)) = key.map(|k| self.tensor_ids.get(k).copied().flatten()) {
            return Ok(id);
        }
        let shown = if self.dictionary {
            let dict = col.as_dictionary::<Int32Type>();
            let k = dict.keys().value(row) as usize;
            dict.values().as_string::<i32>().value(k).to_string()
        } else {
            col.as_string::<i32>().value(row).to_string()
        };
        bail!(
            "{}: tensor `{shown}` is not in the parameter layout of the metadata ({} tensors: {})",
            self.name,
            self.meta.layout.len(),
            self.meta
                .layout
                .iter()
                .map(|t| t.name.as_str())
                .take(6)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// Reads the next sample into `out` (reusing its buffer). Returns false at the end.
    pub fn next_sample(&mut self, out: &mut Sample) -> Result<bool> {
        let dim = self.dim();
        out.values.resize(dim, 0.0);
        let ntensors = self.meta.layout.len();
        // True when this sample's floats were swapped into `out.values` whole.
        let mut in_place = false;
        for k in 0..ntensors {
            if !self.advance()? {
                if k == 0 {
                    return Ok(false);
                }
                bail!("{}: step {} sample {}: the file ends after {k} of its {ntensors} tensors (truncated file?)", self.name, out.step, out.sample);
            }
            if k == 0 {
                in_place = self.take_whole_sample(&mut out.values);
            }
            let b = self.batch.as_ref().expect("advance loaded a batch");
            let row = self.row;
            let step = b
                .column(self.cols.step)
                .as_primitive::<UInt64Type>()
                .value(row);
            let sample = b
                .column(self.cols.sample)
                .as_primitive::<UInt32Type>()
                .value(row);
            let id = self.tensor_at(b, row)?;
            let expected = &self.meta.layout[k];
            if k == 0 {
                if let Some(last) = self.last {
                    if (step, sample) <= last {
                        bail!("{}: step {step} sample {sample} comes after step {} sample {}: rows must be ordered by step, then sample", self.name, last.0, last.1);
                    }
                }
                if id != 0 {
                    bail!("{}: step {step} sample {sample} starts with tensor `{}`, expected `{}` (every sample holds all {ntensors} tensors in layout order)", self.name, self.meta.layout[id].name, expected.name);
                }
                out.step = step;
                out.sample = sample;
                let loss = b.column(self.cols.loss).as_primitive::<Float64Type>();
                out.loss = if loss.is_null(row) {
                    f64::NAN
                } else {
                    loss.value(row)
                };
                let bs = b.column(self.cols.batch_size).as_primitive::<UInt32Type>();
                out.batch_size = if bs.is_null(row) { 0 } else { bs.value(row) };
            } else if (step, sample) != (out.step, out.sample) {
                bail!("{}: step {} sample {} has {k} of its {ntensors} tensors; tensor `{}` is missing", self.name, out.step, out.sample, expected.name);
            } else if id != k {
                bail!("{}: step {step} sample {sample}: tensor `{}` where `{}` was expected (tensors must follow the layout order)", self.name, self.meta.layout[id].name, expected.name);
            }
            let dest = &mut out.values[expected.offset..expected.offset + expected.numel];
            let values_null = || {
                anyhow!(
                    "{}: step {step} sample {sample} tensor `{}`: values are null",
                    self.name,
                    expected.name
                )
            };
            let null_inside = || {
                anyhow!(
                    "{}: step {step} sample {sample} tensor `{}`: null values inside the gradient",
                    self.name,
                    expected.name
                )
            };
            let len = if let Some(pages) = self.pages.as_mut() {
                match pages.next_record(dest)? {
                    None => bail!("{}: step {step} sample {sample} tensor `{}`: the `values` column ends before the others (corrupt file?)", self.name, expected.name),
                    Some(Record::Null) => return Err(values_null()),
                    Some(Record::NullElement) => return Err(null_inside()),
                    Some(Record::Values(len)) => len,
                }
            } else {
                let col = b.column(self.cols.values);
                if col.is_null(row) {
                    return Err(values_null());
                }
                let (values, start, end) = match col.data_type() {
                    DataType::List(_) => {
                        let l = col.as_list::<i32>();
                        let o = l.value_offsets();
                        (l.values(), o[row] as usize, o[row + 1] as usize)
                    }
                    _ => {
                        let l = col.as_list::<i64>();
                        let o = l.value_offsets();
                        (l.values(), o[row] as usize, o[row + 1] as usize)
                    }
                };
                let floats: &Float32Array = values.as_primitive();
                if floats.null_count() > 0 && (start..end).any(|i| floats.is_null(i)) {
                    return Err(null_inside());
                }
                if in_place {
                    // Rows in layout order with the layout's lengths sit where the
                    // layout puts them (offsets start at 0: see take_whole_sample).
                    if end - start == dest.len() && start != expected.offset {
                        bail!("{}: step {step} sample {sample} tensor `{}`: values at {start}, the layout puts them at {}", self.name, expected.name, expected.offset);
                    }
                } else if end - start == dest.len() {
                    let source = match &self.source {
                        Source::Stream(stream) => stream.landed(),
                        Source::Batches(_) => None,
                    };
                    dest.copy_from_slice(&source.unwrap_or(floats.values())[start..end]);
                }
                end - start
            };
            if len != expected.numel {
                bail!("{}: step {step} sample {sample} tensor `{}`: {len} values, but the layout says {} (shape {:?})", self.name, expected.name, expected.numel, expected.shape);
            }
            // A fold without early exit vectorises; the position is looked up only on failure.
            if self.check_finite && dest.iter().fold(false, |bad, v| bad | !v.is_finite()) {
                let i = dest
                    .iter()
                    .position(|v| !v.is_finite())
                    .expect("a non-finite value");
                bail!("{}: step {step} sample {sample} tensor `{}`: value {} at index {i} (the gradient is not finite; did training diverge?)", self.name, expected.name, dest[i]);
            }
            self.row += 1;
        }
        self.last = Some((out.step, out.sample));
        self.samples += 1;
        Ok(true)
    }
}

impl GradReader {
    /// When the current batch is exactly one sample whose floats an IPC stream read apart
    /// (one row per tensor, list offsets from 0 to the dimension), swaps them into
    /// `values` instead of copying them; true if it did.
    fn take_whole_sample(&mut self, values: &mut Vec<f32>) -> bool {
        let (Some(b), Source::Stream(stream)) = (&self.batch, &mut self.source) else {
            return false;
        };
        let dim = self.meta.dim();
        let whole = self.row == 0
            && b.num_rows() == self.meta.layout.len()
            && stream.landed().is_some_and(|f| f.len() == dim)
            && match b.column(self.cols.values).as_list_opt::<i32>() {
                Some(l) => {
                    let o = l.value_offsets();
                    o[0] == 0 && o[o.len() - 1] as usize == dim && l.values().len() == dim
                }
                None => false,
            };
        whole && stream.take_landed(values)
    }
}

/// The provenance of a gradient matrix or result table without reading its data.
pub fn read_provenance(path: &Path) -> Result<Provenance> {
    Ok(GradReader::open(path)?.meta().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad_matrix::layout_from_shapes;
    use crate::grad_writer::{GradWriter, WriterOptions};

    fn meta() -> Provenance {
        let mut p = Provenance::new("gradient-matrix", "test 0");
        p.layout = layout_from_shapes(&[("w", vec![2, 3]), ("b", vec![2])]);
        p
    }

    fn sample_values(s: u32) -> Vec<f32> {
        (0..8).map(|i| (s * 10 + i) as f32 * 0.5).collect()
    }

    #[test]
    fn parquet_round_trip_in_small_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.parquet");
        let opts = WriterOptions {
            row_group_bytes: 1,
            zstd: false,
        };
        let mut w = GradWriter::create(&path, &meta(), &opts).unwrap();
        for step in [0u64, 5] {
            for s in 0..3u32 {
                w.write_sample(step, s, 0.25 * s as f64, 64, &sample_values(s))
                    .unwrap();
            }
        }
        assert_eq!(w.finish().unwrap(), 6);
        let mut r = GradReader::open(&path).unwrap();
        assert_eq!(r.meta().layout, meta().layout);
        let mut out = Sample::default();
        let mut seen = Vec::new();
        while r.next_sample(&mut out).unwrap() {
            assert_eq!(out.values, sample_values(out.sample));
            assert_eq!(out.batch_size, 64);
            seen.push((out.step, out.sample, out.loss));
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[4], (5, 1, 0.25));
        // Each row group holds whole samples.
        let f = File::open(&path).unwrap();
        let md = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .metadata()
            .clone();
        for g in md.row_groups() {
            assert_eq!(g.num_rows() % 2, 0);
        }
    }

    #[test]
    fn writer_refuses_wrong_lengths_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.parquet");
        let mut w = GradWriter::create(&path, &meta(), &WriterOptions::default()).unwrap();
        assert!(w.write_sample(0, 0, 0.0, 1, &[0.0; 7]).is_err());
        w.write_sample(0, 1, 0.0, 1, &[0.0; 8]).unwrap();
        assert!(w
            .write_sample(0, 1, 0.0, 1, &[0.0; 8])
            .unwrap_err()
            .to_string()
            .contains("in order"));
        drop(w);
        assert!(!path.exists(), "an unfinished writer must leave no file");
    }

    #[test]
    fn non_finite_values_are_reported_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.parquet");
        let mut w = GradWriter::create(&path, &meta(), &WriterOptions::default()).unwrap();
        w.write_sample(3, 0, 0.0, 1, &[0.0; 8]).unwrap();
        let mut v = [0.0f32; 8];
        v[7] = f32::NAN;
        w.write_sample(3, 1, 0.0, 1, &v).unwrap();
        w.finish().unwrap();
        let mut r = GradReader::open(&path).unwrap();
        let mut out = Sample::default();
        assert!(r.next_sample(&mut out).unwrap());
        let e = r.next_sample(&mut out).unwrap_err().to_string();
        assert!(
            e.contains("step 3 sample 1 tensor `b`: value NaN at index 1"),
            "{e}"
        );
    }

    #[test]
    fn files_that_are_not_gradient_matrices() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        std::fs::write(&p, b"hello world").unwrap();
        let e = GradReader::open(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a Parquet file or an Arrow IPC stream"),
            "{e}"
        );
        std::fs::write(&p, b"").unwrap();
        assert!(GradReader::open(&p)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let e = GradReader::open(&dir.path().join("missing.parquet"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.parquet: cannot open"), "{e}");
    }
}

#[cfg(test)]
mod page_layout_tests {
    //! The page decoder (`float_list_pages`) against the parquet crate's own Arrow
    //! reader, on files rewritten with the page layouts other writers produce.
    use super::*;
    use crate::grad_matrix::layout_from_shapes;
    use crate::grad_writer::{GradWriter, WriterOptions};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::{WriterProperties, WriterVersion};

    /// Every sample of a file, through the page decoder when it applies.
    fn read_all(path: &Path) -> (bool, Vec<Sample>) {
        read_all_with(path, true)
    }

    fn read_all_with(path: &Path, use_pages: bool) -> (bool, Vec<Sample>) {
        let mut r = GradReader::open_with(path, use_pages).unwrap();
        let fast = r.pages.is_some();
        let mut out = Vec::new();
        let mut s = Sample::default();
        while r.next_sample(&mut s).unwrap() {
            out.push(s.clone());
        }
        (fast, out)
    }

    #[test]
    fn pages_of_any_size_version_and_compression_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("g.parquet");
        let mut meta = Provenance::new("gradient-matrix", "test 0");
        // Tensors of 1,000, 7 and 1 values: records far longer and far shorter than pages.
        meta.layout = layout_from_shapes(&[("w", vec![10, 100]), ("b", vec![7]), ("s", vec![1])]);
        let mut w = GradWriter::create(&src, &meta, &WriterOptions::default()).unwrap();
        let value = |s: u32, i: usize| ((s as usize * 1_008 + i) as f32 * 0.37).sin();
        for s in 0..25u32 {
            let v: Vec<f32> = (0..1_008).map(|i| value(s, i)).collect();
            w.write_sample(3, s, s as f64, 8, &v).unwrap();
        }
        w.finish().unwrap();
        let (fast, reference) = read_all(&src);
        assert!(fast, "GradWriter's files take the page decoder");
        assert_eq!(reference.len(), 25);
        for s in &reference {
            let want: Vec<f32> = (0..1_008).map(|i| value(s.sample, i)).collect();
            assert_eq!(s.values, want);
        }

        let batches: Vec<RecordBatch> =
            ParquetRecordBatchReaderBuilder::try_new(File::open(&src).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(|b| b.unwrap())
                .collect();
        let json = meta.to_json();
        let variants: Vec<(&str, WriterProperties, bool)> = vec![
            (
                "v1 pages of 100 values, records across pages",
                WriterProperties::builder()
                    .set_dictionary_enabled(false)
                    .set_data_page_size_limit(400)
                    .set_write_batch_size(37)
                    .build(),
                true,
            ),
            (
                "v2 pages, zstd, row groups of 7 rows",
                WriterProperties::builder()
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .set_dictionary_enabled(false)
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .set_data_page_size_limit(1_000)
                    .set_max_row_group_size(7)
                    .build(),
                true,
            ),
            (
                "dictionary-encoded values (the Arrow path)",
                WriterProperties::builder()
                    .set_dictionary_enabled(true)
                    .build(),
                false,
            ),
        ];
        for (what, props, want_fast) in variants {
            let props = WriterProperties::into_builder(props)
                .set_key_value_metadata(Some(vec![KeyValue::new(
                    METADATA_KEY.into(),
                    json.clone(),
                )]))
                .build();
            let path = dir.path().join("variant.parquet");
            let mut aw = ArrowWriter::try_new(
                File::create(&path).unwrap(),
                batches[0].schema(),
                Some(props),
            )
            .unwrap();
            for b in &batches {
                aw.write(b).unwrap();
            }
            aw.close().unwrap();
            let (fast, got) = read_all(&path);
            assert_eq!(fast, want_fast, "{what}");
            assert_eq!(got.len(), reference.len(), "{what}");
            for (a, b) in got.iter().zip(&reference) {
                assert_eq!(
                    (a.step, a.sample, a.loss, a.batch_size),
                    (b.step, b.sample, b.loss, b.batch_size),
                    "{what}"
                );
                assert_eq!(a.values, b.values, "{what}");
            }
        }
    }

    #[test]
    fn rows_spanning_pages_written_by_pyarrow() {
        // Written by scripts/reference/pyarrow_pages.py: 400-byte v1 pages, so the
        // 1,000-value rows span about ten pages each; arrow-rs's own writer never splits
        // a row, so only a file from another writer exercises continuation pages.
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pyarrow-v1-small-pages.parquet");
        let (fast, pages) = read_all_with(&path, true);
        let (slow, arrow) = read_all_with(&path, false);
        assert!(fast && !slow);
        assert_eq!(pages.len(), 5);
        for (a, b) in pages.iter().zip(&arrow) {
            assert_eq!(
                (a.step, a.sample, a.loss, a.batch_size),
                (b.step, b.sample, b.loss, b.batch_size)
            );
            assert_eq!(a.values, b.values);
            // value(s, j) = sin(0.37 (1008 s + j)) rounded to float32 (the script's formula).
            for (j, v) in a.values.iter().enumerate() {
                let want = ((a.sample as usize * 1_008 + j) as f64 * 0.37).sin();
                assert!(
                    (*v as f64 - want).abs() < 1e-7,
                    "sample {} index {j}",
                    a.sample
                );
            }
        }
    }
}
