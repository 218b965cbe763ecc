//! Hostile and malformed inputs to the tools that read a gradient matrix: each is one
//! error line (`error: <file>: <why>`), exit code 1, no output file, never a panic, and
//! memory bounded by the bytes that actually arrive (a header cannot ask for more).
//!
//! The reproductions of the hostile-input report are here as they were reported: a
//! `synth-grads` stream with one byte flipped (offsets 82,235 and 130,721), a 1,008-byte
//! stream header announcing a 2 GiB message (`ff ff ff ff ff ff ff 7f` and 1,000 zero
//! bytes) as a file and on stdin, 100 KB of random bytes, a Parquet file on stdin, a
//! stream without its end-of-stream marker and one followed by garbage. Then the
//! reader-side malformed matrices: ragged layouts, a `values` column that is not a list
//! of floats, negative indices, NaN, infinity and float64 values beyond float32's range.

mod common;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use assert_cmd::Command;
use common::synth;
use parquet::arrow::ArrowWriter;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

/// The tools that read a gradient matrix, with arguments that make them read all of it.
const READERS: [&[&str]; 4] = [
    &["vmf-kappa", "--null-reps", "0"],
    &["normtest"],
    &["powerlaw-fit", "--spectrum", "covariance"],
    &["powerlaw-fit", "--views", "dimension"],
];

/// The bad-input contract (as `common::assert_one_error_line`), with `normtest`'s
/// `note:` about spooling stdin allowed before the error.
fn assert_one_error_line(o: &Output, needles: &[&str], out: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("note: ")).collect();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err:?} lacks {n:?}");
    }
    assert!(!out.exists(), "a failed run left {}", out.display());
}

/// `synth-grads ARGS -o -`: a gradient stream, as bytes.
fn synth_stream(args: &[&str]) -> Vec<u8> {
    let o = Command::cargo_bin("synth-grads")
        .unwrap()
        .args(args)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn run(tool: &[&str], input: &Path, out: &Path, stdin: Option<Vec<u8>>) -> Output {
    let mut c = Command::cargo_bin(tool[0]).unwrap();
    c.args(&tool[1..]).arg("-o").arg(out);
    match stdin {
        Some(bytes) => c.arg("-i").arg("-").write_stdin(bytes),
        None => c.arg("-i").arg(input),
    };
    c.output().unwrap()
}

/// Every reader refuses `bytes` (as a file, and on stdin when `stdin`) with one error
/// line containing `needle`.
fn refused_by_all(dir: &Path, name: &str, bytes: &[u8], stdin: bool, needle: &str) {
    let input = dir.join(name);
    std::fs::write(&input, bytes).unwrap();
    for tool in READERS {
        let out = dir.join("out.csv");
        let o = run(tool, &input, &out, None);
        assert_one_error_line(&o, &[name, needle], &out);
        if stdin {
            let o = run(tool, &input, &out, Some(bytes.to_vec()));
            assert_one_error_line(&o, &["stdin", needle], &out);
        }
    }
}

#[test]
fn flipped_bytes_of_a_synth_grads_stream() {
    let dir = tempfile::tempdir().unwrap();
    let good = synth_stream(&["--dim", "1000", "-n", "50", "--threads", "1"]);
    for at in [82_235usize, 130_721] {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        let f = dir.path().join(format!("flip{at}.arrows"));
        std::fs::write(&f, &bad).unwrap();
        for tool in READERS {
            let out = dir.path().join("out.csv");
            let o = run(tool, &f, &out, None);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("panicked"), "{tool:?} flip {at}: {err}");
            // A flip inside the floats is a different gradient, not an error.
            if o.status.code() != Some(0) {
                assert_one_error_line(&o, &[&f.display().to_string()], &out);
            }
        }
    }
}

#[test]
fn a_header_announcing_two_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    bytes.extend([0u8; 1000]);
    refused_by_all(
        dir.path(),
        "header.arrows",
        &bytes,
        true,
        "the stream ends inside a message header of 2147483647 bytes",
    );
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // 100 KB from SplitMix64 (seed 16): a fixed input.
    let mut x = 16u64;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect();
    refused_by_all(
        dir.path(),
        "random.bin",
        &bytes,
        false,
        "not a Parquet file or an Arrow IPC stream",
    );
    let input = dir.path().join("random.bin");
    for tool in READERS {
        let out = dir.path().join("out.csv");
        let o = run(tool, &input, &out, Some(bytes.clone()));
        assert_one_error_line(&o, &["stdin"], &out);
    }
}

#[test]
fn a_parquet_file_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.parquet");
    synth(&["--dim", "100", "-n", "10"], &p);
    let bytes = std::fs::read(&p).unwrap();
    for tool in READERS {
        let out = dir.path().join("out.csv");
        let o = run(tool, &p, &out, Some(bytes.clone()));
        if tool[0] == "normtest" {
            // normtest copies stdin to a temporary file first, so it reads Parquet there.
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            std::fs::remove_file(&out).unwrap();
            continue;
        }
        assert_one_error_line(
            &o,
            &["stdin: this is a Parquet file", "pass its path"],
            &out,
        );
    }
}

