//! The gradient matrix as an Arrow IPC stream, with each gradient's floats moved once.
//!
//! A gradient stream carries one record batch per sample, and the floats of its `values`
//! column are nearly all of it (2.5 MB for `fnn`, against under 1 KiB for the other
//! columns and the message header). arrow-rs handles them like any buffer: its
//! `StreamWriter` copies every buffer into one message body before writing it, and its
//! `StreamReader` reads each body into a freshly zeroed allocation, which the gradient
//! reader then copies out of. On a 2-core machine running `dump-grads | vmf-kappa` those
//! three extra passes over 7.6 GB (3,000 `fnn` gradients) compete with the pipe's own two
//! copies in the kernel for the core `dump-grads` is not using. So both ends here treat
//! the floats apart, and arrow-rs still encodes and decodes everything else:
//!
//! - [`SampleEncoder`] writes a sample's record batch message, byte for byte the message
//!   arrow-rs's `StreamWriter` writes (IPC format V5, buffers padded to 64 bytes; tested
//!   below), with the floats written from the caller's slice in the same system call as
//!   the rest (`writev`);
//! - [`StreamSource`] reads a stream message by message (the IPC format's framing:
//!   continuation marker, metadata length, flatbuffer `Message`, body), reads the float
//!   buffer of `values` straight into a reusable `Vec<f32>` ([`StreamSource::landed`]) and
//!   the rest of the body into a reused buffer that arrow-rs decodes without copying
//!   (`read_record_batch`). In the decoded batch the float array is a view of that
//!   buffer's stale bytes where the floats would have been: its length, offsets and
//!   validity are right, its values are in `landed`. Compressed bodies, and schemas
//!   whose buffers this module does not count, are read whole and decoded by arrow-rs
//!   alone (then `landed` is `None`).
//!
//! Reference: the Arrow columnar format's IPC section (encapsulated messages, record
//! batch body layout: one validity and one data buffer per primitive array, validity,
//! offsets and then the child for a list, each buffer padded to the body's alignment).

use arrow::array::ArrayRef;
use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::convert::fb_to_schema;
use arrow::ipc::reader::{read_dictionary, read_record_batch};
use arrow::ipc::{
    root_as_message, Buffer as BufferSpec, FieldNode, MessageBuilder, MessageHeader,
    MetadataVersion, RecordBatchBuilder,
};
use arrow::record_batch::RecordBatch;
use std::collections::HashMap;
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::sync::Arc;

/// Body buffers are padded to this many bytes, as arrow-rs's writer does by default.
const ALIGNMENT: usize = 64;

/// The marker before each message's metadata length (IPC format 0.15 and later).
const CONTINUATION: [u8; 4] = [0xff; 4];

const PADDING: [u8; ALIGNMENT] = [0; ALIGNMENT];

fn padded(len: usize) -> usize {
    len.div_ceil(ALIGNMENT) * ALIGNMENT
}

