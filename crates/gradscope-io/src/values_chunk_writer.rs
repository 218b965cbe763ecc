//! The `values` column chunk of a Parquet gradient matrix, written page by page: the
//! mirror of [`crate::values_page_decoder`].
//!
//! Why: arrow-rs's writer builds a repetition and a definition level for every value,
//! then RLE-encodes them value by value; on `fnn`'s 635,200-value gradients that ran at
//! about 250 MB/s on one core, slower than the gradients were computed. But a gradient
//! row's levels are fixed by the parameter layout: every row is a non-null list of
//! non-null floats whose length is the tensor's size. So the level bytes of each page are
//! computed once, from the layout, and writing a sample is copying its floats after them.
//!
//! A data page (v1, uncompressed) holds whole rows of one sample (consecutive tensors up
//! to [`PAGE_BYTES`]; a larger tensor is a page by itself), so pages begin on record
//! boundaries as the offset index requires. Its body (Parquet format specification,
//! `Encodings.md` and `README.md`, "Data Pages"):
//!
//! - repetition levels: 4-byte little-endian length, then RLE runs (`varint(count << 1)`
//!   followed by the level in `ceil(bit_width / 8)` bytes): per row one run of a single 0
//!   (a record starts) and one run of `numel - 1` ones;
//! - definition levels: the same framing, one run of the maximum level ("present") over
//!   every value of the page;
//! - the values, PLAIN: 4-byte little-endian IEEE floats.
//!
//! The chunk is assembled in memory (one row group's worth) and spliced into the file by
//! the parquet crate's row group writer, which also serialises the page headers.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Target size of a data page's values (1 MiB, the parquet crate's default page size).
pub const PAGE_BYTES: usize = 1 << 20;

/// One page of a sample: a run of consecutive tensors.
#[derive(Debug, Clone)]
struct PagePlan {
    /// Rows (tensors) in the page.
    rows: usize,
    /// Range of the sample's values the page holds.
    values: std::ops::Range<usize>,
    /// The length-prefixed repetition and definition levels, identical for every sample.
    levels: Vec<u8>,
}

/// Writes the `values` column of one row group.
pub struct ValuesChunkWriter {
    descr: ColumnDescPtr,
    plan: Vec<PagePlan>,
    dim: usize,
    sink: TrackedWrite<Vec<u8>>,
    offsets: OffsetIndexBuilder,
    num_values: i64,
    rows: u64,
    compressed: i64,
    uncompressed: i64,
}

impl std::fmt::Debug for ValuesChunkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValuesChunkWriter")
            .field("pages_per_sample", &self.plan.len())
            .field("rows", &self.rows)
            .finish()
    }
}

/// Whether rows of these sizes can be written by [`ValuesChunkWriter`]: every tensor must
/// hold at least one value (an empty list has a different definition level).
pub fn supports(numels: &[usize]) -> bool {
    !numels.is_empty() && numels.iter().all(|&n| n > 0 && n <= u32::MAX as usize / 2)
}

impl ValuesChunkWriter {
    /// Starts a chunk for rows of sizes `numels` (one row per tensor, in layout order),
    /// `descr` being the `values.list.item` leaf of the file's schema.
    /// `capacity` (bytes) is reserved up front: a row group's worth, so the buffer is
    /// never copied as it grows.
    pub fn new(
        descr: ColumnDescPtr,
        numels: &[usize],
        page_bytes: usize,
        capacity: usize,
    ) -> Result<Self> {
        if !supports(numels) {
            bail!("the page writer needs tensors of 1 to 2^31 - 1 values");
        }
        let (max_rep, max_def) = (descr.max_rep_level(), descr.max_def_level());
        if max_rep != 1 || max_def < 1 {
            bail!("`values` must be a list of floats (max repetition level 1, got {max_rep})");
        }
        Ok(Self {
            descr,
            plan: plan_pages(numels, (page_bytes / 4).max(1), max_def),
            dim: numels.iter().sum(),
            sink: TrackedWrite::new(Vec::with_capacity(capacity)),
            offsets: OffsetIndexBuilder::new(),
            num_values: 0,
            rows: 0,
            compressed: 0,
            uncompressed: 0,
        })
    }