#[test]
fn streams_cut_short_or_followed_by_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let good = synth_stream(&["--dim", "100", "-n", "10"]);
    assert_eq!(good[good.len() - 8..], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    // Without the end-of-stream marker: the producer stopped; an error, not a partial result.
    refused_by_all(
        dir.path(),
        "cut.arrows",
        &good[..good.len() - 8],
        true,
        "without its end-of-stream marker",
    );
    let mut more = good.clone();
    more.extend_from_slice(b"garbage");
    refused_by_all(
        dir.path(),
        "more.arrows",
        &more,
        true,
        "bytes follow the end-of-stream marker",
    );
    let mut twice = good.clone();
    twice.extend_from_slice(&good);
    refused_by_all(
        dir.path(),
        "twice.arrows",
        &twice,
        false,
        "bytes follow the end-of-stream marker",
    );
}

/// A Parquet file without metadata: rows (step, sample, tensor, values as `values`).
fn write_rows(path: &Path, steps: &[i64], names: &[&str], values: ArrayRef) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("step", DataType::Int64, false),
        Field::new("sample", DataType::Int64, false),
        Field::new("tensor", DataType::Utf8, false),
        Field::new("values", values.data_type().clone(), true),
    ]));
    let n = names.len();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(steps.to_vec())),
            Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i / 2))),
            Arc::new(StringArray::from(names.to_vec())),
            values,
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn f64_lists(rows: &[Vec<f64>]) -> ArrayRef {
    let mut offsets = vec![0i32];
    let mut flat = Vec::new();
    for r in rows {
        flat.extend_from_slice(r);
        offsets.push(flat.len() as i32);
    }
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", DataType::Float64, true)),
        OffsetBuffer::new(offsets.into()),
        Arc::new(Float64Array::from(flat)),
        None,
    ))
}

fn expect_vmf_error(path: &Path, needle: &str) {
    let out = path.with_extension("out.csv");
    let o = run(READERS[0], path, &out, None);
    assert_one_error_line(&o, &[&path.display().to_string(), needle], &out);
}

#[test]
fn malformed_matrices_without_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let two = |a: f64| vec![vec![a, 1.0, 2.0], vec![a, -1.0]];
    // Two samples of tensors a [3] and b [2].
    let p = d.join("ok.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        f64_lists(&[two(1.0), two(2.0)].concat()),
    );
    let o = run(READERS[0], &p, &d.join("ok.csv"), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let p = d.join("ragged.parquet");
    let mut rows = [two(1.0), two(2.0)].concat();
    rows[2].push(9.0);
    write_rows(&p, &[0; 4], &["a", "b", "a", "b"], f64_lists(&rows));
    expect_vmf_error(
        &p,
        "step 0 sample 1 tensor `a`: 4 values, but the layout of the first sample says 3",
    );

    let p = d.join("renamed.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "c"],
        f64_lists(&[two(1.0), two(2.0)].concat()),
    );
    expect_vmf_error(
        &p,
        "step 0 sample 1: tensor `c` is not in the parameter layout of the first sample",
    );

    let p = d.join("negative.parquet");
    write_rows(
        &p,
        &[0, 0, -3, -3],
        &["a", "b", "a", "b"],
        f64_lists(&[two(1.0), two(2.0)].concat()),
    );
    expect_vmf_error(
        &p,
        "row 2: column `step` holds -3, which must not be negative",
    );

    let p = d.join("nan.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        f64_lists(&[two(1.0), two(f64::NAN)].concat()),
    );
    expect_vmf_error(&p, "step 0 sample 1 tensor `a`: value NaN at index 0");

    let p = d.join("inf.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        f64_lists(&[two(1.0), two(f64::NEG_INFINITY)].concat()),
    );
    expect_vmf_error(&p, "step 0 sample 1 tensor `a`: value -inf at index 0");

    let p = d.join("huge.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        f64_lists(&[two(1.0), two(1e300)].concat()),
    );
    expect_vmf_error(
        &p,
        "step 0 sample 1 tensor `a`: value 1e300 at index 0 is beyond float32's range",
    );

    let p = d.join("scalar.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        Arc::new(Float64Array::from(vec![1.0; 4])),
    );
    expect_vmf_error(&p, "column `values` has type Float64, expected list, large_list or fixed_size_list of float16, float32 or float64");

    let p = d.join("ints.parquet");
    write_rows(
        &p,
        &[0; 4],
        &["a", "b", "a", "b"],
        Arc::new(ListArray::new(
            Arc::new(Field::new("item", DataType::Int64, true)),
            OffsetBuffer::new(vec![0i32, 1, 2, 3, 4].into()),
            Arc::new(Int64Array::from(vec![1; 4])),
            None,
        )),
    );
    expect_vmf_error(&p, "column `values` has type List(Int64)");
}
