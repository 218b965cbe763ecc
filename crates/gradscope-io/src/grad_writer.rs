//! Streaming writer of gradient matrices.
//!
//! Samples are written as they come, one Arrow record batch per sample: to a Parquet file
//! (through a temporary file renamed at [`GradWriter::finish`]), or, when the path is `-`,
//! as an Arrow IPC stream on standard output so a consumer can start at once. Memory is
//! one sample plus one Parquet row group; a row group is closed only between samples.
//! In the stream, samples after the first are encoded by [`SampleEncoder`] (the same
//! bytes as arrow-rs's writer, without copying the floats into a message body first).
//!
//! Parquet settings, and why: no compression by default (float32 gradients barely
//! compress, and compression would cost more time than it saves in I/O); plain encoding
//! and no statistics for `values` (dictionaries and min/max of millions of distinct floats
//! are wasted work); dictionary encoding for `tensor`. Uncompressed, the `values` column
//! is written by [`ValuesChunkWriter`] (its levels are fixed by the layout, so a sample is
//! one copy of its floats), the small columns by the parquet crate's Arrow column
//! writers; with `--zstd`, everything by the parquet crate's `ArrowWriter`.

use crate::atomic::AtomicFile;
use crate::grad_matrix::{check_layout, grad_schema, GRAD_COLUMNS};
use crate::ipc_stream::SampleEncoder;
use crate::provenance::Provenance;
use crate::values_chunk_writer::{self, ValuesChunkWriter, PAGE_BYTES};
use crate::{is_stdio, METADATA_KEY};
use anyhow::{bail, Context, Result};
use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, ListArray, StringArray, UInt32Array,
    UInt64Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{Field, Int32Type, Schema};
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Close a row group once this many bytes are buffered (default 24 MiB). Why not
    /// more: the `values` chunk is assembled in one buffer of a row group plus a sample,
    /// and glibc maps any allocation above 32 MiB (its largest mmap threshold) afresh, so
    /// every byte written was first faulted in as a zeroed page. Below it the buffer is
    /// reused: `dump-grads` (fnn, 800 gradients) had 626,000 page faults with 64 MiB row
    /// groups and 134,000 with 24 MiB, and 3,000 gradients to Parquet took 22.8 s instead
    /// of 28.8 s.
    pub row_group_bytes: usize,
    /// Compress the Parquet columns with zstd (level 1) instead of storing them plain.
    pub zstd: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            row_group_bytes: 24 << 20,
            zstd: false,
        }
    }
}

enum Sink {
    Parquet {
        writer: ArrowWriter<File>,
        file: AtomicFile,
    },
    Pages(Box<PageSink>),
    Ipc {
        writer: StreamWriter<BufWriter<File>>,
        /// Samples after the first (whose batch also sends the tensor dictionary).
        encoder: Option<SampleEncoder>,
    },
}

/// The page writer's file: the parquet crate's file writer and Arrow column writers for
/// the small columns, [`ValuesChunkWriter`] for `values`.
struct PageSink {
    writer: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    values: ColumnDescPtr,
    group: Option<PageGroup>,
    file: AtomicFile,
}

/// The row group being written by the page writer: the five small columns through Arrow
/// column writers (in schema order, `values` left out), `values` through its pages.
struct PageGroup {
    columns: Vec<ArrowColumnWriter>,
    values: ValuesChunkWriter,
}

/// Position of `values` among the columns (each column is one Parquet leaf).
const VALUES_COLUMN: usize = 3;
const _: () = assert!(matches!(GRAD_COLUMNS[VALUES_COLUMN].as_bytes(), b"values"));

impl PageGroup {
    fn new(
        factory: &ArrowRowGroupWriterFactory,
        index: usize,
        values: &ColumnDescPtr,
        numels: &[usize],
        row_group_bytes: usize,
    ) -> Result<Self> {
        // A row group closes after the sample that crosses `row_group_bytes`.
        let sample_bytes = 4 * numels.iter().sum::<usize>() + 64 * numels.len();
        let capacity = row_group_bytes.min(1 << 30).saturating_add(sample_bytes);
        let mut columns = factory.create_column_writers(index)?;
        columns.remove(VALUES_COLUMN);
        Ok(Self {
            columns,
            values: ValuesChunkWriter::new(values.clone(), numels, PAGE_BYTES, capacity)?,
        })
    }