    /// Appends one sample's rows (its `dim` values in layout order).
    pub fn write_sample(&mut self, values: &[f32]) -> Result<()> {
        if values.len() != self.dim {
            bail!(
                "sample has {} values, the layout {}",
                values.len(),
                self.dim
            );
        }
        for page in &self.plan {
            let vals = &values[page.values.clone()];
            let mut body = Vec::with_capacity(page.levels.len() + 4 * vals.len());
            body.extend_from_slice(&page.levels);
            extend_le(&mut body, vals);
            let len = body.len();
            let page_data = Page::DataPage {
                buf: Bytes::from(body),
                num_values: vals.len() as u32,
                encoding: Encoding::PLAIN,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            let spec = SerializedPageWriter::new(&mut self.sink)
                .write_page(CompressedPage::new(page_data, len))
                .context("cannot encode a data page")?;
            self.offsets
                .append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
            self.offsets.append_row_count(page.rows as i64);
            self.compressed += spec.compressed_size as i64;
            self.uncompressed += spec.uncompressed_size as i64;
            self.num_values += vals.len() as i64;
            self.rows += page.rows as u64;
        }
        Ok(())
    }

    /// Bytes buffered so far.
    pub fn buffered_bytes(&self) -> usize {
        self.sink.bytes_written()
    }

    /// Ends the chunk: its bytes and the metadata the row group writer splices in with
    /// `SerializedRowGroupWriter::append_column`.
    pub fn close(self) -> Result<(Bytes, ColumnCloseResult)> {
        let metadata = ColumnChunkMetaData::builder(self.descr)
            .set_compression(Compression::UNCOMPRESSED)
            .set_encodings_mask(EncodingMask::new_from_encodings(
                [Encoding::PLAIN, Encoding::RLE].iter(),
            ))
            .set_total_compressed_size(self.compressed)
            .set_total_uncompressed_size(self.uncompressed)
            .set_num_values(self.num_values)
            .set_data_page_offset(0)
            .build()
            .context("cannot describe the `values` column chunk")?;
        let bytes = self
            .sink
            .into_inner()
            .context("cannot finish the `values` column chunk")?;
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: self.rows,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(self.offsets.build()),
        };
        Ok((Bytes::from(bytes), close))
    }
}

/// Groups consecutive rows into pages of at most `page_values` values (a larger row is a
/// page by itself).
fn plan_pages(numels: &[usize], page_values: usize, max_def: i16) -> Vec<PagePlan> {
    let mut plan = Vec::new();
    let mut start = 0;
    let mut sizes: Vec<usize> = Vec::new();
    for &n in numels {
        let held: usize = sizes.iter().sum();
        if !sizes.is_empty() && held + n > page_values {
            plan.push(page_plan(&sizes, start, max_def));
            start += held;
            sizes.clear();
        }
        sizes.push(n);
    }
    plan.push(page_plan(&sizes, start, max_def));
    plan
}

/// The levels of a page holding rows of `sizes` values.
fn page_plan(sizes: &[usize], start: usize, max_def: i16) -> PagePlan {
    let total: usize = sizes.iter().sum();
    let mut rep = Vec::new();
    for &n in sizes {
        rle_run(&mut rep, 1, 0, 1);
        if n > 1 {
            rle_run(&mut rep, n - 1, 1, 1);
        }
    }
    let mut def = Vec::new();
    rle_run(&mut def, total, max_def as u8, bit_width(max_def));
    let mut levels = Vec::with_capacity(8 + rep.len() + def.len());
    levels.extend_from_slice(&(rep.len() as u32).to_le_bytes());
    levels.extend_from_slice(&rep);
    levels.extend_from_slice(&(def.len() as u32).to_le_bytes());
    levels.extend_from_slice(&def);
    PagePlan {
        rows: sizes.len(),
        values: start..start + total,
        levels,
    }
}

/// Bits needed for levels up to `max`.
fn bit_width(max: i16) -> u32 {
    16 - (max as u16).leading_zeros()
}

/// One RLE run: `varint(count << 1)`, then `value` in `ceil(width / 8)` bytes.
fn rle_run(out: &mut Vec<u8>, count: usize, value: u8, width: u32) {
    let mut header = (count as u64) << 1;
    loop {
        let byte = (header & 0x7f) as u8;
        header >>= 7;
        if header == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.push(value);
    for _ in 1..width.div_ceil(8) {
        out.push(0);
    }
}

/// Appends floats as little-endian bytes (one copy on little-endian machines).
fn extend_le(out: &mut Vec<u8>, vals: &[f32]) {
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(vals));
    } else {
        for v in vals {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_runs_follow_the_hybrid_encoding() {
        // Encodings.md: a run of 300 ones at bit width 1 is varint(600) = 0xd8 0x04, then
        // the value in one byte.
        let mut out = Vec::new();
        rle_run(&mut out, 300, 1, 1);
        assert_eq!(out, [0xd8, 0x04, 0x01]);
        let mut out = Vec::new();
        rle_run(&mut out, 1, 0, 1);
        assert_eq!(out, [0x02, 0x00]);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(2), 2);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(4), 3);
    }

    #[test]
    fn pages_group_tensors_up_to_the_page_size() {
        let plan = plan_pages(&[3, 4, 10, 1, 1], 8, 1);
        let got: Vec<_> = plan.iter().map(|p| (p.rows, p.values.clone())).collect();
        assert_eq!(got, [(2, 0..7), (1, 7..17), (2, 17..19)]);
        // Rows of 3 and 4 values: repetition levels 0,1,1 | 0,1,1,1 as runs (1 x 0),
        // (2 x 1), (1 x 0), (3 x 1); definition levels one run of 7 x 1.
        let levels = &plan[0].levels;
        assert_eq!(
            levels.as_slice(),
            [8, 0, 0, 0, 2, 0, 4, 1, 2, 0, 6, 1, 2, 0, 0, 0, 14, 1]
        );
    }
}
