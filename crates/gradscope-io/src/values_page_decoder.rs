//! The `values` column of a Parquet gradient matrix, read record by record straight from
//! its data pages.
//!
//! Why: arrow-rs's list reader builds null bitmaps, offsets and a fresh `Float32Array`
//! for every batch, then the reader copies each row out again; on a 3,000 x 200,000
//! matrix that bookkeeping took 60 % of `vmf-kappa`'s time. A gradient row is a list of
//! non-null float32 values, PLAIN-encoded (dictionary off, as `GradWriter` writes it), so
//! a page holds three contiguous parts and each record can be copied once, from the page
//! into the caller's buffer:
//!
//! - repetition levels (0 starts a record, 1 continues it) and definition levels (the
//!   maximum means "a value is present"), each in the RLE / bit-packing hybrid encoding
//!   (Parquet format specification, `Encodings.md`, "Run Length Encoding / Bit-Packing
//!   Hybrid"); in data page v1 each is prefixed by its 4-byte little-endian length, in
//!   data page v2 their lengths are in the page header;
//! - the values, PLAIN: 4-byte little-endian IEEE floats, one per present value.
//!
//! Records may span pages (Parquet v1 allows it): a page whose first repetition level
//! is 1 continues the previous page's record. Decompression is done by the parquet
//! crate's page reader. Files whose `values` column uses another encoding (dictionary,
//! byte-stream-split) are read by the general Arrow path instead; see
//! [`ValuesPageDecoder::supports`].

use anyhow::{anyhow, bail, Result};
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::{ReaderProperties, ReaderPropertiesPtr};
use parquet::file::reader::RowGroupReader;
use parquet::file::serialized_reader::SerializedRowGroupReader;
use std::fs::File;
use std::sync::Arc;

/// A Parquet file with its footer, parsed once by the caller.
struct ParquetFile {
    file: Arc<File>,
    meta: Arc<ParquetMetaData>,
    props: ReaderPropertiesPtr,
}

/// What a record turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A list of this many values (copied into the destination when it fits).
    Values(usize),
    /// A null list.
    Null,
    /// A list with a null element.
    NullElement,
}

/// One decoded data page.
struct DecodedPage {
    /// The page (decompressed); its PLAIN values start at byte `values_start`.
    page: Page,
    values_start: usize,
    levels: usize,
    /// Level positions that start a record (repetition level 0), ascending.
    starts: Vec<usize>,
    /// Runs of levels whose definition level is below the maximum: (start, len, level).
    short: Vec<(usize, usize, u16)>,
    /// Next level to read, and the index in `starts` of the first start after it.
    pos: usize,
    next_start: usize,
}

/// Reads the leaf column `column` (a list of float32, nullable or not) of every row group
/// in order, one record at a time.
pub struct ValuesPageDecoder {
    name: String,
    /// The file, or None when the pages are given (tests).
    file: Option<ParquetFile>,
    given: std::collections::VecDeque<Page>,
    column: usize,
    row_group: usize,
    pages: Option<Box<dyn PageReader>>,
    max_def: u16,
    /// The definition level of a null list (None when the list is not nullable).
    null_list_def: Option<u16>,
    /// The definition level of an empty list.
    empty_list_def: u16,
    page: Option<DecodedPage>,
}

impl std::fmt::Debug for ValuesPageDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValuesPageDecoder")
            .field("name", &self.name)
            .field("row_group", &self.row_group)
            .finish()
    }
}

impl ValuesPageDecoder {
    /// Whether the leaf column can be read from its pages: float32 values under exactly
    /// one repeated level, PLAIN values and RLE levels in every row group.
    pub fn supports(meta: &ParquetMetaData, column: usize) -> bool {
        let schema = meta.file_metadata().schema_descr();
        let descr = schema.column(column);
        if descr.physical_type() != PhysicalType::FLOAT || descr.max_rep_level() != 1 {
            return false;
        }
        meta.row_groups().iter().all(|rg| {
            rg.column(column)
                .encodings()
                .all(|e| matches!(e, Encoding::PLAIN | Encoding::RLE))
        })
    }

