//! Fuzz test of the CSV / Parquet column reader (`read_column`): seeded mutations
//! (Xoshiro256++) of a valid CSV table and a valid Parquet table, each read for its
//! numeric column `x`. Any panic is a crash; errors are the expected outcome.
//!
//! Budget: `FUZZ_CASES` cases (default 2,000, about 8 s; `make fuzz FUZZ_CASES=N` runs more). See
//! tests/fuzz/mutate.rs at the repository root for the mutations.

#[path = "../../../tests/fuzz/mutate.rs"]
mod mutate;

use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use gradscope_cli::read_column::read_column;
use parquet::arrow::ArrowWriter;
use std::path::Path;
use std::sync::Arc;

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut csv = String::from("step,x,name\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "{i},{},t{}\n",
            (i as f64 * 0.37).sin() * 1e3,
            i % 3
        ));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("step", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
        Field::new("name", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..40)),
            Arc::new(Float64Array::from_iter(
                (0..40).map(|i| (i % 7 != 0).then_some((i as f64 * 0.37).sin())),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..40).map(|i| format!("t{}", i % 3)),
            )),
        ],
    )
    .unwrap();
    let mut parquet = Vec::new();
    let mut w = ArrowWriter::try_new(&mut parquet, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    vec![("table.csv", csv.into_bytes()), ("table.parquet", parquet)]
}

/// Reads column `x` of `bytes` saved under the extension of `name`; true when refused.
fn read(dir: &Path, bytes: &[u8], ext: &str) -> bool {
    let path = dir.join(format!("case.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    read_column(&path, "x").is_err()
}

#[test]
fn seeds_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in seeds() {
        let ext = name.rsplit('.').next().unwrap();
        assert!(!read(dir.path(), &bytes, ext), "{name}");
    }
}

#[test]
fn fuzz_read_column() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let exts: Vec<&str> = seeds
        .iter()
        .map(|(n, _)| n.rsplit('.').next().unwrap())
        .collect();
    // Each case's extension follows its seed: the cases alternate between the two.
    let case = std::cell::Cell::new(0usize);
    mutate::run("read-column", &seeds, mutate::budget(2_000), 17, |bytes| {
        let ext = exts[case.get() % exts.len()];
        case.set(case.get() + 1);
        read(dir.path(), bytes, ext)
    });
}
