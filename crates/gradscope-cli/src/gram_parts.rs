//! Partial Gram matrices: `powerlaw-fit --spectrum --coords START:END --gram-out G` and
//! `powerlaw-fit --spectrum --gram G1 G2 ...`.
//!
//! The spectrum of n gradients of dimension d > n is that of the n x n Gram matrix
//! `K / c`, `K = sum over coordinates j of x_j x_j^T` (x_j the n values of coordinate j,
//! centred for the covariance; c = n - 1 or n; see `gradscope_stats::spectrum::gram`).
//! A sum over coordinates splits over disjoint blocks of them, so each part of a run
//! split by coordinate writes its block's unscaled sums, and the merge adds the parts (in
//! block order, whatever the order of the files) and takes the eigenvalues as the single
//! run does. The parts must be of the same gradients (the same step and sample ids, in
//! the same order, since K's rows and columns are the samples) and must cover the
//! coordinates exactly once.
//!
//! The file is a state file (`gradscope_io::state_file`, kind `powerlaw-fit-gram-state`):
//! one row per sample i, columns `row` (i) and `values` (K_i0..K_ii, the lower triangle),
//! with the block (`coords_start`, `coords_end`), the dimension, the sample ids and the
//! matrix (options `--spectrum`, `--step`) in its metadata.

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, Float64Array, LargeListArray, UInt64Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use gradscope_io::state_file::{StateFile, StateKind, StateWriter};
use gradscope_io::Provenance;
use gradscope_stats::spectrum::{GramAccumulator, MatrixKind};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Partial Gram files, in the version this build writes and reads.
pub const GRAM: StateKind = StateKind {
    tool: "powerlaw-fit-gram",
    version: 1,
};

/// What a partial Gram records besides its sums.
#[derive(Debug, Clone, PartialEq)]
pub struct GramPart {
    pub kind: MatrixKind,
    pub step: u64,
    pub samples: Vec<u32>,
    pub dim: usize,
    pub block: Range<usize>,
}

fn options(kind: MatrixKind, step: u64) -> serde_json::Map<String, serde_json::Value> {
    let mut o = serde_json::Map::new();
    o.insert("--spectrum".into(), kind.name().into());
    o.insert("--step".into(), step.into());
    o
}