    /// Opens the column of `file`, whose footer `meta` the caller has parsed.
    /// `list_nullable` and `item_nullable` are the Arrow fields' nullability, which fix
    /// the meaning of the definition levels.
    pub fn open(
        name: &str,
        file: File,
        meta: Arc<ParquetMetaData>,
        column: usize,
        list_nullable: bool,
        item_nullable: bool,
    ) -> Self {
        let descr = meta.file_metadata().schema_descr().column(column);
        let max_def = descr.max_def_level() as u16;
        Self {
            name: name.to_string(),
            file: Some(ParquetFile {
                file: Arc::new(file),
                meta,
                // What `SerializedFileReader::new` reads with.
                props: Arc::new(ReaderProperties::builder().build()),
            }),
            given: Default::default(),
            column,
            row_group: 0,
            pages: None,
            max_def,
            null_list_def: list_nullable.then_some(0),
            empty_list_def: max_def.saturating_sub(1 + item_nullable as u16),
            page: None,
        }
    }

    /// Reads the given pages of a column with these definition levels (tests).
    #[cfg(test)]
    fn from_pages(
        pages: Vec<Page>,
        max_def: u16,
        null_list_def: Option<u16>,
        empty_list_def: u16,
    ) -> Self {
        Self {
            name: "pages".into(),
            file: None,
            given: pages.into(),
            column: 0,
            row_group: 0,
            pages: None,
            max_def,
            null_list_def,
            empty_list_def,
            page: None,
        }
    }

    /// The next data page, or None at the end of the column.
    fn next_page(&mut self) -> Result<Option<(Page, usize)>> {
        let Some(file) = &self.file else {
            return Ok(self.given.pop_front().map(|p| (p, 0)));
        };
        loop {
            if self.pages.is_none() {
                if self.row_group >= file.meta.num_row_groups() {
                    return Ok(None);
                }
                // As `SerializedFileReader::get_row_group` does it.
                let rg = SerializedRowGroupReader::new(
                    Arc::clone(&file.file),
                    file.meta.row_group(self.row_group),
                    file.meta
                        .offset_index()
                        .map(|x| x[self.row_group].as_slice()),
                    Arc::clone(&file.props),
                )
                .map_err(|e| anyhow!("{}: row group {}: {e}", self.name, self.row_group))?;
                self.pages =
                    Some(rg.get_column_page_reader(self.column).map_err(|e| {
                        anyhow!("{}: row group {}: {e}", self.name, self.row_group)
                    })?);
            }
            let pages = self.pages.as_mut().expect("a page reader");
            match pages.get_next_page() {
                Ok(Some(p)) if p.is_data_page() => return Ok(Some((p, self.row_group))),
                Ok(Some(_)) => bail!(
                    "{}: row group {}: `values` is dictionary-encoded where plain pages were announced",
                    self.name,
                    self.row_group
                ),
                Ok(None) => {
                    self.pages = None;
                    self.row_group += 1;
                }
                Err(e) => bail!("{}: row group {}: {e}", self.name, self.row_group),
            }
        }
    }