    fn buffered_bytes(&self) -> usize {
        self.values.buffered_bytes() + self.columns.iter().map(|c| c.memory_size()).sum::<usize>()
    }

    /// Appends the row group to the file, columns in schema order.
    fn close(self, writer: &mut SerializedFileWriter<File>) -> Result<()> {
        let mut group = writer.next_row_group()?;
        let mut columns = self.columns.into_iter();
        for column in columns.by_ref().take(VALUES_COLUMN) {
            column.close()?.append_to_row_group(&mut group)?;
        }
        let (bytes, close) = self.values.close()?;
        group.append_column(&bytes, close)?;
        for column in columns {
            column.close()?.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }
}

/// Writes a gradient matrix sample by sample.
pub struct GradWriter {
    sink: Option<Sink>,
    schema: Arc<Schema>,
    names: ArrayRef,
    offsets: Vec<i32>,
    numels: Vec<usize>,
    dim: usize,
    last: Option<(u64, u32)>,
    row_groups: usize,
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

/// Refuses an output name that promises another format than a gradient matrix file's
/// (always Parquet): `.arrow`, `.ipc`, `.feather`, `.csv`, `.json`. Tools call it while
/// parsing their arguments, so that the name is a usage error before any work.
pub fn check_matrix_path(path: &Path) -> std::result::Result<(), String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some(ext @ ("arrow" | "arrows" | "ipc" | "feather" | "csv" | "json")) => Err(format!(
            "{}: a gradient matrix file is Parquet (name it .parquet); for an Arrow IPC stream write to stdout with `-o -` (`-o - > file.{ext}` keeps it)",
            path.display()
        )),
        _ => Ok(()),
    }
}