/// Writes the record batch message of one sample of a gradient matrix: columns `step`
/// (u64), `sample` (u32), `tensor` (dictionary key i32 into the layout's names),
/// `values` (list of f32), `loss` (f64), `batch_size` (u32), one row per tensor, none
/// null: the schema of [`crate::grad_matrix::grad_schema`]. The dictionary of tensor
/// names must already be in the stream (arrow-rs's `StreamWriter` sends it with the
/// first batch).
#[derive(Debug)]
pub struct SampleEncoder {
    rows: usize,
    dim: usize,
    /// The message up to its body: the same for every sample, since every buffer's
    /// length is fixed by the layout.
    header: Vec<u8>,
    /// Validity bitmaps (all valid) of a column and of the floats, the dictionary keys
    /// and the list offsets, as bytes: fixed by the layout too.
    valid_rows: Vec<u8>,
    valid_values: Vec<u8>,
    keys: Vec<u8>,
    offsets: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// Appends `bytes` and the padding that ends them on the body's alignment.
fn push_padded(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.extend_from_slice(&PADDING[..padded(bytes.len()) - bytes.len()]);
}

impl SampleEncoder {
    /// An encoder for samples with the list offsets `offsets` (0, then the end of each
    /// tensor in layout order).
    pub fn new(offsets: &[i32]) -> Self {
        let rows = offsets.len() - 1;
        let dim = *offsets.last().expect("offsets start at 0") as usize;
        let mut me = Self {
            rows,
            dim,
            header: Vec::new(),
            valid_rows: vec![0xff; rows.div_ceil(8)],
            valid_values: vec![0xff; dim.div_ceil(8)],
            keys: (0..rows as i32).flat_map(|k| k.to_le_bytes()).collect(),
            offsets: offsets.iter().flat_map(|o| o.to_le_bytes()).collect(),
            head: Vec::new(),
            tail: Vec::new(),
        };
        // The buffers' lengths, from the body of any sample.
        let columns = me.columns(0, 0, 0.0, 0);
        let (before, after) = me.buffers(&columns);
        let mut specs = Vec::with_capacity(before.len() + 1 + after.len());
        let mut offset = 0usize;
        let lengths = before.iter().map(|b| b.len());
        for len in lengths
            .chain([4 * dim])
            .chain(after.iter().map(|b| b.len()))
        {
            specs.push(BufferSpec::new(offset as i64, len as i64));
            offset += padded(len);
        }
        let nodes: Vec<FieldNode> = [rows, rows, rows, rows, dim, rows, rows]
            .iter()
            .map(|&n| FieldNode::new(n as i64, 0))
            .collect();
        // Built in the order arrow-rs builds it, so the flatbuffer is the same bytes.
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let buffers = fbb.create_vector(&specs);
        let nodes = fbb.create_vector(&nodes);
        let batch = {
            let mut b = RecordBatchBuilder::new(&mut fbb);
            b.add_length(rows as i64);
            b.add_nodes(nodes);
            b.add_buffers(buffers);
            b.finish().as_union_value()
        };
        let mut message = MessageBuilder::new(&mut fbb);
        message.add_version(MetadataVersion::V5);
        message.add_header_type(MessageHeader::RecordBatch);
        message.add_bodyLength(offset as i64);
        message.add_header(batch);
        let message = message.finish();
        fbb.finish(message, None);
        let flatbuffer = fbb.finished_data();
        let meta_len = padded(flatbuffer.len() + 8) - 8;
        let mut header = CONTINUATION.to_vec();
        header.extend_from_slice(&(meta_len as i32).to_le_bytes());
        header.extend_from_slice(flatbuffer);
        header.resize(8 + meta_len, 0);
        me.header = header;
        me
    }

    /// A sample's own columns, as bytes: step, sample, loss, batch size, once per row.
    fn columns(&self, step: u64, sample: u32, loss: f64, batch_size: u32) -> [Vec<u8>; 4] {
        let t = self.rows;
        [
            step.to_le_bytes().repeat(t),
            sample.to_le_bytes().repeat(t),
            loss.to_le_bytes().repeat(t),
            batch_size.to_le_bytes().repeat(t),
        ]
    }

    /// The body's buffers before and after the floats, in the order of the format:
    /// validity then data for each column; validity, offsets, and the child's validity
    /// (then its data, the floats) for the list.
    fn buffers<'a>(&'a self, c: &'a [Vec<u8>; 4]) -> ([&'a [u8]; 9], [&'a [u8]; 4]) {
        let v = self.valid_rows.as_slice();
        (
            [
                v,
                &c[0],
                v,
                &c[1],
                v,
                &self.keys,
                v,
                &self.offsets,
                &self.valid_values,
            ],
            [v, &c[2], v, &c[3]],
        )
    }

    /// Writes one sample's message to `out`, whose buffered bytes must have been flushed:
    /// the header and the small columns, then `values` from the caller's slice, then the
    /// last small columns, in one `writev` where the output takes it whole.
    pub fn write<W: Write>(
        &mut self,
        out: &mut W,
        step: u64,
        sample: u32,
        loss: f64,
        batch_size: u32,
        values: &[f32],
    ) -> std::io::Result<()> {
        assert_eq!(values.len(), self.dim, "sample length");
        let floats: &[u8] = bytemuck::cast_slice(values);
        // The reused buffers are taken out while `self`'s fixed buffers are borrowed.
        let (mut head, mut tail) = (
            std::mem::take(&mut self.head),
            std::mem::take(&mut self.tail),
        );
        let columns = self.columns(step, sample, loss, batch_size);
        let (before, after) = self.buffers(&columns);
        head.clear();
        head.extend_from_slice(&self.header);
        before.iter().for_each(|b| push_padded(&mut head, b));
        tail.clear();
        tail.extend_from_slice(&PADDING[..padded(floats.len()) - floats.len()]);
        after.iter().for_each(|b| push_padded(&mut tail, b));
        let written = write_all_vectored(
            out,
            &mut [
                IoSlice::new(&head),
                IoSlice::new(floats),
                IoSlice::new(&tail),
            ],
        );
        (self.head, self.tail) = (head, tail);
        written
    }
}

