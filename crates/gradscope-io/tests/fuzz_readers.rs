//! Fuzz test of the gradient-matrix readers: seeded mutations (Xoshiro256++) of valid
//! Parquet files (read by the page decoder, and by arrow-rs's reader with a dictionary-
//! encoded `values` column), of gradscope's IPC stream, and of matrices written by
//! pyarrow, polars and DuckDB (with their layout inferred), each opened and read to the
//! end with [`GradReader`]. Any panic is a crash; errors are the expected outcome.
//!
//! Budget: `FUZZ_CASES` cases (default 4,000, about 15 s; `make fuzz FUZZ_CASES=N`
//! runs more). See tests/fuzz/mutate.rs at the repository root for the mutations.

#[path = "../../../tests/fuzz/mutate.rs"]
mod mutate;

use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, ListArray, StringArray,
    UInt32Array, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Int32Type};
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use gradscope_io::grad_matrix::{grad_schema, layout_from_shapes};
use gradscope_io::ipc_stream::SampleEncoder;
use gradscope_io::{GradReader, GradWriter, Provenance, Sample, WriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const SHAPES: [(&str, [usize; 2]); 2] = [("w", [3, 4]), ("b", [5, 1])];

fn meta() -> Provenance {
    let mut m = Provenance::new("gradient-matrix", "fuzz 0");
    m.layout = layout_from_shapes(&SHAPES.map(|(n, s)| (n, s.to_vec())));
    m
}

fn value(s: u32, i: usize) -> f32 {
    ((s as usize * 17 + i) as f32 * 0.37).sin()
}

/// A Parquet file by GradWriter (plain pages: the page decoder reads it).
fn gradwriter_parquet(dir: &Path, zstd: bool) -> Vec<u8> {
    let path = dir.join(format!("g{zstd}.parquet"));
    let opts = WriterOptions {
        row_group_bytes: 200,
        zstd,
    };
    let mut w = GradWriter::create(&path, &meta(), &opts).unwrap();
    for s in 0..6u32 {
        let v: Vec<f32> = (0..17).map(|i| value(s, i)).collect();
        w.write_sample(s as u64 / 3, s, 0.5, 8, &v).unwrap();
    }
    w.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// One record batch of samples `samples` in gradscope's schema.
fn batch(samples: std::ops::Range<u32>) -> RecordBatch {
    let m = meta();
    let schema = grad_schema(HashMap::from([("gradscope".to_string(), m.to_json())]));
    let names: ArrayRef = Arc::new(StringArray::from(vec!["w", "b"]));
    let (mut steps, mut idx, mut keys, mut offsets, mut flat) =
        (vec![], vec![], vec![], vec![0i32], vec![]);
    for s in samples.clone() {
        for (k, t) in m.layout.iter().enumerate() {
            steps.push(s as u64 / 3);
            idx.push(s);
            keys.push(k as i32);
            flat.extend((t.offset..t.offset + t.numel).map(|i| value(s, i)));
            offsets.push(flat.len() as i32);
        }
    }
    let n = steps.len();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from(steps)),
            Arc::new(UInt32Array::from(idx)),
            Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), names).unwrap()),
            Arc::new(ListArray::new(
                Arc::new(Field::new("item", DataType::Float32, false)),
                OffsetBuffer::new(offsets.into()),
                Arc::new(Float32Array::from(flat)),
                None,
            )),
            Arc::new(Float64Array::from(vec![0.5; n])),
            Arc::new(UInt32Array::from(vec![8; n])),
        ],
    )
    .unwrap()
}

/// A Parquet file by arrow-rs with a dictionary-encoded `values` column (arrow-rs's
/// own list reader reads it).
fn dictionary_parquet() -> Vec<u8> {
    let b = batch(0..6);
    let props = WriterProperties::builder()
        .set_dictionary_enabled(true)
        .set_max_row_group_size(4)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "gradscope".into(),
            meta().to_json(),
        )]))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, b.schema(), Some(props)).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    out
}

/// gradscope's IPC stream: the first sample by arrow-rs's StreamWriter (schema,
/// dictionary, batch), the others by SampleEncoder, then the end-of-stream marker.
fn gradscope_stream() -> Vec<u8> {
    let first = batch(0..1);
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new(&mut out, &first.schema()).unwrap();
    w.write(&first).unwrap();
    w.finish().unwrap();
    drop(w);
    let eos = out.split_off(out.len() - 8);
    let mut enc = SampleEncoder::new(&[0, 12, 17]);
    for s in 1..6u32 {
        let v: Vec<f32> = (0..17).map(|i| value(s, i)).collect();
        enc.write(&mut out, s as u64 / 3, s, 0.5, 8, &v).unwrap();
    }
    out.extend(eos);
    out
}

/// Opens `bytes` as a file and reads every sample; true when refused with an error.
fn read_all(dir: &Path, bytes: &[u8]) -> bool {
    let path = dir.join("case");
    std::fs::write(&path, bytes).unwrap();
    let mut r = match GradReader::open(&path) {
        Ok(r) => r,
        Err(_) => return true,
    };
    let mut s = Sample::default();
    loop {
        match r.next_sample(&mut s) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn seeds_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in seeds(dir.path()) {
        assert!(!read_all(dir.path(), &bytes), "{name}");
    }
}

fn seeds(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let foreign = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gradscope-cli/testdata/foreign");
    let read = |f: &str| std::fs::read(foreign.join(f)).unwrap();
    vec![
        ("gradwriter.parquet", gradwriter_parquet(dir, false)),
        ("gradwriter-zstd.parquet", gradwriter_parquet(dir, true)),
        ("dictionary.parquet", dictionary_parquet()),
        ("gradscope.arrows", gradscope_stream()),
        (
            "pyarrow-nometa-f64.arrows",
            read("pyarrow-nometa-f64.arrows"),
        ),
        ("polars.arrows", read("polars.arrows")),
        ("duckdb.parquet", read("duckdb.parquet")),
        ("pyarrow-fixed.parquet", read("pyarrow-fixed.parquet")),
    ]
}

#[test]
fn fuzz_gradient_matrix_readers() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds(dir.path());
    mutate::run(
        "gradient-matrix readers",
        &seeds,
        mutate::budget(4_000),
        16,
        |bytes| read_all(dir.path(), bytes),
    );
}

/// Reads one input (`FUZZ_FILE`), for reproducing a crash with its backtrace:
/// `FUZZ_FILE=target/fuzz-crashes/... cargo test -p gradscope-io --test fuzz_readers reproduce -- --ignored`.
#[test]
#[ignore]
fn reproduce() {
    let path = std::env::var("FUZZ_FILE").expect("FUZZ_FILE");
    let dir = tempfile::tempdir().unwrap();
    let refused = read_all(dir.path(), &std::fs::read(path).unwrap());
    eprintln!("refused: {refused}");
}
