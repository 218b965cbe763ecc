//! Streaming reader of gradient matrices, with the checks that turn a wrong file into
//! one clear error.
//!
//! Reads Parquet files and Arrow IPC streams (from a file, or from stdin when the path is
//! `-`), sample by sample, holding one record batch at a time. Any Arrow producer's
//! matrix is read (see [`crate::grad_matrix::check_schema`] for the accepted types):
//! integer columns are widened or narrowed with a check (a negative or too large value
//! is an error naming the row), tensor names of any string type, and `values` of
//! float16 or float64 are converted to float32 as they are copied (a finite float64
//! beyond float32's range is an error). Without `gradscope` metadata the parameter
//! layout is read from the first sample's tensors (order and lengths) and the
//! provenance says so ([`Provenance::layout_inferred`]).
//!
//! Every sample is checked as it is read: all tensors of the layout present and in
//! order, each with as many values as the layout says, no NaN or infinity (reported with
//! step, sample, tensor and index), samples in increasing (step, sample) order.

use crate::decoder_guard::guarded;
use crate::grad_matrix::{check_layout, check_schema, ColumnIndex, TensorLayout};
use crate::grad_parts::{Partition, PartsReader};
use crate::ipc_stream::StreamSource;
use crate::provenance::Provenance;
use crate::values_page_decoder::{Record, ValuesPageDecoder};
use crate::{is_stdio, METADATA_KEY};
use anyhow::{anyhow, bail, Result};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Field, Float16Type, Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type,
    UInt64Type,
};
use arrow::error::ArrowError;
use arrow::ipc::reader::FileReader;
use arrow::record_batch::RecordBatchReader;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// One gradient: every tensor of the layout, concatenated.
///
/// `loss` is NaN and `batch_size` 0 where the file has no such column or the value is
/// null ([`GradReader::has_loss`], [`GradReader::has_batch_size`] tell which).
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

impl Source {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        match self {
            Source::Batches(batches) => batches.next().transpose(),
            Source::Stream(stream) => stream.next_batch(),
        }
    }
}

/// One record batch's columns in the types the reader works with: `step` u64, `sample`
/// u32, `tensor` dictionary<int32, utf8> or utf8, `values` as the file has it (None when
/// the page decoder reads it), `loss` f64 and `batch_size` u32 when present.
struct Columns {
    rows: usize,
    step: UInt64Array,
    sample: UInt32Array,
    tensor: ArrayRef,
    values: Option<ArrayRef>,
    loss: Option<Float64Array>,
    batch_size: Option<UInt32Array>,
}

/// The column `column` of a batch whose first row is row `first_row` of the file, as
/// u64: a negative value, one above `max`, or (unless `nullable`) a null is an error
/// naming the row.
fn unsigned(
    name: &str,
    col: &ArrayRef,
    column: &str,
    first_row: u64,
    max: u64,
    nullable: bool,
) -> Result<UInt64Array> {
    let at = |i: usize| first_row + i as u64;
    let wide = if col.data_type().is_signed_integer() {
        let signed = cast(col, &DataType::Int64)?;
        let signed = signed.as_primitive::<Int64Type>();
        if let Some(i) = (0..signed.len()).find(|&i| signed.is_valid(i) && signed.value(i) < 0) {
            bail!(
                "{name}: row {}: column `{column}` holds {}, which must not be negative",
                at(i),
                signed.value(i)
            );
        }
        cast(signed, &DataType::UInt64)?
    } else {
        cast(col, &DataType::UInt64)?
    };
    let wide = wide.as_primitive::<UInt64Type>().clone();
    if !nullable && wide.null_count() > 0 {
        let i = (0..wide.len()).find(|&i| wide.is_null(i)).expect("a null");
        bail!("{name}: row {}: column `{column}` is null", at(i));
    }
    if max < u64::MAX {
        if let Some(i) = (0..wide.len()).find(|&i| wide.is_valid(i) && wide.value(i) > max) {
            bail!(
                "{name}: row {}: column `{column}` holds {}, more than {max}",
                at(i),
                wide.value(i)
            );
        }
    }
    Ok(wide)
}

/// The index [`ColumnIndex`] holds for a key column the file lacks and its hive
/// partition supplies (see [`columns_of`]).
const SUPPLIED: usize = usize::MAX - 1;