/// `Write::write_all` for several slices (the standard library's is not stable yet).
fn write_all_vectored<W: Write>(out: &mut W, mut bufs: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Buffers of one array of `dt` in a record batch body, children included; None for the
/// types this module does not count (then bodies are decoded by arrow-rs alone).
fn buffer_count(dt: &DataType) -> Option<usize> {
    match dt {
        DataType::Boolean | DataType::FixedSizeBinary(_) | DataType::Dictionary(..) => Some(2),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => Some(3),
        DataType::List(f) | DataType::LargeList(f) => Some(2 + buffer_count(f.data_type())?),
        dt if dt.is_primitive() => Some(2),
        _ => None,
    }
}

/// Index of the float buffer of the list column `values` among a record batch's
/// buffers, when the schema's buffers can be counted up to it.
fn float_buffer_index(schema: &Schema) -> Option<usize> {
    let mut index = 0;
    for field in schema.fields() {
        if field.name() == "values" {
            return match field.data_type() {
                DataType::List(item) | DataType::LargeList(item)
                    if item.data_type() == &DataType::Float32 =>
                {
                    Some(index + 3)
                }
                _ => None,
            };
        }
        index += buffer_count(field.data_type())?;
    }
    None
}

/// A reader of an Arrow IPC stream that lands the floats of `values` apart (see the
/// module documentation).
///
/// Hostile input: no length field in the stream is trusted for an allocation. Message
/// headers, bodies and floats are read into buffers that grow only as the bytes arrive
/// (at most twice what has been read, plus [`GROW_BYTES`]), so a header that announces
/// 2 GiB costs at most a few MiB before the stream's end shows it was a lie. Every
/// buffer a record batch or dictionary header names is checked to lie inside the body
/// before arrow-rs slices it (arrow-rs panics otherwise), and arrow-rs validates the
/// arrays it builds. A stream must end with its end-of-stream marker, and nothing may
/// follow it: a stream cut between two messages (a producer that died) or two streams
/// run together are errors, not a quiet partial read.
pub struct StreamSource<R> {
    input: R,
    schema: SchemaRef,
    dictionaries: HashMap<i64, ArrayRef>,
    floats_at: Option<usize>,
    /// Whether the floats are landed apart (off while a reader looks ahead).
    land: bool,
    meta: Vec<u8>,
    /// The last body, handed to arrow-rs; taken back for the next message once the
    /// batches decoded from it are gone.
    body: Option<Buffer>,
    landed: Vec<f32>,
    has_landed: bool,
    done: bool,
}

impl<R> std::fmt::Debug for StreamSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSource")
            .field("floats_at", &self.floats_at)
            .finish()
    }
}

fn ipc_error(what: impl Into<String>) -> ArrowError {
    ArrowError::IpcError(what.into())
}

/// Resizes `v` to `n` elements, reserving fallibly, so that a corrupt length in a
/// stream is an error naming `what` rather than an abort.
fn resize<T: Clone + Default>(v: &mut Vec<T>, n: usize, what: &str) -> Result<(), ArrowError> {
    v.try_reserve_exact(n.saturating_sub(v.len()))
        .map_err(|_| ipc_error(format!("cannot hold {what}")))?;
    v.resize(n, T::default());
    Ok(())
}

/// The error on a Parquet file where a stream was expected.
pub const PARQUET_ON_A_PIPE: &str =
    "this is a Parquet file, which cannot be read from a pipe: pass its path instead of `-`";

/// How far a buffer grows ahead of the bytes read into it (bytes).
pub const GROW_BYTES: usize = 1 << 20;