    /// Loads and decodes the next page; false at the end of the column.
    fn load(&mut self) -> Result<bool> {
        let Some((page, rg)) = self.next_page()? else {
            self.page = None;
            return Ok(false);
        };
        let bad = |what: &str| anyhow!("{}: row group {rg}: `values` page: {what}", self.name);
        let (levels, rep, def, values_at) = match &page {
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                ..
            } => {
                if *encoding != Encoding::PLAIN
                    || *def_level_encoding != Encoding::RLE
                    || *rep_level_encoding != Encoding::RLE
                {
                    return Err(bad("unsupported encoding"));
                }
                let b: &[u8] = buf;
                let prefixed = |at: usize| -> Result<(usize, usize)> {
                    let len = b
                        .get(at..at + 4)
                        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")) as usize)
                        .ok_or_else(|| bad("truncated levels"))?;
                    if at + 4 + len > b.len() {
                        return Err(bad("truncated levels"));
                    }
                    Ok((at + 4, at + 4 + len))
                };
                let rep = prefixed(0)?;
                let def = if self.max_def > 0 {
                    prefixed(rep.1)?
                } else {
                    (rep.1, rep.1)
                };
                (*num_values as usize, rep, def, def.1)
            }
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                def_levels_byte_len,
                rep_levels_byte_len,
                ..
            } => {
                if *encoding != Encoding::PLAIN {
                    return Err(bad("unsupported encoding"));
                }
                let r = *rep_levels_byte_len as usize;
                let d = *def_levels_byte_len as usize;
                if r + d > buf.len() {
                    return Err(bad("truncated levels"));
                }
                (*num_values as usize, (0, r), (r, r + d), r + d)
            }
            Page::DictionaryPage { .. } => unreachable!("next_page returns data pages"),
        };
        let buf: &[u8] = page.buffer();
        let mut starts = Vec::new();
        rle_hybrid_runs(&buf[rep.0..rep.1], 1, levels, |at, len, v| {
            if v == 0 {
                starts.extend(at..at + len);
            }
        })
        .map_err(|e| bad(&format!("repetition levels: {e}")))?;
        let mut short = Vec::new();
        if self.max_def > 0 {
            let width = bit_width(self.max_def);
            let max = self.max_def;
            rle_hybrid_runs(&buf[def.0..def.1], width, levels, |at, len, v| {
                if v < max {
                    short.push((at, len, v));
                }
            })
            .map_err(|e| bad(&format!("definition levels: {e}")))?;
        }
        let present = levels - short.iter().map(|s| s.1).sum::<usize>();
        if values_at + 4 * present > buf.len() {
            return Err(bad("fewer values than levels"));
        }
        self.page = Some(DecodedPage {
            page,
            values_start: values_at,
            levels,
            starts,
            short,
            pos: 0,
            next_start: 0,
        });
        Ok(true)
    }

    /// Reads the next record into `dest` (values beyond `dest.len()` are counted, not
    /// copied). None at the end of the column.
    pub fn next_record(&mut self, dest: &mut [f32]) -> Result<Option<Record>> {
        let mut len = 0usize;
        let mut first = true;
        let mut outcome: Option<Record> = None;
        loop {
            let exhausted = self.page.as_ref().is_none_or(|p| p.pos >= p.levels);
            if exhausted {
                if !self.load()? {
                    return if first {
                        Ok(None)
                    } else {
                        Ok(Some(outcome.unwrap_or(Record::Values(len))))
                    };
                }
                let p = self.page.as_ref().expect("a loaded page");
                if p.levels == 0 {
                    continue;
                }
                // A continuation page starts with repetition level 1.
                if !first && p.starts.first() == Some(&0) {
                    return Ok(Some(outcome.unwrap_or(Record::Values(len))));
                }
            }
            let p = self.page.as_mut().expect("a loaded page");
            if first && p.starts.get(p.next_start) != Some(&p.pos) {
                bail!(
                    "{}: row group {}: `values` page does not start a record where one was expected (corrupt levels?)",
                    self.name,
                    self.row_group
                );
            }
            if first {
                p.next_start += 1;
            }
            first = false;
            let end = p.starts.get(p.next_start).copied().unwrap_or(p.levels);
            let (a, b) = (p.pos, end);
            // Levels below the maximum inside [a, b): a null or empty list, or a null element.
            if let Some(&(s, _, v)) = p.short.iter().find(|&&(s, l, _)| s < b && s + l > a) {
                let single = b - a == 1 && s <= a;
                outcome.get_or_insert(if single && Some(v) == self.null_list_def {
                    Record::Null
                } else if single && v == self.empty_list_def {
                    Record::Values(0)
                } else if single {
                    Record::Null
                } else {
                    Record::NullElement
                });
            } else if outcome.is_none() {
                // Levels below the maximum store no value: skip them in the value index.
                let absent: usize = p
                    .short
                    .iter()
                    .filter(|&&(s, _, _)| s < a)
                    .map(|&(s, l, _)| l.min(a - s))
                    .sum();
                let buf: &[u8] = p.page.buffer();
                let from = p.values_start + 4 * (a - absent);
                let n = b - a;
                if len < dest.len() {
                    let m = n.min(dest.len() - len);
                    for (d, s) in dest[len..len + m]
                        .iter_mut()
                        .zip(buf[from..from + 4 * m].chunks_exact(4))
                    {
                        *d = f32::from_le_bytes(s.try_into().expect("4 bytes"));
                    }
                }
                len += n;
            }
            p.pos = b;
            if b < p.levels {
                return Ok(Some(outcome.unwrap_or(Record::Values(len))));
            }
        }
    }
}