/// Stages the partial Gram of `acc` (the block `part.block`) as a state file.
pub fn write(
    path: &Path,
    source: &Provenance,
    part: &GramPart,
    acc: &GramAccumulator,
) -> Result<gradscope_io::atomic::AtomicFile> {
    let mut prov = GRAM.provenance(
        &gradscope_tool::tool_name("powerlaw-fit"),
        source,
        options(part.kind, part.step),
    );
    prov.extra
        .insert("samples".into(), serde_json::json!(part.samples));
    prov.extra.insert("dim".into(), part.dim.into());
    prov.extra
        .insert("coords_start".into(), part.block.start.into());
    prov.extra
        .insert("coords_end".into(), part.block.end.into());
    let rows = acc.lower_rows();
    let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    let values: Vec<f64> = rows.into_iter().flatten().collect();
    let item = Arc::new(Field::new("item", DataType::Float64, false));
    let schema = Arc::new(Schema::new(vec![
        Field::new("row", DataType::UInt64, false),
        Field::new("values", DataType::LargeList(item.clone()), false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(0..lens.len() as u64)),
        Arc::new(LargeListArray::new(
            item,
            OffsetBuffer::from_lengths(lens),
            Arc::new(Float64Array::from(values)),
            None,
        )),
    ];
    let mut w = StateWriter::create(path, schema.clone(), &prov)?;
    w.write_group(&RecordBatch::try_new(schema, columns)?)?;
    w.finish()
}

/// A partial Gram file opened and its record read.
struct Opened {
    file: StateFile,
    part: GramPart,
}

fn open(path: &Path) -> Result<Opened> {
    let file = StateFile::open(path, &GRAM)?;
    let name = path.display();
    let p = file.provenance();
    let opts = file.options();
    let kind = match opts.get("--spectrum").and_then(|v| v.as_str()) {
        Some("covariance") => MatrixKind::Covariance,
        Some("second-moment") => MatrixKind::SecondMoment,
        _ => bail!("{name}: the partial Gram's metadata lacks its matrix (--spectrum)"),
    };
    let num = |k: &str| -> Result<u64> {
        p.extra
            .get(k)
            .and_then(|v| v.as_u64())
            .with_context(|| format!("{name}: the partial Gram's metadata lacks {k}"))
    };
    let step = opts
        .get("--step")
        .and_then(|v| v.as_u64())
        .with_context(|| format!("{name}: the partial Gram's metadata lacks --step"))?;
    let samples: Vec<u32> = p
        .extra
        .get("samples")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .with_context(|| format!("{name}: the partial Gram's metadata lacks its sample ids"))?;
    let part = GramPart {
        kind,
        step,
        samples,
        dim: num("dim")? as usize,
        block: num("coords_start")? as usize..num("coords_end")? as usize,
    };
    Ok(Opened { file, part })
}

/// The partial Grams at `paths` checked (one run, the same gradients, blocks that cover
/// the coordinates exactly once) and summed in block order: the accumulator of the whole
/// matrix, ready for `finish`, and what the parts record.
pub fn merge(paths: &[std::path::PathBuf]) -> Result<(GramAccumulator, GramPart, Provenance)> {
    let mut parts: Vec<Opened> = Vec::with_capacity(paths.len());
    for path in paths {
        let o = open(path)?;
        if let Some(first) = parts.first() {
            o.file.check_same_run(&first.file)?;
            let (a, b) = (&o.part, &first.part);
            if a.samples != b.samples {
                bail!(
                    "{}: its gradients ({} samples of step {}) are not {}'s ({} samples of step {}): Gram parts add up only over the same gradients",
                    o.file.path().display(),
                    a.samples.len(),
                    a.step,
                    first.file.path().display(),
                    b.samples.len(),
                    b.step
                );
            }
        }
        parts.push(o);
    }
    parts.sort_by_key(|o| (o.part.block.start, o.part.block.end));
    let first = &parts[0].part;
    let dim = first.dim;
    let mut next = 0usize;
    for (i, o) in parts.iter().enumerate() {
        let b = &o.part.block;
        if b.start < next {
            bail!(
                "{}: its coordinates {}..{} overlap {}'s {}..{}: Gram parts must cover each coordinate once",
                o.file.path().display(),
                b.start,
                b.end,
                parts[i - 1].file.path().display(),
                parts[i - 1].part.block.start,
                parts[i - 1].part.block.end
            );
        }
        if b.start > next {
            bail!(
                "{}: the parts leave coordinates {next}..{} out (the next part starts at {}): Gram parts must cover all {dim} coordinates",
                o.file.path().display(),
                b.start,
                b.start
            );
        }
        next = b.end;
    }
    if next != dim {
        bail!(
            "{}: the parts leave coordinates {next}..{dim} out: Gram parts must cover all {dim} coordinates",
            parts[parts.len() - 1].file.path().display()
        );
    }
    let n = first.samples.len();
    let mut acc = GramAccumulator::new(n, dim, first.kind)
        .with_context(|| format!("{}", parts[0].file.path().display()))?;
    for o in &parts {
        let name = o.file.path().display();
        let batch = o.file.read(0, None)?;
        let values = batch
            .column_by_name("values")
            .and_then(|c| c.as_any().downcast_ref::<LargeListArray>())
            .with_context(|| format!("{name}: not a partial Gram: no column 'values'"))?;
        let mut rows = Vec::with_capacity(values.len());
        for r in 0..values.len() {
            let v = values.value(r);
            let a = v
                .as_any()
                .downcast_ref::<Float64Array>()
                .with_context(|| format!("{name}: the Gram values are not f64"))?;
            rows.push(a.values().to_vec());
        }
        acc.add_lower_rows(&rows, o.part.block.len())
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    let source = match &parts[0].file.provenance().source {
        Some(s) => (**s).clone(),
        None => Provenance::inferred(parts[0].file.layout().to_vec()),
    };
    let mut whole = first.clone();
    whole.block = 0..dim;
    Ok((acc, whole, source))
}