/// Reads bytes `from..to` of `v` (seen as bytes) from `input`, growing `v` only as the
/// bytes arrive: never to more than twice the bytes read so far plus [`GROW_BYTES`]. A
/// buffer already long enough is read into directly.
fn read_growing<T: bytemuck::Pod + Default, R: Read>(
    input: &mut R,
    v: &mut Vec<T>,
    from: usize,
    to: usize,
    what: &str,
) -> Result<(), ArrowError> {
    let size = std::mem::size_of::<T>();
    let mut at = from;
    while at < to {
        let target = if v.len() * size >= to {
            to
        } else {
            to.min(at.saturating_mul(2).max(at + GROW_BYTES))
        };
        if v.len() * size < target {
            resize(v, target.div_ceil(size), what)?;
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut v[..]);
        input
            .read_exact(&mut bytes[at..target])
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => {
                    ipc_error(format!("the stream ends inside {what} (truncated?)"))
                }
                _ => e.into(),
            })?;
        at = target;
    }
    Ok(())
}

/// Checks that every buffer a message header names lies inside its body of `body_len`
/// bytes, and that every node's length and null count are plausible, before arrow-rs
/// slices the body (`Buffer::slice_with_length` panics on a buffer past the end).
fn check_buffers(
    buffers: Option<flatbuffers::Vector<'_, BufferSpec>>,
    nodes: Option<flatbuffers::Vector<'_, FieldNode>>,
    body_len: usize,
) -> Result<(), ArrowError> {
    for (i, b) in buffers.iter().flatten().enumerate() {
        let (o, l) = (b.offset(), b.length());
        let inside = o >= 0
            && l >= 0
            && (o as u64)
                .checked_add(l as u64)
                .is_some_and(|end| end <= body_len as u64);
        if !inside {
            return Err(ipc_error(format!(
                "buffer {i} of a message (offset {o}, length {l}) lies outside its body of {body_len} bytes"
            )));
        }
    }
    for (i, n) in nodes.iter().flatten().enumerate() {
        if n.length() < 0 || n.null_count() < 0 || n.null_count() > n.length() {
            return Err(ipc_error(format!(
                "array {i} of a message has length {} and null count {}",
                n.length(),
                n.null_count()
            )));
        }
    }
    Ok(())
}

impl<R: Read> StreamSource<R> {
    /// Reads the stream's schema message.
    pub fn try_new(input: R) -> Result<Self, ArrowError> {
        let mut me = Self {
            input,
            schema: Arc::new(Schema::empty()),
            dictionaries: HashMap::new(),
            floats_at: None,
            land: true,
            meta: Vec::new(),
            body: None,
            landed: Vec::new(),
            has_landed: false,
            done: false,
        };
        let mut word = [0u8; 4];
        match me.read_word(&mut word)? {
            false => {
                return Err(ipc_error(
                    "expected a schema message, found an empty stream",
                ))
            }
            true if &word == b"PAR1" => return Err(ipc_error(PARQUET_ON_A_PIPE)),
            true => {}
        }
        if !me.read_meta_after(word)? {
            return Err(ipc_error(
                "expected a schema message, found the end-of-stream marker",
            ));
        }
        let message = root_as_message(&me.meta)
            .map_err(|e| ipc_error(format!("unreadable message header: {e}")))?;
        let schema = message
            .header_as_schema()
            .ok_or_else(|| ipc_error("the stream does not start with a schema message"))?;
        me.schema = Arc::new(fb_to_schema(schema));
        me.floats_at = float_buffer_index(&me.schema);
        if message.bodyLength() != 0 {
            return Err(ipc_error("a schema message with a body"));
        }
        Ok(me)
    }

    /// The stream's schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Whether the floats of `values` are landed apart (the default) or left to arrow-rs
    /// in the batch (for batches a reader holds on to while it reads further).
    pub fn set_landing(&mut self, on: bool) {
        self.land = on;
    }

    /// The floats of the `values` column of the batch last returned, when they were read
    /// apart (the batch's own float array then holds stale bytes).
    pub fn landed(&self) -> Option<&[f32]> {
        self.has_landed.then_some(self.landed.as_slice())
    }

    /// Swaps the landed floats into `values` (no copy); afterwards [`Self::landed`] is
    /// None until the next batch, whose floats land in `values`' old allocation.
    pub fn take_landed(&mut self, values: &mut Vec<f32>) -> bool {
        if !self.has_landed {
            return false;
        }
        std::mem::swap(values, &mut self.landed);
        self.has_landed = false;
        true
    }

