//! Streaming writer of gradient matrices.
//!
//! Samples are written as they come, one Arrow record batch per sample: to a Parquet file
//! (through a temporary file renamed at [`GradWriter::finish`]), or, when the path is `-`,
//! as an Arrow IPC stream on standard output so a consumer can start at once. Memory is
//! one sample plus one Parquet row group; a row group is closed only between samples.
//!
//! Parquet settings, and why: no compression by default (float32 gradients barely
//! compress, and compression would cost more time than it saves in I/O); plain encoding
//! and no statistics for `values` (dictionaries and min/max of millions of distinct floats
//! are wasted work); dictionary encoding for `tensor`.

use crate::atomic::AtomicFile;
use crate::grad_matrix::{check_layout, grad_schema};
use crate::provenance::Provenance;
use crate::{is_stdio, METADATA_KEY};
use anyhow::{bail, Context, Result};
use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, ListArray, StringArray, UInt32Array,
    UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Field, Int32Type, Schema};
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Stdout, Write};
use std::path::Path;
use std::sync::Arc;

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Close a row group once this many bytes are buffered (default 64 MiB).
    pub row_group_bytes: usize,
    /// Compress the Parquet columns with zstd (level 1) instead of storing them plain.
    pub zstd: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            row_group_bytes: 64 << 20,
            zstd: false,
        }
    }
}

enum Sink {
    Parquet {
        writer: ArrowWriter<File>,
        file: AtomicFile,
    },
    Ipc {
        writer: StreamWriter<BufWriter<Stdout>>,
    },
}

/// Writes a gradient matrix sample by sample.
pub struct GradWriter {
    sink: Option<Sink>,
    schema: Arc<Schema>,
    names: ArrayRef,
    offsets: Vec<i32>,
    dim: usize,
    last: Option<(u64, u32)>,
    row_group_bytes: usize,
    dest: String,
    samples: u64,
}

impl std::fmt::Debug for GradWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradWriter")
            .field("dest", &self.dest)
            .field("samples", &self.samples)
            .finish()
    }
}

impl GradWriter {
    /// Starts a gradient matrix at `path` (`-`: Arrow IPC stream on stdout) whose samples
    /// follow `meta.layout`.
    pub fn create(path: &Path, meta: &Provenance, options: &WriterOptions) -> Result<Self> {
        check_layout(&meta.layout).context("cannot write a gradient matrix")?;
        let dim = meta.dim();
        if dim > i32::MAX as usize {
            bail!(
                "a sample of {dim} values exceeds the format's limit of {} per sample",
                i32::MAX
            );
        }
        let json = meta.to_json();
        let schema = grad_schema(HashMap::from([(METADATA_KEY.to_string(), json.clone())]));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            meta.layout.iter().map(|t| t.name.as_str()),
        ));
        let mut offsets = vec![0i32];
        for t in &meta.layout {
            offsets.push((t.offset + t.numel) as i32);
        }
        let dest = if is_stdio(path) {
            "stdout".to_string()
        } else {
            path.display().to_string()
        };
        let sink = if is_stdio(path) {
            let out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            Sink::Ipc {
                writer: StreamWriter::try_new(out, &schema)
                    .context("cannot start the Arrow stream on stdout")?,
            }
        } else {
            let file = AtomicFile::create(path)?;
            let values_path = ColumnPath::from(vec![
                "values".to_string(),
                "list".to_string(),
                "item".to_string(),
            ]);
            let props = WriterProperties::builder()
                .set_compression(if options.zstd {
                    Compression::ZSTD(ZstdLevel::try_new(1)?)
                } else {
                    Compression::UNCOMPRESSED
                })
                .set_max_row_group_size(usize::MAX / 2)
                .set_dictionary_enabled(false)
                .set_column_dictionary_enabled(ColumnPath::from("tensor"), true)
                .set_statistics_enabled(EnabledStatistics::Chunk)
                .set_column_statistics_enabled(values_path, EnabledStatistics::None)
                .set_key_value_metadata(Some(vec![KeyValue::new(METADATA_KEY.to_string(), json)]))
                .build();
            let writer = ArrowWriter::try_new(file.file()?, schema.clone(), Some(props))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Sink::Parquet { writer, file }
        };
        Ok(Self {
            sink: Some(sink),
            schema,
            names,
            offsets,
            dim,
            last: None,
            row_group_bytes: options.row_group_bytes,
            dest,
            samples: 0,
        })
    }

    /// The number of values per sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Appends one sample: the gradient of every tensor of the layout, concatenated in
    /// layout order. (step, sample) must increase strictly.
    pub fn write_sample(
        &mut self,
        step: u64,
        sample: u32,
        loss: f64,
        batch_size: u32,
        values: &[f32],
    ) -> Result<()> {
        if values.len() != self.dim {
            bail!(
                "cannot write {}: sample has {} values, the layout {}",
                self.dest,
                values.len(),
                self.dim
            );
        }
        if let Some(last) = self.last {
            if (step, sample) <= last {
                bail!("cannot write {}: (step {step}, sample {sample}) after (step {}, sample {}): samples must be written in order", self.dest, last.0, last.1);
            }
        }
        self.last = Some((step, sample));
        let t = self.offsets.len() - 1;
        let keys = arrow::array::Int32Array::from_iter_values(0..t as i32);
        let tensor = DictionaryArray::<Int32Type>::try_new(keys, self.names.clone())?;
        let item = Arc::new(Field::new(
            "item",
            arrow::datatypes::DataType::Float32,
            false,
        ));
        let list = ListArray::try_new(
            item,
            OffsetBuffer::new(self.offsets.clone().into()),
            Arc::new(Float32Array::from(values.to_vec())),
            None,
        )?;
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(UInt64Array::from(vec![step; t])),
                Arc::new(UInt32Array::from(vec![sample; t])),
                Arc::new(tensor),
                Arc::new(list),
                Arc::new(Float64Array::from(vec![loss; t])),
                Arc::new(UInt32Array::from(vec![batch_size; t])),
            ],
        )?;
        let dest = &self.dest;
        match self.sink.as_mut().expect("writer not finished") {
            Sink::Parquet { writer, .. } => {
                writer
                    .write(&batch)
                    .with_context(|| format!("cannot write {dest}"))?;
                if writer.in_progress_size() >= self.row_group_bytes {
                    writer
                        .flush()
                        .with_context(|| format!("cannot write {dest}"))?;
                }
            }
            Sink::Ipc { writer } => writer
                .write(&batch)
                .with_context(|| format!("cannot write {dest}"))?,
        }
        self.samples += 1;
        Ok(())
    }

    /// Finishes the file (renaming it into place) or the stream. Without this call a
    /// Parquet output never appears.
    pub fn finish(mut self) -> Result<u64> {
        let dest = self.dest.clone();
        match self.sink.take().expect("writer not finished") {
            Sink::Parquet { writer, file } => {
                writer
                    .close()
                    .with_context(|| format!("cannot write {dest}"))?;
                file.commit()?;
            }
            Sink::Ipc { mut writer } => {
                writer
                    .finish()
                    .with_context(|| format!("cannot write {dest}"))?;
                writer
                    .get_mut()
                    .flush()
                    .with_context(|| format!("cannot write {dest}"))?;
            }
        }
        Ok(self.samples)
    }
}