/// Bits needed for levels up to `max`.
fn bit_width(max: u16) -> u8 {
    (16 - max.leading_zeros()) as u8
}

/// Decodes `count` values of the RLE / bit-packing hybrid encoding with the given bit
/// width, calling `run(start, len, value)` for each run (bit-packed values come one by
/// one). Layout (Parquet `Encodings.md`): a ULEB128 header; low bit 0 = an RLE run of
/// `header >> 1` copies of a value stored in ceil(width / 8) little-endian bytes; low
/// bit 1 = `header >> 1` groups of 8 values bit-packed LSB first, `width` bytes a group.
fn rle_hybrid_runs(
    data: &[u8],
    width: u8,
    count: usize,
    mut run: impl FnMut(usize, usize, u16),
) -> std::result::Result<(), String> {
    let mut at = 0usize;
    let mut i = 0usize;
    while i < count {
        let mut header = 0u64;
        let mut shift = 0;
        loop {
            let byte = *data.get(at).ok_or("truncated run header")?;
            at += 1;
            header |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err("run header too long".into());
            }
        }
        if header & 1 == 0 {
            let len = (header >> 1) as usize;
            let nbytes = (width as usize).div_ceil(8);
            let bytes = data.get(at..at + nbytes).ok_or("truncated run value")?;
            at += nbytes;
            let v = bytes
                .iter()
                .rev()
                .fold(0u16, |acc, &b| (acc << 8) | b as u16);
            let len = len.min(count - i);
            if len > 0 {
                run(i, len, v);
            }
            i += len;
        } else {
            let groups = (header >> 1) as usize;
            // Writers may leave out the padding bytes of a last, partly filled group.
            let used = (groups * 8).min(count - i);
            let needed = (used * width as usize).div_ceil(8);
            let nbytes = (groups * width as usize).min(data.len().saturating_sub(at));
            if nbytes < needed {
                return Err("truncated bit-packed run".into());
            }
            let bytes = &data[at..at + nbytes];
            at += nbytes;
            let mask = (1u32 << width) - 1;
            for k in 0..groups * 8 {
                if i >= count {
                    break;
                }
                let bit = k * width as usize;
                let (byte, off) = (bit / 8, bit % 8);
                let word = bytes[byte] as u32
                    | bytes.get(byte + 1).map_or(0, |&b| (b as u32) << 8)
                    | bytes.get(byte + 2).map_or(0, |&b| (b as u32) << 16);
                run(i, 1, ((word >> off) & mask) as u16);
                i += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(data: &[u8], width: u8, count: usize) -> Vec<u16> {
        let mut out = vec![u16::MAX; count];
        rle_hybrid_runs(data, width, count, |a, l, v| out[a..a + l].fill(v)).unwrap();
        out
    }

    #[test]
    fn decodes_the_specifications_examples() {
        // Parquet Encodings.md, bit-packed example: values 0..7 with bit width 3 are
        // the bytes 10001000 11000110 11111010 (one group: header (1 << 1) | 1 = 3).
        assert_eq!(
            decode(&[0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010], 3, 8),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        // An RLE run: 300 copies of 1 with width 1: header 300 << 1 = 600 as ULEB128 =
        // 0xD8 0x04, then one value byte.
        assert_eq!(decode(&[0xD8, 0x04, 0x01], 1, 300), vec![1; 300]);
        // The repetition levels arrow-rs writes for two records of 2,000 and 1,000
        // values (read from a synth-grads file): one bit-packed group 0,1,...,1, an RLE
        // run of 1,992 ones (header 3,984 = 0x90 0x1F), a group 0,1,..,1, 992 ones.
        let mut want = vec![1u16; 3000];
        want[0] = 0;
        want[2000] = 0;
        assert_eq!(
            decode(&[3, 254, 0x90, 0x1F, 1, 3, 254, 0xC0, 0x0F, 1], 1, 3000),
            want
        );
        // Runs and groups longer than the count are cut to it.
        assert_eq!(decode(&[0x0A, 0x02], 2, 3), vec![2, 2, 2]);
    }

    #[test]
    fn truncated_levels_are_errors() {
        assert!(rle_hybrid_runs(&[0x03, 0xff], 3, 8, |_, _, _| {}).is_err());
        // ... but a last group may stop after the bytes its values need.
        assert!(rle_hybrid_runs(&[0x03, 0xff], 3, 2, |_, _, _| {}).is_ok());
        assert!(rle_hybrid_runs(&[0x80], 1, 1, |_, _, _| {}).is_err());
        assert!(rle_hybrid_runs(&[], 1, 1, |_, _, _| {}).is_err());
    }

    /// A v1 data page: RLE runs of repetition and definition levels (bit width 1 and
    /// `def_width`), then PLAIN floats.
    fn page(rep: &[(u16, usize)], def: &[(u16, usize)], def_width: u8, values: &[f32]) -> Page {
        fn runs(r: &[(u16, usize)], width: u8) -> Vec<u8> {
            let mut out = Vec::new();
            for &(v, n) in r {
                let mut h = (n as u64) << 1;
                loop {
                    let b = (h & 0x7f) as u8;
                    h >>= 7;
                    out.push(if h > 0 { b | 0x80 } else { b });
                    if h == 0 {
                        break;
                    }
                }
                out.extend(&v.to_le_bytes()[..(width as usize).div_ceil(8)]);
            }
            out
        }
        let mut buf = Vec::new();
        for (r, w) in [(rep, 1), (def, def_width)] {
            let enc = runs(r, w);
            buf.extend((enc.len() as u32).to_le_bytes());
            buf.extend(enc);
        }
        for v in values {
            buf.extend(v.to_le_bytes());
        }
        Page::DataPage {
            buf: buf.into(),
            num_values: rep.iter().map(|r| r.1).sum::<usize>() as u32,
            encoding: Encoding::PLAIN,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        }
    }

    #[test]
    fn records_continue_across_pages() {
        // Records of 5, 3 and 1 values over four pages, split mid-record twice:
        // [a0 a1 a2] [a3 a4 | b0 b1] [b2] [c0]. Non-null list of non-null floats:
        // max definition level 1.
        let v: Vec<f32> = (0..9).map(|i| i as f32 + 0.5).collect();
        let pages = vec![
            page(&[(0, 1), (1, 2)], &[(1, 3)], 1, &v[0..3]),
            page(&[(1, 2), (0, 1), (1, 1)], &[(1, 4)], 1, &v[3..7]),
            page(&[(1, 1)], &[(1, 1)], 1, &v[7..8]),
            page(&[(0, 1)], &[(1, 1)], 1, &v[8..9]),
        ];
        let mut r = ValuesPageDecoder::from_pages(pages, 1, None, 0);
        let mut dest = [0f32; 5];
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(5)));
        assert_eq!(dest, [0.5, 1.5, 2.5, 3.5, 4.5]);
        let mut dest = [0f32; 3];
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(3)));
        assert_eq!(dest, [5.5, 6.5, 7.5]);
        // A too-short destination: the length is still counted.
        let mut dest = [0f32; 0];
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(1)));
        assert_eq!(r.next_record(&mut dest).unwrap(), None);
    }

    #[test]
    fn null_lists_empty_lists_and_null_elements() {
        // A nullable list of nullable floats: definition 0 = null list, 1 = empty list,
        // 2 = null element, 3 = value. Records: [1.5], null, [], [3.5], [2.5, null].
        let pages = vec![page(
            &[(0, 1), (0, 1), (0, 1), (0, 1), (0, 1), (1, 1)],
            &[(3, 1), (0, 1), (1, 1), (3, 1), (3, 1), (2, 1)],
            2,
            &[1.5, 3.5, 2.5],
        )];
        let mut r = ValuesPageDecoder::from_pages(pages, 3, Some(0), 1);
        let mut dest = [0f32; 2];
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(1)));
        assert_eq!(dest[0], 1.5);
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Null));
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(0)));
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::Values(1)));
        assert_eq!(dest[0], 3.5);
        assert_eq!(r.next_record(&mut dest).unwrap(), Some(Record::NullElement));
    }

    #[test]
    fn a_page_that_continues_nothing_is_an_error() {
        let pages = vec![page(&[(1, 2)], &[(1, 2)], 1, &[1.0, 2.0])];
        let mut r = ValuesPageDecoder::from_pages(pages, 1, None, 0);
        assert!(r.next_record(&mut [0.0; 2]).is_err());
    }

    #[test]
    fn bit_widths() {
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(2), 2);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(4), 3);
    }
}