    /// Reads 4 bytes; false when the input ends before the first of them.
    fn read_word(&mut self, word: &mut [u8; 4]) -> Result<bool, ArrowError> {
        let mut got = 0;
        while got < 4 {
            match self.input.read(&mut word[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(ipc_error(
                        "the stream ends inside a message's length (truncated?)",
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    /// Reads the next message's metadata into `self.meta`; false at the end-of-stream
    /// marker. The input's end where a message should start is an error (a stream must
    /// end with its marker), and so is anything after the marker.
    fn read_meta(&mut self) -> Result<bool, ArrowError> {
        let mut word = [0u8; 4];
        if !self.read_word(&mut word)? {
            return Err(ipc_error(
                "the stream ends without its end-of-stream marker (was the producer interrupted?)",
            ));
        }
        self.read_meta_after(word)
    }

    /// `read_meta` after its first word.
    fn read_meta_after(&mut self, mut word: [u8; 4]) -> Result<bool, ArrowError> {
        if word == CONTINUATION && !self.read_word(&mut word)? {
            return Err(ipc_error(
                "the stream ends inside a message's length (truncated?)",
            ));
        }
        let len = i32::from_le_bytes(word);
        if len < 0 {
            return Err(ipc_error(format!("negative message length {len}")));
        }
        if len == 0 {
            let mut more = [0u8; 1];
            loop {
                match self.input.read(&mut more) {
                    Ok(0) => return Ok(false),
                    Ok(_) => {
                        return Err(ipc_error(
                            "bytes follow the end-of-stream marker (two streams run together, or garbage?)",
                        ))
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let len = len as usize;
        self.meta.clear();
        read_growing(
            &mut self.input,
            &mut self.meta,
            0,
            len,
            &format!("a message header of {len} bytes"),
        )?;
        self.meta.truncate(len);
        Ok(true)
    }

    /// The last body's buffer when nothing else holds it (reused without zeroing), else
    /// an empty one; grown by [`read_growing`] as the body arrives.
    fn body_words(&mut self) -> Vec<u64> {
        self.body
            .take()
            .and_then(|b| b.into_vec::<u64>().ok())
            .unwrap_or_default()
    }

    /// The next record batch; None at the end of the stream. Dictionary batches on the way
    /// are read into the dictionaries.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        self.has_landed = false;
        while !self.done {
            if !self.read_meta()? {
                self.done = true;
                break;
            }
            let meta = std::mem::take(&mut self.meta);
            let result = self.decode(&meta);
            self.meta = meta;
            if let Some(batch) = result? {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }

    /// Reads the body of the message `meta` and decodes it: a record batch, or None
    /// after a dictionary batch.
    fn decode(&mut self, meta: &[u8]) -> Result<Option<RecordBatch>, ArrowError> {
        let message = root_as_message(meta)
            .map_err(|e| ipc_error(format!("unreadable message header: {e}")))?;
        let body_len = usize::try_from(message.bodyLength())
            .map_err(|_| ipc_error(format!("negative body length {}", message.bodyLength())))?;
        let version = message.version();
        match message.header_type() {
            MessageHeader::RecordBatch => {
                let batch = message
                    .header_as_record_batch()
                    .ok_or_else(|| ipc_error("unreadable record batch header"))?;
                check_buffers(batch.buffers(), batch.nodes(), body_len)?;
                let floats = self
                    .floats_at
                    .filter(|_| self.land && batch.compression().is_none())
                    .and_then(|i| batch.buffers().filter(|b| i < b.len()).map(|b| b.get(i)))
                    .map(|b| (b.offset(), b.length()))
                    .filter(|&(o, l)| o >= 0 && l >= 0 && l % 4 == 0)
                    .map(|(o, l)| (o as usize, l as usize))
                    .filter(|&(o, l)| o.checked_add(l).is_some_and(|end| end <= body_len));
                let mut words = self.body_words();
                let what = format!("a message body of {body_len} bytes");
                match floats {
                    Some((at, len)) => {
                        read_growing(&mut self.input, &mut words, 0, at, &what)?;
                        if self.landed.len() > len / 4 {
                            self.landed.truncate(len / 4);
                        }
                        read_growing(&mut self.input, &mut self.landed, 0, len, &what)?;
                        self.landed.truncate(len / 4);
                        // The floats' place in the body stays stale (see the module docs).
                        if words.len() * 8 < at + len {
                            resize(&mut words, (at + len).div_ceil(8), &what)?;
                        }
                        read_growing(&mut self.input, &mut words, at + len, body_len, &what)?;
                    }
                    None => read_growing(&mut self.input, &mut words, 0, body_len, &what)?,
                }
                if words.len() * 8 < body_len {
                    resize(&mut words, body_len.div_ceil(8), &what)?;
                }
                let root = Buffer::from_vec(words);
                let decoded = read_record_batch(
                    &root.slice_with_length(0, body_len),
                    batch,
                    self.schema.clone(),
                    &self.dictionaries,
                    None,
                    &version,
                );
                self.body = Some(root);
                let decoded = decoded?;
                self.has_landed = floats.is_some();
                Ok(Some(decoded))
            }
            MessageHeader::DictionaryBatch => {
                let dict = message
                    .header_as_dictionary_batch()
                    .ok_or_else(|| ipc_error("unreadable dictionary batch header"))?;
                let data = dict
                    .data()
                    .ok_or_else(|| ipc_error("a dictionary batch without data"))?;
                check_buffers(data.buffers(), data.nodes(), body_len)?;
                // Not the reused body: the dictionary keeps its buffer.
                let mut words: Vec<u64> = Vec::new();
                let what = format!("a dictionary body of {body_len} bytes");
                read_growing(&mut self.input, &mut words, 0, body_len, &what)?;
                resize(&mut words, body_len.div_ceil(8), &what)?;
                let buf = Buffer::from_vec(words).slice_with_length(0, body_len);
                read_dictionary(&buf, dict, &self.schema, &mut self.dictionaries, &version)?;
                Ok(None)
            }
            MessageHeader::Schema => Err(ipc_error(
                "a second schema message where a record batch was expected",
            )),
            other => Err(ipc_error(format!(
                "unsupported message type {other:?} in an IPC stream"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad_matrix::{grad_schema, layout_from_shapes};
    use crate::provenance::Provenance;
    use arrow::array::{AsArray, Float32Array};
    use arrow::datatypes::Float32Type;
    use arrow::ipc::reader::StreamReader;
    use arrow::ipc::writer::StreamWriter;
    use std::io::Cursor;

    fn sample_values(s: u32, dim: usize) -> Vec<f32> {
        (0..dim)
            .map(|i| (s as f32 + 1.0) * (i as f32 - 3.5))
            .collect()
    }

    /// A stream of `n` samples of the layout `shapes` written entirely by arrow-rs's
    /// `StreamWriter` (the writer this module replaces after the first sample).
    fn arrow_stream(shapes: &[(&str, Vec<usize>)], n: u32) -> Vec<u8> {
        arrow_stream_in_batches(shapes, n, 1)
    }

    /// As `arrow_stream`, `per_batch` samples to a record batch.
    fn arrow_stream_in_batches(shapes: &[(&str, Vec<usize>)], n: u32, per_batch: u32) -> Vec<u8> {
        let mut meta = Provenance::new("gradient-matrix", "test");
        meta.layout = layout_from_shapes(shapes);
        let dim = meta.dim();
        let schema = grad_schema(HashMap::from([(
            crate::METADATA_KEY.to_string(),
            meta.to_json(),
        )]));
        let names: ArrayRef = Arc::new(arrow::array::StringArray::from_iter_values(
            meta.layout.iter().map(|t| t.name.as_str()),
        ));
        let t = meta.layout.len();
        let mut offsets = vec![0i32];
        for l in &meta.layout {
            offsets.push((l.offset + l.numel) as i32);
        }
        let mut out = Vec::new();
        let mut w = StreamWriter::try_new(&mut out, &schema).unwrap();
        let mut pending = Vec::new();
        for s in 0..n {
            let keys = arrow::array::Int32Array::from_iter_values(0..t as i32);
            let list = arrow::array::ListArray::try_new(
                Arc::new(arrow::datatypes::Field::new(
                    "item",
                    DataType::Float32,
                    false,
                )),
                arrow::buffer::OffsetBuffer::new(offsets.clone().into()),
                Arc::new(Float32Array::from(sample_values(s, dim))),
                None,
            )
            .unwrap();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(arrow::array::UInt64Array::from(vec![7 + s as u64; t])),
                Arc::new(arrow::array::UInt32Array::from(vec![s; t])),
                Arc::new(
                    arrow::array::DictionaryArray::<arrow::datatypes::Int32Type>::try_new(
                        keys,
                        names.clone(),
                    )
                    .unwrap(),
                ),
                Arc::new(list),
                Arc::new(arrow::array::Float64Array::from(vec![0.25 * s as f64; t])),
                Arc::new(arrow::array::UInt32Array::from(vec![64; t])),
            ];
            pending.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
            if pending.len() == per_batch as usize || s + 1 == n {
                w.write(&arrow::compute::concat_batches(&schema, &pending).unwrap())
                    .unwrap();
                pending.clear();
            }
        }
        w.finish().unwrap();
        out
    }

    /// The same stream with samples after the first encoded by `SampleEncoder`.
    fn encoded_stream(shapes: &[(&str, Vec<usize>)], n: u32) -> Vec<u8> {
        let first = arrow_stream(shapes, 1);
        let mut out = first[..first.len() - 8].to_vec(); // without the end-of-stream marker
        let mut meta = Provenance::new("gradient-matrix", "test");
        meta.layout = layout_from_shapes(shapes);
        let mut offsets = vec![0i32];
        for l in &meta.layout {
            offsets.push((l.offset + l.numel) as i32);
        }
        let mut enc = SampleEncoder::new(&offsets);
        for s in 1..n {
            let v = sample_values(s, meta.dim());
            enc.write(&mut out, 7 + s as u64, s, 0.25 * s as f64, 64, &v)
                .unwrap();
        }
        out.extend_from_slice(&first[first.len() - 8..]);
        out
    }

    #[test]
    fn encoded_samples_are_the_bytes_arrow_writes() {
        // Layouts with odd sizes exercise every padding: 1 to 9 tensors, dims not
        // multiples of 8 or 16.
        let layouts: Vec<Vec<(&str, Vec<usize>)>> = vec![
            vec![("w", vec![3, 5])],
            vec![("w", vec![2, 3]), ("b", vec![2])],
            vec![
                ("a", vec![17]),
                ("b", vec![1]),
                ("c", vec![64, 3]),
                ("d", vec![5]),
            ],
            ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
                .iter()
                .map(|&n| (n, vec![11]))
                .collect(),
        ];
        for shapes in &layouts {
            assert_eq!(
                arrow_stream(shapes, 4),
                encoded_stream(shapes, 4),
                "{shapes:?}"
            );
        }
    }

    /// Reads every batch with `StreamSource`, replacing the float array by the landed floats.
    fn read_landed(bytes: &[u8]) -> Vec<(RecordBatch, Vec<f32>)> {
        let mut src = StreamSource::try_new(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        while let Some(b) = src.next_batch().unwrap() {
            let floats = src.landed().expect("floats read apart").to_vec();
            out.push((b, floats));
        }
        out
    }

    #[test]
    fn landed_floats_and_other_columns_are_what_arrow_reads() {
        let shapes = vec![("w", vec![2, 3]), ("b", vec![2])];
        let bytes = encoded_stream(&shapes, 5);
        let reference: Vec<RecordBatch> = StreamReader::try_new(Cursor::new(&bytes), None)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let ours = read_landed(&bytes);
        assert_eq!(ours.len(), 5);
        for ((b, floats), r) in ours.iter().zip(&reference) {
            let r_values = r
                .column(3)
                .as_list::<i32>()
                .values()
                .as_primitive::<Float32Type>();
            assert_eq!(floats.as_slice(), r_values.values().as_ref());
            for c in [0, 1, 2, 4, 5] {
                assert_eq!(b.column(c).as_ref(), r.column(c).as_ref(), "column {c}");
            }
            let list = b.column(3).as_list::<i32>();
            assert_eq!(
                list.value_offsets(),
                r.column(3).as_list::<i32>().value_offsets()
            );
            assert_eq!(list.values().len(), floats.len());
        }
    }

    #[test]
    fn landed_floats_are_each_samples_values() {
        let bytes = encoded_stream(&[("w", vec![4, 4]), ("b", vec![4])], 3);
        let ours = read_landed(&bytes);
        assert_eq!(ours.len(), 3);
        for (s, (b, floats)) in ours.iter().enumerate() {
            assert_eq!(floats, &sample_values(s as u32, 20));
            assert_eq!(b.num_rows(), 2);
        }
    }

    /// Every sample GradReader reads from a stream file of `bytes`.
    fn grad_reader_samples(bytes: &[u8]) -> Vec<crate::Sample> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.arrows");
        std::fs::write(&path, bytes).unwrap();
        let mut reader = crate::GradReader::open(&path).unwrap();
        let mut out = Vec::new();
        let mut s = crate::Sample::default();
        while reader.next_sample(&mut s).unwrap() {
            out.push(s.clone());
        }
        out
    }

    #[test]
    fn the_gradient_reader_reads_samples_one_or_several_to_a_batch() {
        let shapes = [("w", vec![3, 7]), ("b", vec![3]), ("v", vec![5])];
        // One sample a batch (floats swapped into place), and 1, 2 or 3 samples a batch
        // written by arrow-rs (floats copied out of the landed buffer).
        let streams = [
            encoded_stream(&shapes, 5),
            arrow_stream_in_batches(&shapes, 5, 1),
            arrow_stream_in_batches(&shapes, 5, 2),
            arrow_stream_in_batches(&shapes, 5, 3),
        ];
        for (i, bytes) in streams.iter().enumerate() {
            let samples = grad_reader_samples(bytes);
            assert_eq!(samples.len(), 5, "stream {i}");
            for (s, got) in samples.iter().enumerate() {
                let s = s as u32;
                assert_eq!(got.values, sample_values(s, 29), "stream {i} sample {s}");
                assert_eq!((got.step, got.sample), (7 + s as u64, s));
                assert_eq!((got.loss, got.batch_size), (0.25 * s as f64, 64));
            }
        }
    }

    #[test]
    fn streams_whose_values_are_not_a_float_list_are_decoded_by_arrow_alone() {
        // A schema whose `values` is not a float list: nothing is read apart.
        let schema = Arc::new(Schema::new(vec![arrow::datatypes::Field::new(
            "values",
            DataType::Float64,
            false,
        )]));
        let mut bytes = Vec::new();
        let mut w = StreamWriter::try_new(&mut bytes, &schema).unwrap();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(arrow::array::Float64Array::from(vec![1.0, 2.0]))],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let mut src = StreamSource::try_new(Cursor::new(&bytes)).unwrap();
        assert_eq!(src.next_batch().unwrap().unwrap(), batch);
        assert!(src.landed().is_none());
        assert!(src.next_batch().unwrap().is_none());
    }

    #[test]
    fn lengths_no_bytes_back_cost_no_memory() {
        // The schema message of a valid stream, then a header announcing 2 GiB - 1 of
        // message metadata followed by 1,000 bytes: an error, and the buffers grew by at
        // most GROW_BYTES.
        let good = encoded_stream(&[("w", vec![3, 3])], 2);
        let schema_len = 8 + i32::from_le_bytes(good[4..8].try_into().unwrap()) as usize;
        let mut bytes = good[..schema_len].to_vec();
        bytes.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        bytes.extend([0u8; 1000]);
        let mut src = StreamSource::try_new(Cursor::new(&bytes)).unwrap();
        let e = src.next_batch().unwrap_err().to_string();
        assert!(
            e.contains("the stream ends inside a message header of 2147483647 bytes"),
            "{e}"
        );
        assert!(src.meta.capacity() <= GROW_BYTES, "{}", src.meta.capacity());
        // The end-of-stream marker is required, and nothing may follow it.
        let e = StreamSource::try_new(Cursor::new(&good[..good.len() - 8]))
            .and_then(|mut s| {
                while s.next_batch()?.is_some() {}
                Ok(())
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("without its end-of-stream marker"), "{e}");
        let mut more = good.clone();
        more.push(0);
        let e = StreamSource::try_new(Cursor::new(&more))
            .and_then(|mut s| {
                while s.next_batch()?.is_some() {}
                Ok(())
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("bytes follow the end-of-stream marker"), "{e}");
    }

    #[test]
    fn truncated_and_empty_streams_are_errors() {
        assert!(StreamSource::try_new(Cursor::new(Vec::<u8>::new())).is_err());
        let bytes = encoded_stream(&[("w", vec![3, 3])], 2);
        for cut in [bytes.len() - 100, bytes.len() / 2] {
            let mut src = StreamSource::try_new(Cursor::new(&bytes[..cut])).unwrap();
            let mut failed = false;
            for _ in 0..3 {
                match src.next_batch() {
                    Err(_) => {
                        failed = true;
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(_)) => {}
                }
            }
            assert!(failed, "cut at {cut}");
        }
    }
}