/// The key column `column` of a batch: from the file (checked against the partition's
/// value for it, when the path has one), or the partition's value on every row when the
/// file lacks the column.
fn key_column(
    name: &str,
    b: &RecordBatch,
    at: usize,
    column: &str,
    fixed: Option<u64>,
    first_row: u64,
    max: u64,
    nullable: bool,
) -> Result<UInt64Array> {
    if at == SUPPLIED {
        let v = fixed.expect("a supplied column has a partition value");
        return Ok(UInt64Array::from_value(v, b.num_rows()));
    }
    let a = unsigned(name, b.column(at), column, first_row, max, nullable)?;
    if let Some(v) = fixed {
        if let Some(i) = (0..a.len()).find(|&i| a.is_valid(i) && a.value(i) != v) {
            bail!(
                "{name}: row {}: column `{column}` holds {}, but the path says {column}={v} (a hive partition value must agree with the file)",
                first_row + i as u64,
                a.value(i)
            );
        }
    }
    Ok(a)
}

/// The columns of a file's `schema` ([`check_schema`]), where a key column the file
/// lacks may come from its hive partition: `step`, `sample` or `batch_size` given by a
/// `key=value` directory of the path is added as a constant column ([`SUPPLIED`]).
fn columns_of(
    name: &str,
    schema: &arrow::datatypes::Schema,
    part: &Partition,
) -> Result<ColumnIndex> {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut supplied = Vec::new();
    for (column, value) in part.keys() {
        if value.is_some() && schema.index_of(column).is_err() {
            fields.push(Field::new(column, DataType::UInt64, false));
            supplied.push(column);
        }
    }
    let mut cols =
        check_schema(&arrow::datatypes::Schema::new(fields)).map_err(|e| anyhow!("{name}: {e}"))?;
    for column in supplied {
        match column {
            "step" => cols.step = SUPPLIED,
            "sample" => cols.sample = SUPPLIED,
            _ => cols.batch_size = Some(SUPPLIED),
        }
    }
    Ok(cols)
}

/// The columns of `b` (found at `cols`) in the reader's types; `first_row` is the
/// file's row number of the batch's first row, for messages; `part` the hive partition
/// values of the file's path.
fn normalize(
    name: &str,
    b: &RecordBatch,
    cols: &ColumnIndex,
    part: &Partition,
    first_row: u64,
) -> Result<Columns> {
    let narrow = |a: UInt64Array| -> Result<UInt32Array> {
        Ok(cast(&a, &DataType::UInt32)?
            .as_primitive::<UInt32Type>()
            .clone())
    };
    let step = key_column(
        name,
        b,
        cols.step,
        "step",
        part.step,
        first_row,
        u64::MAX,
        false,
    )?;
    let sample = narrow(key_column(
        name,
        b,
        cols.sample,
        "sample",
        part.sample,
        first_row,
        u32::MAX as u64,
        false,
    )?)?;
    let batch_size = match cols.batch_size {
        Some(i) => Some(narrow(key_column(
            name,
            b,
            i,
            "batch_size",
            part.batch_size,
            first_row,
            u32::MAX as u64,
            true,
        )?)?),
        None => None,
    };
    let loss = match cols.loss {
        Some(i) => Some(
            cast(b.column(i), &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .clone(),
        ),
        None => None,
    };
    let tensor = b.column(cols.tensor);
    let tensor = match tensor.data_type() {
        DataType::Utf8 => tensor.clone(),
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            tensor.clone()
        }
        _ => cast(tensor, &DataType::Utf8)?,
    };
    Ok(Columns {
        rows: b.num_rows(),
        step,
        sample,
        tensor,
        values: (cols.values != usize::MAX).then(|| b.column(cols.values).clone()),
        loss,
        batch_size,
    })
}

impl Columns {
    /// The tensor name of `row`, or None when it is null.
    fn tensor_name(&self, row: usize) -> Option<&str> {
        if let Some(dict) = self.tensor.as_dictionary_opt::<Int32Type>() {
            if dict.is_null(row) {
                return None;
            }
            let k = dict.keys().value(row) as usize;
            let names = dict.values().as_string::<i32>();
            (k < names.len() && names.is_valid(k)).then(|| names.value(k))
        } else {
            let s = self.tensor.as_string::<i32>();
            s.is_valid(row).then(|| s.value(row))
        }
    }
}

/// A row's list in the `values` column: the child array and the range of the row's
/// values in it; None when the list is null.
fn list_at(col: &ArrayRef, row: usize) -> Option<(&ArrayRef, usize, usize)> {
    if col.is_null(row) {
        return None;
    }
    Some(match col.data_type() {
        DataType::List(_) => {
            let l = col.as_list::<i32>();
            let o = l.value_offsets();
            (l.values(), o[row] as usize, o[row + 1] as usize)
        }
        DataType::LargeList(_) => {
            let l = col.as_list::<i64>();
            let o = l.value_offsets();
            (l.values(), o[row] as usize, o[row + 1] as usize)
        }
        _ => {
            let l = col.as_fixed_size_list();
            let start = l.value_offset(row) as usize;
            (l.values(), start, start + l.value_length() as usize)
        }
    })
}