impl GradWriter {
    /// Starts a gradient matrix at `path` (`-`: Arrow IPC stream on stdout) whose samples
    /// follow `meta.layout`.
    pub fn create(path: &Path, meta: &Provenance, options: &WriterOptions) -> Result<Self> {
        check_layout(&meta.layout).context("cannot write a gradient matrix")?;
        if let Err(e) = check_matrix_path(path) {
            bail!(e);
        }
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
        let numels: Vec<usize> = meta.layout.iter().map(|t| t.numel).collect();
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
            crate::pipe::widen_stdout();
            let out = BufWriter::with_capacity(
                1 << 20,
                crate::pipe::raw_stdout().context("cannot write to stdout")?,
            );
            Sink::Ipc {
                writer: StreamWriter::try_new(out, &schema)
                    .context("cannot start the Arrow stream on stdout")?,
                encoder: None,
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
            if options.zstd || !values_chunk_writer::supports(&numels) {
                Sink::Parquet { writer, file }
            } else {
                let (writer, factory) = writer
                    .into_serialized_writer()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let values = writer.schema_descr().column(VALUES_COLUMN);
                Sink::Pages(Box::new(PageSink {
                    writer,
                    factory,
                    values,
                    group: None,
                    file,
                }))
            }
        };
        Ok(Self {
            sink: Some(sink),
            schema,
            names,
            offsets,
            numels,
            dim,
            last: None,
            row_groups: 0,
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
        self.write(step, sample, loss, batch_size, values, None)
    }

    /// Appends one sample as [`GradWriter::write_sample`] does, taking the buffer so the
    /// Arrow stream sends the values without copying them first. Returns the buffer for
    /// reuse (an empty one in the unlikely case Arrow still holds it).
    pub fn write_sample_owned(
        &mut self,
        step: u64,
        sample: u32,
        loss: f64,
        batch_size: u32,
        values: Vec<f32>,
    ) -> Result<Vec<f32>> {
        let buffer = ScalarBuffer::from(values);
        self.write(
            step,
            sample,
            loss,
            batch_size,
            &buffer,
            Some(buffer.clone()),
        )?;
        Ok(buffer.into_inner().into_vec::<f32>().unwrap_or_default())
    }

    fn write(
        &mut self,
        step: u64,
        sample: u32,
        loss: f64,
        batch_size: u32,
        values: &[f32],
        owned: Option<ScalarBuffer<f32>>,
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
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(vec![step; t])),
            Arc::new(UInt32Array::from(vec![sample; t])),
            Arc::new(tensor),
            Arc::new(Float64Array::from(vec![loss; t])),
            Arc::new(UInt32Array::from(vec![batch_size; t])),
        ];
        let dest = &self.dest;
        let wrap = || format!("cannot write {dest}");
        // The Arrow sinks take the sample as one record batch, `values` a list column.
        let batch = |mut columns: Vec<ArrayRef>| -> Result<RecordBatch> {
            let item = Arc::new(Field::new(
                "item",
                arrow::datatypes::DataType::Float32,
                false,
            ));
            let list = ListArray::try_new(
                item,
                OffsetBuffer::new(self.offsets.clone().into()),
                Arc::new(Float32Array::new(
                    owned
                        .clone()
                        .unwrap_or_else(|| ScalarBuffer::from(values.to_vec())),
                    None,
                )),
                None,
            )?;
            columns.insert(VALUES_COLUMN, Arc::new(list));
            Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
        };
        match self.sink.as_mut().expect("writer not finished") {
            Sink::Pages(sink) => {
                let PageSink {
                    writer,
                    factory,
                    values: descr,
                    group,
                    ..
                } = sink.as_mut();
                let g = match group {
                    Some(g) => g,
                    None => group.insert(
                        PageGroup::new(
                            factory,
                            self.row_groups,
                            descr,
                            &self.numels,
                            self.row_group_bytes,
                        )
                        .with_context(wrap)?,
                    ),
                };
                let fields = self.schema.fields().iter().enumerate();
                let small = fields.filter(|(i, _)| *i != VALUES_COLUMN).map(|(_, f)| f);
                for ((field, column), w) in small.zip(&columns).zip(g.columns.iter_mut()) {
                    for leaf in compute_leaves(field, column)? {
                        w.write(&leaf).with_context(wrap)?;
                    }
                }
                g.values.write_sample(values).with_context(wrap)?;
                if g.buffered_bytes() >= self.row_group_bytes {
                    if let Some(g) = group.take() {
                        g.close(writer).with_context(wrap)?;
                        self.row_groups += 1;
                    }
                }
            }
            Sink::Parquet { writer, .. } => {
                writer.write(&batch(columns)?).with_context(wrap)?;
                if writer.in_progress_size() >= self.row_group_bytes {
                    writer.flush().with_context(wrap)?;
                }
            }
            Sink::Ipc {
                writer,
                encoder: Some(encoder),
            } => {
                let out = writer.get_mut();
                out.flush().with_context(wrap)?;
                encoder
                    .write(out.get_mut(), step, sample, loss, batch_size, values)
                    .with_context(wrap)?;
            }
            Sink::Ipc { writer, encoder } => {
                writer.write(&batch(columns)?).with_context(wrap)?;
                *encoder = Some(SampleEncoder::new(&self.offsets));
            }
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
            Sink::Pages(sink) => {
                let PageSink {
                    mut writer,
                    group,
                    file,
                    ..
                } = *sink;
                if let Some(g) = group {
                    g.close(&mut writer)
                        .with_context(|| format!("cannot write {dest}"))?;
                }
                writer
                    .close()
                    .with_context(|| format!("cannot write {dest}"))?;
                file.commit()?;
            }
            Sink::Ipc { mut writer, .. } => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad_matrix::layout_from_shapes;
    use arrow::compute::concat_batches;
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };

    #[test]
    fn a_file_named_for_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = Provenance::new("gradient-matrix", "test 0");
        meta.layout = layout_from_shapes(&[("w", vec![3])]);
        let path = dir.path().join("g.arrows");
        let err = GradWriter::create(&path, &meta, &WriterOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("g.arrows: a gradient matrix file is Parquet"),
            "{err}"
        );
        assert!(!path.exists());
        // Any other name is a Parquet file.
        let path = dir.path().join("g.grads");
        let mut w = GradWriter::create(&path, &meta, &WriterOptions::default()).unwrap();
        w.write_sample(0, 0, 1.0, 8, &[1.0, 2.0, 3.0]).unwrap();
        w.finish().unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"PAR1");
    }

    /// Writes 7 samples of a layout whose tensors make several pages: one larger than a
    /// page (300,000 values), one of 5,000 and a run of small ones grouped into one page.
    fn write(path: &Path, zstd: bool) -> Provenance {
        let mut meta = Provenance::new("gradient-matrix", "test 0");
        meta.layout = layout_from_shapes(&[
            ("conv", vec![300, 1_000]),
            ("fc", vec![5_000]),
            ("b1", vec![3]),
            ("b2", vec![1]),
            ("b3", vec![2, 2]),
        ]);
        let options = WriterOptions {
            row_group_bytes: 3 << 20,
            zstd,
        };
        let mut w = GradWriter::create(path, &meta, &options).unwrap();
        let dim = w.dim();
        for s in 0..7u32 {
            let v: Vec<f32> = (0..dim)
                .map(|i| ((s as usize * dim + i) as f32 * 0.013).sin())
                .collect();
            w.write_sample(2, s, s as f64 / 3.0, 32, &v).unwrap();
        }
        w.finish().unwrap();
        meta
    }

    fn read(path: &Path, options: ArrowReaderOptions) -> ParquetRecordBatchReaderBuilder<File> {
        ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).unwrap(), options)
            .unwrap()
    }

    #[test]
    fn page_writer_files_read_as_the_arrow_writers_do() {
        let dir = tempfile::tempdir().unwrap();
        let (pages, arrow) = (dir.path().join("p.parquet"), dir.path().join("a.parquet"));
        write(&pages, false);
        write(&arrow, true);
        // Read by arrow-rs's general reader, which decodes every level itself.
        let all = |p: &Path| {
            let b = read(p, ArrowReaderOptions::new());
            let schema = b.schema().clone();
            let batches: Vec<_> = b.build().unwrap().map(|b| b.unwrap()).collect();
            concat_batches(&schema, &batches).unwrap()
        };
        let (a, b) = (all(&pages), all(&arrow));
        assert_eq!(a.num_rows(), 35);
        assert_eq!(a, b);
        let md = read(&pages, ArrowReaderOptions::new()).metadata().clone();
        assert!(
            md.num_row_groups() >= 2,
            "samples of 1.2 MB in 3 MiB row groups"
        );
        for g in md.row_groups() {
            assert_eq!(g.num_rows() % 5, 0, "a row group holds whole samples");
            let values = g.column(VALUES_COLUMN);
            assert_eq!(values.column_path().string(), "values.list.item");
            assert_eq!(values.compression(), Compression::UNCOMPRESSED);
            assert_eq!(values.num_values(), g.num_rows() / 5 * 305_008);
        }
    }

    #[test]
    fn the_offset_index_lets_readers_skip_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        write(&path, false);
        let builder = read(&path, ArrowReaderOptions::new().with_page_index(true));
        let md = builder.metadata().clone();
        let index = md.offset_index().expect("an offset index");
        // Per sample: the 300,000-value tensor alone, then the other four in one page.
        let locations = &index[0][VALUES_COLUMN].page_locations;
        let firsts: Vec<i64> = locations.iter().map(|l| l.first_row_index).collect();
        let rows = md.row_group(0).num_rows();
        let want: Vec<i64> = (0..rows / 5).flat_map(|s| [5 * s, 5 * s + 1]).collect();
        assert_eq!(firsts, want);
        // Skip the first sample and a half of the second through the page index.
        let selection = RowSelection::from(vec![RowSelector::skip(6), RowSelector::select(4)]);
        let batch = builder
            .with_row_selection(selection)
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let full = read(&path, ArrowReaderOptions::new())
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(batch, full.slice(6, 4));
    }

    #[test]
    fn owned_samples_are_written_and_handed_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.parquet");
        let mut meta = Provenance::new("gradient-matrix", "test 0");
        meta.layout = layout_from_shapes(&[("w", vec![3, 2]), ("b", vec![3])]);
        let mut w = GradWriter::create(&path, &meta, &WriterOptions::default()).unwrap();
        let v: Vec<f32> = (0..9).map(|i| i as f32 - 4.5).collect();
        let back = w.write_sample_owned(0, 0, 1.0, 8, v.clone()).unwrap();
        assert_eq!(back, v);
        w.write_sample(0, 1, 1.0, 8, &back).unwrap();
        w.finish().unwrap();
        let mut r = crate::GradReader::open(&path).unwrap();
        let mut s = crate::Sample::default();
        for want in [0, 1] {
            assert!(r.next_sample(&mut s).unwrap());
            assert_eq!((s.sample, &s.values), (want, &v));
        }
        assert!(!r.next_sample(&mut s).unwrap());
    }
}
