//! Wrong gradient matrices, written by hand with arrow-rs: each gives one error line
//! naming the file and the problem, exit code 1, and no output file.

mod common;

use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, ListArray, StringArray,
    UInt32Array, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use assert_cmd::Command;
use common::assert_one_error_line;
use gradscope_io::grad_matrix::{grad_schema, layout_from_shapes};
use gradscope_io::Provenance;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Writes rows (step, sample, tensor name, values) with a layout of w[2x2], b[2].
fn write(path: &Path, rows: &[(u64, u32, &str, Vec<f32>)], float64_values: bool) {
    let mut meta = Provenance::new("gradient-matrix", "test 0");
    meta.layout = layout_from_shapes(&[("w", vec![2, 2]), ("b", vec![2])]);
    let json = meta.to_json();
    let mut schema = grad_schema(HashMap::from([("gradscope".to_string(), json.clone())]))
        .as_ref()
        .clone();
    let names: ArrayRef = Arc::new(StringArray::from(vec!["w", "b"]));
    let keys = Int32Array::from_iter_values(rows.iter().map(|r| if r.2 == "w" { 0 } else { 1 }));
    let mut offsets = vec![0i32];
    let mut flat = Vec::new();
    for r in rows {
        flat.extend_from_slice(&r.3);
        offsets.push(flat.len() as i32);
    }
    let values: ArrayRef = if float64_values {
        let item = Arc::new(Field::new("item", DataType::Float64, false));
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[3] = Field::new("values", DataType::List(item.clone()), false);
        schema = Schema::new(fields).with_metadata(schema.metadata().clone());
        Arc::new(ListArray::new(
            item,
            OffsetBuffer::new(offsets.into()),
            Arc::new(Float64Array::from_iter_values(
                flat.iter().map(|v| *v as f64),
            )),
            None,
        ))
    } else {
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        Arc::new(ListArray::new(
            item,
            OffsetBuffer::new(offsets.into()),
            Arc::new(Float32Array::from(flat)),
            None,
        ))
    };
    let n = rows.len();
    let batch = RecordBatch::try_new(
        Arc::new(schema.clone()),
        vec![
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, names).unwrap()),
            values,
            Arc::new(Float64Array::from(vec![0.5; n])),
            Arc::new(UInt32Array::from(vec![8; n])),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new("gradscope".into(), json)]))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        Arc::new(schema),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn expect_error(input: &Path, needle: &str) {
    let out = input.with_extension("out.csv");
    let o = Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_one_error_line(&o, &[&input.display().to_string(), needle], &out);
}

#[test]
fn each_wrong_file_has_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let good = |s: u32| {
        vec![
            (0u64, s, "w", vec![1.0, 2.0, 3.0, 4.0]),
            (0, s, "b", vec![1.0, -1.0]),
        ]
    };

    let p = dir.path().join("ok.parquet");
    write(&p, &[good(0), good(1)].concat(), false);
    Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&p)
        .assert()
        .success();

    // float64 values are read (as float32: README, "The gradient matrix").
    let p = dir.path().join("float64.parquet");
    write(&p, &[good(0), good(1)].concat(), true);
    Command::cargo_bin("vmf-kappa")
        .unwrap()
        .arg("-i")
        .arg(&p)
        .assert()
        .success();

    let p = dir.path().join("length.parquet");
    write(
        &p,
        &[
            (0, 0, "w", vec![1.0, 2.0, 3.0]),
            (0, 0, "b", vec![1.0, 2.0]),
        ],
        false,
    );
    expect_error(
        &p,
        "step 0 sample 0 tensor `w`: 3 values, but the layout says 4 (shape [2, 2])",
    );

    let p = dir.path().join("nan.parquet");
    let mut rows = good(0);
    rows.extend([
        (0, 1, "w", vec![1.0, f32::INFINITY, 3.0, 4.0]),
        (0, 1, "b", vec![1.0, 1.0]),
    ]);
    write(&p, &rows, false);
    expect_error(&p, "step 0 sample 1 tensor `w`: value inf at index 1");

    let p = dir.path().join("missing.parquet");
    write(
        &p,
        &[
            (0, 0, "w", vec![1.0, 2.0, 3.0, 4.0]),
            (0, 1, "w", vec![1.0, 2.0, 3.0, 4.0]),
        ],
        false,
    );
    expect_error(
        &p,
        "step 0 sample 0 has 1 of its 2 tensors; tensor `b` is missing",
    );

    let p = dir.path().join("order.parquet");
    write(&p, &[good(1), good(0)].concat(), false);
    expect_error(&p, "step 0 sample 0 comes after step 0 sample 1");
}