/// Reads one file or stream of a gradient matrix (the whole matrix, or one of its
/// parts) sample by sample.
pub struct PartReader {
    name: String,
    /// The hive partition values of the file's path (`step=938/...`).
    partition: Partition,
    meta: Provenance,
    source: Source,
    cols: ColumnIndex,
    /// Batches read ahead while the layout was inferred, to be read first.
    queued: VecDeque<RecordBatch>,
    batch: Option<Columns>,
    /// For the current batch: layout index of each tensor-dictionary key (or of each row
    /// when the column is plain utf8).
    tensor_ids: Vec<Option<usize>>,
    row: usize,
    /// File rows before the current batch.
    rows_before: u64,
    by_name: HashMap<String, usize>,
    last: Option<(u64, u32)>,
    samples: u64,
    check_finite: bool,
    /// The `values` column read from its pages (Parquet files written with plain
    /// encoding); None when the values come in the record batches.
    pages: Option<ValuesPageDecoder>,
}

impl std::fmt::Debug for PartReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartReader")
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

/// The provenance in `json`; None when there is none (or it holds no layout), so that
/// the layout is inferred from the data.
fn provenance_from(name: &str, json: Option<&String>) -> Result<Option<Provenance>> {
    let Some(json) = json else {
        return Ok(None);
    };
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
    if meta.layout.is_empty() {
        return Ok(None);
    }
    check_layout(&meta.layout)
        .map_err(|e| anyhow!("{name}: bad parameter layout in the metadata: {e}"))?;
    Ok(Some(meta))
}

/// The layout of the first sample in `batches`: its tensors in order, each of shape
/// [its length]. Returns the batches it read.
fn infer_layout(
    name: &str,
    cols: &ColumnIndex,
    part: &Partition,
    batches: &mut dyn FnMut() -> Result<Option<RecordBatch>, ArrowError>,
) -> Result<(Vec<TensorLayout>, Vec<RecordBatch>)> {
    let mut read = Vec::new();
    let mut first: Option<(u64, u32)> = None;
    let mut tensors: Vec<(String, Vec<usize>)> = Vec::new();
    let mut rows = 0u64;
    'batches: while let Some(b) =
        batches().map_err(|e| anyhow!("{name}: cannot read the first sample: {e}"))?
    {
        let c = normalize(name, &b, cols, part, rows)?;
        rows += c.rows as u64;
        read.push(b);
        let values = c.values.as_ref().expect("inferred from the Arrow columns");
        for row in 0..c.rows {
            let key = (c.step.value(row), c.sample.value(row));
            if *first.get_or_insert(key) != key {
                break 'batches;
            }
            let (step, sample) = key;
            let t = c.tensor_name(row).ok_or_else(|| {
                anyhow!("{name}: step {step} sample {sample}: a null tensor name")
            })?;
            if tensors.iter().any(|(n, _)| n == t) {
                bail!("{name}: step {step} sample {sample}: tensor `{t}` appears twice in the first sample (no `{METADATA_KEY}` metadata, so its tensors are the layout)");
            }
            let (_, start, end) = list_at(values, row).ok_or_else(|| {
                anyhow!("{name}: step {step} sample {sample} tensor `{t}`: values are null")
            })?;
            tensors.push((t.to_string(), vec![end - start]));
        }
    }
    if tensors.is_empty() {
        bail!(
            "{name}: no rows, and no `{METADATA_KEY}` metadata to say what the gradients would be"
        );
    }
    let layout = crate::grad_matrix::layout_from_shapes(&tensors);
    check_layout(&layout).map_err(|e| {
        anyhow!("{name}: the first sample's tensors (the layout, as there is no `{METADATA_KEY}` metadata): {e}")
    })?;
    Ok((layout, read))
}

/// How a part is opened: its hive partition, the bytes of `values` a record batch may
/// hold, and (for tests) whether the page decoder may be used.
#[derive(Debug, Clone)]
pub(crate) struct PartOptions {
    pub partition: Partition,
    pub batch_bytes: usize,
    pub use_pages: bool,
}

/// About 16 MiB of values per record batch of a file read alone.
pub(crate) const BATCH_BYTES: usize = 16 << 20;

impl Default for PartOptions {
    fn default() -> Self {
        Self {
            partition: Partition::default(),
            batch_bytes: BATCH_BYTES,
            use_pages: true,
        }
    }
}

impl PartReader {
    /// Opens a Parquet file or Arrow IPC stream/file at `path`, or stdin for `-`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_part(path, &PartOptions::default())
    }

    /// `open_with` with panics inside arrow-rs and parquet as errors ([`guarded`]).
    pub(crate) fn open_part(path: &Path, opts: &PartOptions) -> Result<Self> {
        let name = if is_stdio(path) {
            "stdin".to_string()
        } else {
            path.display().to_string()
        };
        guarded(&name, "cannot open", || Self::open_with(path, opts))
    }

    /// `open`, with a partition, a batch size, and optionally without the page decoder
    /// (to check one path against the other).
    fn open_with(path: &Path, opts: &PartOptions) -> Result<Self> {
        if is_stdio(path) {
            crate::pipe::widen_stdin();
            let not_a_stream = |e: &dyn std::fmt::Display| {
                anyhow!("stdin: not an Arrow IPC stream of a gradient matrix ({e}); pipe the output of `dump-grads -o -` or `synth-grads -o -`")
            };
            let stdin = crate::pipe::raw_stdin().map_err(|e| not_a_stream(&e))?;
            let reader = StreamSource::try_new(BufReader::with_capacity(STREAM_BUFFER, stdin))
                .map_err(|e| {
                    match e.to_string().contains(crate::ipc_stream::PARQUET_ON_A_PIPE) {
                        true => anyhow!("stdin: {}", crate::ipc_stream::PARQUET_ON_A_PIPE),
                        false => not_a_stream(&e),
                    }
                })?;
            return Self::from_stream("stdin".into(), reader, &opts.partition);
        }
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|e| anyhow!("{name}: cannot open: {e}"))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            bail!("{name}: is a directory, not a gradient matrix");
        }
        match sniff(&mut file).map_err(|e| anyhow!("{name}: cannot read: {e}"))? {
            "parquet" => Self::open_parquet(name, file, opts),
            "ipc-file" => {
                let reader = FileReader::try_new(BufReader::new(file), None).map_err(|e| anyhow!("{name}: not a readable Arrow IPC file: {e}"))?;
                let schema = reader.schema();
                let json = schema.metadata().get(METADATA_KEY).cloned();
                let cols = columns_of(&name, &schema, &opts.partition)?;
                Self::from_source(name, cols, json, Source::Batches(Box::new(reader)), &opts.partition)
            }
            "ipc-stream" => {
                let reader = StreamSource::try_new(BufReader::with_capacity(STREAM_BUFFER, file)).map_err(|e| anyhow!("{name}: not a readable Arrow IPC stream: {e}"))?;
                Self::from_stream(name, reader, &opts.partition)
            }
            "empty" => bail!("{name}: the file is empty"),
            _ => bail!("{name}: not a Parquet file or an Arrow IPC stream (a gradient matrix is written by dump-grads or synth-grads)"),
        }
    }

    fn open_parquet(name: String, file: File, opts: &PartOptions) -> Result<Self> {
        let part = &opts.partition;
        let cannot = |e: &dyn std::fmt::Display| anyhow!("{name}: cannot open: {e}");
        let plain_file = file.try_clone().map_err(|e| cannot(&e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| anyhow!("{name}: not a readable Parquet file: {e}"))?;
        let kv = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| {
                kv.iter()
                    .find(|k| k.key == METADATA_KEY)
                    .and_then(|k| k.value.clone())
            });
        let schema = builder.schema().clone();
        let json = kv.or_else(|| schema.metadata().get(METADATA_KEY).cloned());
        let cols = columns_of(&name, &schema, part)?;
        // About `batch_bytes` of values per batch, whole rows.
        let md = builder.metadata().clone();
        let rows = md.file_metadata().num_rows().max(1) as usize;
        let bytes = md
            .row_groups()
            .iter()
            .map(|g| g.total_byte_size().max(0) as usize)
            .sum::<usize>()
            .max(1);
        let batch_rows = (opts.batch_bytes / (bytes / rows).max(1)).clamp(1, 65_536);
        // Without metadata the layout comes from the first sample, read apart by a
        // reader of its own (the file is read again from the start).
        let inferred = match provenance_from(&name, json.as_ref())? {
            Some(_) => None,
            None => {
                let again = plain_file.try_clone().map_err(|e| cannot(&e))?;
                let mut reader = ParquetRecordBatchReaderBuilder::try_new(again)
                    .map_err(|e| anyhow!("{name}: not a readable Parquet file: {e}"))?
                    .with_batch_size(batch_rows.min(1024))
                    .build()
                    .map_err(|e| anyhow!("{name}: {e}"))?;
                let mut next = || reader.next().transpose();
                Some(infer_layout(&name, &cols, part, &mut next)?.0)
            }
        };
        let descr = md.file_metadata().schema_descr_ptr();
        let leaf = descr
            .columns()
            .iter()
            .position(|c| c.path().parts().first().map(String::as_str) == Some("values"));
        let me = match leaf.filter(|&c| opts.use_pages && ValuesPageDecoder::supports(&md, c)) {
            Some(leaf) => {
                // Every column but `values` through Arrow; `values` from its pages.
                let field = schema.field(cols.values);
                let item_nullable = match field.data_type() {
                    DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                        f.is_nullable()
                    }
                    _ => true,
                };
                let pages = ValuesPageDecoder::open(
                    &name,
                    plain_file,
                    md.clone(),
                    leaf,
                    field.is_nullable(),
                    item_nullable,
                );
                let others =
                    ProjectionMask::leaves(&descr, (0..descr.num_columns()).filter(|&c| c != leaf));
                let reader = builder
                    .with_projection(others)
                    .with_batch_size(8192)
                    .build()
                    .map_err(|e| anyhow!("{name}: {e}"))?;
                let projected = reader.schema();
                let at = |c: &str| projected.index_of(c).ok();
                // A column the partition supplies stays supplied.
                let key = |c: &str, i: usize| match i {
                    SUPPLIED => SUPPLIED,
                    _ => at(c).expect("projected column"),
                };
                let projected_cols = ColumnIndex {
                    step: key("step", cols.step),
                    sample: key("sample", cols.sample),
                    tensor: at("tensor").expect("projected column"),
                    values: usize::MAX,
                    loss: at("loss"),
                    batch_size: cols.batch_size.map(|i| key("batch_size", i)),
                };
                let mut me = Self::new(
                    name,
                    projected_cols,
                    json,
                    Source::Batches(Box::new(reader)),
                    inferred,
                    part,
                )?;
                me.pages = Some(pages);
                me
            }
            None => {
                let reader = builder
                    .with_batch_size(batch_rows)
                    .build()
                    .map_err(|e| anyhow!("{name}: {e}"))?;
                Self::new(
                    name,
                    cols,
                    json,
                    Source::Batches(Box::new(reader)),
                    inferred,
                    part,
                )?
            }
        };
        Ok(me)
    }

    /// A reader of the IPC stream `reader` named `name`.
    fn from_stream(
        name: String,
        reader: StreamSource<BufReader<File>>,
        part: &Partition,
    ) -> Result<Self> {
        let schema = reader.schema();
        let json = schema.metadata().get(METADATA_KEY).cloned();
        let cols = columns_of(&name, &schema, part)?;
        Self::from_source(name, cols, json, Source::Stream(Box::new(reader)), part)
    }

    /// A reader of `source` (batches whose columns `check_schema` found at `cols`) with
    /// the provenance `json`; without it, the layout is inferred from the first sample
    /// and the batches read for that are queued.
    fn from_source(
        name: String,
        cols: ColumnIndex,
        json: Option<String>,
        mut source: Source,
        part: &Partition,
    ) -> Result<Self> {
        if provenance_from(&name, json.as_ref())?.is_some() {
            return Self::new(name, cols, json, source, None, part);
        }
        if let Source::Stream(s) = &mut source {
            // Batches held while reading ahead keep their own floats.
            s.set_landing(false);
        }
        let mut next = || source.next_batch();
        let (layout, read) = infer_layout(&name, &cols, part, &mut next)?;
        if let Source::Stream(s) = &mut source {
            s.set_landing(true);
        }
        let mut me = Self::new(name, cols, json, source, Some(layout), part)?;
        me.queued = read.into();
        Ok(me)
    }

    fn new(
        name: String,
        cols: ColumnIndex,
        json: Option<String>,
        source: Source,
        inferred: Option<Vec<TensorLayout>>,
        part: &Partition,
    ) -> Result<Self> {
        let meta = match inferred {
            Some(layout) => Provenance::inferred(layout),
            None => provenance_from(&name, json.as_ref())?.expect("provenance with a layout"),
        };
        let by_name = meta
            .layout
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(Self {
            name,
            partition: part.clone(),
            meta,
            source,
            cols,
            queued: VecDeque::new(),
            batch: None,
            tensor_ids: Vec::new(),
            row: 0,
            rows_before: 0,
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

    /// Whether the file has a `loss` column (else [`Sample::loss`] is NaN).
    pub fn has_loss(&self) -> bool {
        self.cols.loss.is_some()
    }

    /// Whether the file has a `batch_size` column (else [`Sample::batch_size`] is 0).
    pub fn has_batch_size(&self) -> bool {
        self.cols.batch_size.is_some()
    }

    /// Moves to the next row, loading the next batch when needed; false at the end.
    fn advance(&mut self) -> Result<bool> {
        loop {
            if let Some(b) = &self.batch {
                if self.row < b.rows {
                    return Ok(true);
                }
                self.rows_before += b.rows as u64;
            }
            // The stream reuses the body the last batch views once it is dropped.
            self.batch = None;
            let next = match self.queued.pop_front() {
                Some(b) => Ok(Some(b)),
                None => {
                    let source = &mut self.source;
                    let what = format!("cannot read after {} samples", self.samples);
                    guarded(&self.name, &what, || Ok(source.next_batch()))?
                }
            };
            match next {
                Ok(None) => return Ok(false),
                Err(e) => bail!(
                    "{}: cannot read after {} samples: {e}",
                    self.name,
                    self.samples
                ),
                Ok(Some(b)) => {
                    let c = normalize(
                        &self.name,
                        &b,
                        &self.cols,
                        &self.partition,
                        self.rows_before,
                    )?;
                    self.tensor_ids = self.map_tensors(&c)?;
                    self.batch = Some(c);
                    self.row = 0;
                }
            }
        }
    }

    fn map_tensors(&self, c: &Columns) -> Result<Vec<Option<usize>>> {
        let lookup = |s: &arrow::array::StringArray| -> Vec<Option<usize>> {
            (0..s.len())
                .map(|i| {
                    s.is_valid(i)
                        .then(|| self.by_name.get(s.value(i)).copied())
                        .flatten()
                })
                .collect()
        };
        Ok(match c.tensor.as_dictionary_opt::<Int32Type>() {
            Some(dict) => lookup(dict.values().as_string::<i32>()),
            None => lookup(c.tensor.as_string::<i32>()),
        })
    }

    fn tensor_at(&self, c: &Columns, row: usize, step: u64, sample: u32) -> Result<usize> {
        let key = match c.tensor.as_dictionary_opt::<Int32Type>() {
            Some(dict) => (!dict.is_null(row)).then(|| dict.keys().value(row) as usize),
            None => (!c.tensor.is_null(row)).then_some(row),
        };
        if let Some(Some(id)) = key.map(|k| self.tensor_ids.get(k).copied().flatten()) {
            return Ok(id);
        }
        let Some(shown) = c.tensor_name(row) else {
            bail!(
                "{}: step {step} sample {sample}: a null tensor name",
                self.name
            );
        };
        bail!(
            "{}: step {step} sample {sample}: tensor `{shown}` is not in the parameter layout {} ({} tensors: {})",
            self.name,
            if self.meta.layout_inferred() { "of the first sample" } else { "of the metadata" },
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
            let step = b.step.value(row);
            let sample = b.sample.value(row);
            let id = self.tensor_at(b, row, step, sample)?;
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
                out.loss = match &b.loss {
                    Some(l) if l.is_valid(row) => l.value(row),
                    _ => f64::NAN,
                };
                out.batch_size = match &b.batch_size {
                    Some(bs) if bs.is_valid(row) => bs.value(row),
                    _ => 0,
                };
            } else if (step, sample) != (out.step, out.sample) {
                bail!("{}: step {} sample {} has {k} of its {ntensors} tensors; tensor `{}` is missing", self.name, out.step, out.sample, expected.name);
            } else if id != k {
                bail!("{}: step {step} sample {sample}: tensor `{}` where `{}` was expected (tensors must follow the layout order)", self.name, self.meta.layout[id].name, expected.name);
            }
            let dest = &mut out.values[expected.offset..expected.offset + expected.numel];
            let place = || {
                format!(
                    "{}: step {step} sample {sample} tensor `{}`",
                    self.name, expected.name
                )
            };
            let len = if let Some(pages) = self.pages.as_mut() {
                let read = guarded(&self.name, "cannot read", || pages.next_record(dest));
                match read? {
                    None => bail!(
                        "{}: the `values` column ends before the others (corrupt file?)",
                        place()
                    ),
                    Some(Record::Null) => bail!("{}: values are null", place()),
                    Some(Record::NullElement) => {
                        bail!("{}: null values inside the gradient", place())
                    }
                    Some(Record::Values(len)) => len,
                }
            } else {
                let col = b.values.as_ref().expect("values in the batch");
                let Some((values, start, end)) = list_at(col, row) else {
                    bail!("{}: values are null", place());
                };
                if values.null_count() > 0 && (start..end).any(|i| values.is_null(i)) {
                    bail!("{}: null values inside the gradient", place());
                }
                let fits = end - start == dest.len();
                match values.data_type() {
                    // Rows in layout order with the layout's lengths sit where the
                    // layout puts them (offsets start at 0: see take_whole_sample).
                    DataType::Float32 if in_place && fits && start != expected.offset => {
                        bail!(
                            "{}: values at {start}, the layout puts them at {}",
                            place(),
                            expected.offset
                        );
                    }
                    DataType::Float32 if in_place => {}
                    DataType::Float32 if fits => {
                        let landed = match &self.source {
                            Source::Stream(stream) if self.queued.is_empty() => stream.landed(),
                            _ => None,
                        };
                        let floats = values.as_primitive::<Float32Type>().values();
                        dest.copy_from_slice(&landed.unwrap_or(floats)[start..end]);
                    }
                    DataType::Float64 if fits => {
                        let wide = &values.as_primitive::<Float64Type>().values()[start..end];
                        for (d, &v) in dest.iter_mut().zip(wide) {
                            *d = v as f32;
                        }
                        if self.check_finite {
                            // Finite float64 values beyond float32's range.
                            if let Some(i) = wide
                                .iter()
                                .position(|v| v.is_finite() && (*v as f32).is_infinite())
                            {
                                bail!("{}: value {:e} at index {i} is beyond float32's range (float64 gradients are read as float32)", place(), wide[i]);
                            }
                        }
                    }
                    DataType::Float16 if fits => {
                        let half = &values.as_primitive::<Float16Type>().values()[start..end];
                        for (d, v) in dest.iter_mut().zip(half) {
                            *d = v.to_f32();
                        }
                    }
                    _ => {}
                }
                end - start
            };
            if len != expected.numel {
                bail!(
                    "{}: {len} values, but the layout{} says {} (shape {:?})",
                    place(),
                    if self.meta.layout_inferred() {
                        " of the first sample"
                    } else {
                        ""
                    },
                    expected.numel,
                    expected.shape
                );
            }
            // A fold without early exit vectorises; the position is looked up only on failure.
            if self.check_finite && dest.iter().fold(false, |bad, v| bad | !v.is_finite()) {
                let i = dest
                    .iter()
                    .position(|v| !v.is_finite())
                    .expect("a non-finite value");
                bail!(
                    "{}: value {} at index {i} (the gradient is not finite; did training diverge?)",
                    place(),
                    dest[i]
                );
            }
            self.row += 1;
        }
        self.last = Some((out.step, out.sample));
        self.samples += 1;
        Ok(true)
    }
}

impl PartReader {
    /// When the current batch is exactly one sample whose floats an IPC stream read apart
    /// (one row per tensor, list offsets from 0 to the dimension), swaps them into
    /// `values` instead of copying them; true if it did.
    fn take_whole_sample(&mut self, values: &mut Vec<f32>) -> bool {
        let (Some(b), Source::Stream(stream)) = (&self.batch, &mut self.source) else {
            return false;
        };
        if !self.queued.is_empty() {
            return false;
        }
        let dim = self.meta.dim();
        let whole = self.row == 0
            && b.rows == self.meta.layout.len()
            && stream.landed().is_some_and(|f| f.len() == dim)
            && match b.values.as_ref().and_then(|v| v.as_list_opt::<i32>()) {
                Some(l) => {
                    let o = l.value_offsets();
                    o[0] == 0 && o[o.len() - 1] as usize == dim && l.values().len() == dim
                }
                None => false,
            };
        whole && stream.take_landed(values)
    }
}

impl PartReader {
    /// The (step, sample) of the next sample, without reading it; None at the end.
    pub fn peek_key(&mut self) -> Result<Option<(u64, u32)>> {
        if !self.advance()? {
            return Ok(None);
        }
        let b = self.batch.as_ref().expect("advance loaded a batch");
        Ok(Some((b.step.value(self.row), b.sample.value(self.row))))
    }
}

/// Reads a gradient matrix sample by sample: one file or stream ([`PartReader`]), or a
/// matrix in parts (a directory, a glob, several files) merged in (step, sample) order
/// ([`crate::grad_parts`]).
#[derive(Debug)]
pub struct GradReader {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    One(Box<PartReader>),
    Parts(Box<PartsReader>),
}

impl GradReader {
    /// Opens `path`: a Parquet file or Arrow IPC stream/file, stdin for `-`, or the
    /// parts of a matrix: a directory (every `*.parquet` below it) or a glob pattern.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_all(&[path.to_path_buf()])
    }

    /// Opens the gradient matrix `inputs` name together: one file or stdin as
    /// [`GradReader::open`], or several files, directories and glob patterns, whose
    /// parts are read as one matrix ([`crate::grad_parts`] gives the rules).
    pub fn open_all(inputs: &[PathBuf]) -> Result<Self> {
        let inner = match crate::grad_parts::resolve(inputs)? {
            crate::grad_parts::Inputs::One(part) => {
                let opts = PartOptions {
                    partition: part.partition,
                    ..PartOptions::default()
                };
                Inner::One(Box::new(PartReader::open_part(&part.path, &opts)?))
            }
            crate::grad_parts::Inputs::Parts(name, parts) => {
                Inner::Parts(Box::new(PartsReader::open(name, parts)?))
            }
        };
        Ok(Self { inner })
    }

    /// Skip the NaN/infinity check (for tools that handle non-finite values themselves).
    pub fn set_check_finite(&mut self, check: bool) {
        match &mut self.inner {
            Inner::One(r) => r.set_check_finite(check),
            Inner::Parts(r) => r.set_check_finite(check),
        }
    }

    /// The name used in messages: the path, "stdin", or the inputs of a matrix in parts.
    pub fn name(&self) -> &str {
        match &self.inner {
            Inner::One(r) => r.name(),
            Inner::Parts(r) => r.name(),
        }
    }

    /// The provenance, including the parameter layout (of a matrix in parts: the first
    /// part's, without `shard`, with `parts`).
    pub fn meta(&self) -> &Provenance {
        match &self.inner {
            Inner::One(r) => r.meta(),
            Inner::Parts(r) => r.meta(),
        }
    }

    /// Values per sample.
    pub fn dim(&self) -> usize {
        self.meta().dim()
    }

    /// Samples read so far.
    pub fn samples_read(&self) -> u64 {
        match &self.inner {
            Inner::One(r) => r.samples_read(),
            Inner::Parts(r) => r.samples_read(),
        }
    }

    /// Whether the file has a `loss` column (else [`Sample::loss`] is NaN).
    pub fn has_loss(&self) -> bool {
        match &self.inner {
            Inner::One(r) => r.has_loss(),
            Inner::Parts(r) => r.has_loss(),
        }
    }

    /// Whether the file has a `batch_size` column (else [`Sample::batch_size`] is 0).
    pub fn has_batch_size(&self) -> bool {
        match &self.inner {
            Inner::One(r) => r.has_batch_size(),
            Inner::Parts(r) => r.has_batch_size(),
        }
    }

    /// Reads the next sample into `out` (reusing its buffer). Returns false at the end.
    pub fn next_sample(&mut self, out: &mut Sample) -> Result<bool> {
        match &mut self.inner {
            Inner::One(r) => r.next_sample(out),
            Inner::Parts(r) => r.next_sample(out),
        }
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
    fn streams_without_metadata_in_batches_across_samples() {
        // An IPC stream of float32 lists without metadata, 3 rows to a batch, so samples
        // of 2 tensors straddle batches: the layout comes from the first sample, the
        // batches read ahead for it are read again first (with their own floats), and
        // later batches land their floats apart; every value arrives.
        use arrow::array::{Float32Array, Int64Array, ListArray, StringArray};
        use arrow::buffer::OffsetBuffer;
        use arrow::datatypes::{Field, Schema};
        use arrow::ipc::writer::StreamWriter;
        use std::sync::Arc;
        let value = |s: usize, i: usize| (s * 10 + i) as f32 * 0.5;
        let (mut steps, mut samples, mut names, mut offsets, mut flat) =
            (vec![], vec![], vec![], vec![0i32], vec![]);
        for s in 0..5usize {
            for (name, range) in [("w", 0..6), ("b", 6..8)] {
                steps.push(2i64);
                samples.push(s as i64);
                names.push(name);
                flat.extend(range.map(|i| value(s, i)));
                offsets.push(flat.len() as i32);
            }
        }
        let item = Arc::new(Field::new("item", DataType::Float32, true));
        let schema = Arc::new(Schema::new(vec![
            Field::new("step", DataType::Int64, false),
            Field::new("sample", DataType::Int64, false),
            Field::new("tensor", DataType::Utf8, false),
            Field::new("values", DataType::List(item.clone()), false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(steps)),
                Arc::new(Int64Array::from(samples)),
                Arc::new(StringArray::from(names)),
                Arc::new(ListArray::new(
                    item,
                    OffsetBuffer::new(offsets.into()),
                    Arc::new(Float32Array::from(flat)),
                    None,
                )),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.arrows");
        let mut w = StreamWriter::try_new(File::create(&path).unwrap(), &schema).unwrap();
        for at in (0..10).step_by(3) {
            w.write(&batch.slice(at, 3.min(10 - at))).unwrap();
        }
        w.finish().unwrap();
        drop(w);
        let mut r = GradReader::open(&path).unwrap();
        assert!(r.meta().layout_inferred());
        assert_eq!(r.meta().layout[0].shape, [6]);
        assert_eq!(r.dim(), 8);
        assert!(!r.has_loss() && !r.has_batch_size());
        let mut out = Sample::default();
        let mut n = 0;
        while r.next_sample(&mut out).unwrap() {
            let want: Vec<f32> = (0..8).map(|i| value(n, i)).collect();
            assert_eq!((out.step, out.sample as usize), (2, n));
            assert_eq!(out.values, want, "sample {n}");
            assert!(out.loss.is_nan() && out.batch_size == 0);
            n += 1;
        }
        assert_eq!(n, 5);
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
    //! The page decoder (`values_page_decoder`) against the parquet crate's own Arrow
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
        let opts = PartOptions {
            use_pages,
            ..PartOptions::default()
        };
        let mut r = PartReader::open_part(path, &opts).unwrap();
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
