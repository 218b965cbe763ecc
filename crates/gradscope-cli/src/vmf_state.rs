//! The state table of `vmf-kappa --state-out`: everything `vmf-kappa --merge` needs to
//! give the table of one pass over the gradients of all the merged parts.
//!
//! One row group per parameter point and batch size (a "group", as the result table has
//! one row per group and scope), with one row per scope: `all` first, then each tensor
//! with `--per-tensor`. Columns:
//! - `step`, `batch_size`: the group; `first_sample`: the smallest `sample` index of the
//!   group in this part, which orders the merged rows as one pass over the whole matrix
//!   orders them (samples are numbered on across batch sizes), and orders the parts of
//!   a group when they are merged, so that the merge gives the same bits whatever the
//!   order of the files on the command line; `last_sample`: the largest, so that a merge
//!   can see parts that overlap (more gradients than sample indices between them);
//! - `scope`, `scope_start`, `scope_len`: the scope's name and coordinates;
//! - `count` (gradients, N) and `loss_sum` (their summed loss, nats): the group's, on
//!   every row of it;
//! - `n_dir`, `n_zero`: gradients with and without a direction in the scope;
//! - `norm_mean`, `norm_m2`: running mean and sum of squared deviations of the scope's
//!   gradient norms (gradient units, squared for m2);
//! - `m2`: the sum over the scope's coordinates of each coordinate's sum of squared
//!   deviations from its mean (gradient units squared), merged by Chan, Golub and
//!   LeVeque's (1979) update with the `mean` vector; tr Cov = m2 / (N - 1);
//! - `angle_n`, `angle_mean_dev`, `angle_m2`, `angle_under`, `angle_over`,
//!   `angle_counts`: the angles to the random direction (the running mean of angle - 90
//!   and the sum of squared deviations, degrees and degrees squared; the 4000-bin
//!   histogram);
//! - `unit_sum`: the scope's sum of unit vectors over its coordinates (each gradient
//!   normalised within the scope);
//! - `mean`: the running mean of the gradients over all coordinates (the sum of the
//!   gradients is N times it), on the `all` row only (null on the others).
//!
//! See `gradscope_stats::vmf::directional` for the estimators and the merge.

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, Float64Array, LargeListArray, StringArray, UInt64Array};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use gradscope_io::state_file::StateKind;
use gradscope_stats::vmf::angles::AngleAccumulator;
use gradscope_stats::vmf::{DirectionalState, Scope, ScopeMoments};
use std::path::Path;
use std::sync::Arc;

/// The state files of `vmf-kappa`, in the version this build writes and reads.
pub const STATE: StateKind = StateKind {
    tool: "vmf-kappa",
    version: 2,
};

/// What identifies a group and orders it among the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub step: u64,
    pub batch_size: u64,
    pub first_sample: u64,
    /// The largest `sample` index of the group in this part: with `count`, what shows
    /// that merged parts overlap (more gradients than indices between first and last).
    pub last_sample: u64,
}

fn list_field(item: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", item, false))
}

/// The columns of the state table.
pub fn schema() -> SchemaRef {
    let u = |n: &str| Field::new(n, DataType::UInt64, false);
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        u("step"),
        u("batch_size"),
        u("first_sample"),
        u("last_sample"),
        Field::new("scope", DataType::Utf8, false),
        u("scope_start"),
        u("scope_len"),
        u("count"),
        f("loss_sum"),
        u("n_dir"),
        u("n_zero"),
        f("norm_mean"),
        f("norm_m2"),
        f("m2"),
        u("angle_n"),
        f("angle_mean_dev"),
        f("angle_m2"),
        u("angle_under"),
        u("angle_over"),
        Field::new(
            "angle_counts",
            DataType::LargeList(list_field(DataType::UInt64)),
            false,
        ),
        Field::new(
            "unit_sum",
            DataType::LargeList(list_field(DataType::Float64)),
            false,
        ),
        Field::new(
            "mean",
            DataType::LargeList(list_field(DataType::Float64)),
            true,
        ),
    ]))
}

/// A large list column over `values` cut at `lens` (nullable rows where `valid` is false).
fn large_list(
    item: DataType,
    values: ArrayRef,
    lens: &[usize],
    valid: Option<Vec<bool>>,
) -> LargeListArray {
    LargeListArray::new(
        list_field(item),
        OffsetBuffer::from_lengths(lens.iter().copied()),
        values,
        valid.map(NullBuffer::from),
    )
}

/// The rows of one group: its key, its summed loss and the accumulator's state (moved,
/// not copied, where the vectors allow it).
pub fn to_batch(
    key: GroupKey,
    loss_sum: f64,
    scopes: &[Scope],
    state: DirectionalState,
) -> Result<RecordBatch> {
    let dim = state.mean.len();
    let rows = 1 + scopes.len();
    let names: Vec<&str> = std::iter::once("all")
        .chain(scopes.iter().map(|s| s.name.as_str()))
        .collect();
    let starts: Vec<u64> = std::iter::once(0)
        .chain(scopes.iter().map(|s| s.start as u64))
        .collect();
    let lens: Vec<usize> = std::iter::once(dim)
        .chain(scopes.iter().map(|s| s.len))
        .collect();
    let m = &state.moments;
    let rep = |v: u64| UInt64Array::from(vec![v; rows]);
    let each_u = |f: &dyn Fn(&ScopeMoments) -> u64| UInt64Array::from_iter_values(m.iter().map(f));
    let each_f = |f: &dyn Fn(&ScopeMoments) -> f64| Float64Array::from_iter_values(m.iter().map(f));
    let mut counts: Vec<u64> = Vec::with_capacity(rows * gradscope_stats::vmf::angles::FINE_BINS);
    for s in m {
        counts.extend_from_slice(s.angles.parts().5);
    }
    let count_lens: Vec<usize> = m.iter().map(|s| s.angles.parts().5.len()).collect();
    let mut units = state.unit_all;
    for s in scopes {
        units.extend_from_slice(&state.unit_scope[s.start..s.start + s.len]);
    }
    let mean_lens: Vec<usize> = std::iter::once(dim)
        .chain(scopes.iter().map(|_| 0))
        .collect();
    let mean_valid: Vec<bool> = (0..rows).map(|r| r == 0).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rep(key.step)),
        Arc::new(rep(key.batch_size)),
        Arc::new(rep(key.first_sample)),
        Arc::new(rep(key.last_sample)),
        Arc::new(StringArray::from(names)),
        Arc::new(UInt64Array::from(starts)),
        Arc::new(UInt64Array::from_iter_values(
            lens.iter().map(|&l| l as u64),
        )),
        Arc::new(rep(state.total)),
        Arc::new(Float64Array::from(vec![loss_sum; rows])),
        Arc::new(each_u(&|s| s.n_dir)),
        Arc::new(each_u(&|s| s.n_zero)),
        Arc::new(each_f(&|s| s.norm_mean)),
        Arc::new(each_f(&|s| s.norm_m2)),
        Arc::new(each_f(&|s| s.m2)),
        Arc::new(each_u(&|s| s.angles.parts().0)),
        Arc::new(each_f(&|s| s.angles.parts().1)),
        Arc::new(each_f(&|s| s.angles.parts().2)),
        Arc::new(each_u(&|s| s.angles.parts().3)),
        Arc::new(each_u(&|s| s.angles.parts().4)),
        Arc::new(large_list(
            DataType::UInt64,
            Arc::new(UInt64Array::from(counts)),
            &count_lens,
            None,
        )),
        Arc::new(large_list(
            DataType::Float64,
            Arc::new(Float64Array::from(units)),
            &lens,
            None,
        )),
        Arc::new(large_list(
            DataType::Float64,
            Arc::new(Float64Array::from(state.mean)),
            &mean_lens,
            Some(mean_valid),
        )),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Column `name` of a state batch as `A`; an error names the file.
fn column<'a, A: Array + 'static>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<&'a A> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<A>())
        .with_context(|| {
            format!(
                "{}: not a vmf-kappa state: column '{name}' is missing or of another type",
                path.display()
            )
        })
}

/// The keys of a row group's rows (read with the columns of [`KEY_COLUMNS`]): the group
/// it holds and its gradient count, or an error when it holds none or several.
pub fn key_of(path: &Path, b: &RecordBatch) -> Result<(GroupKey, u64)> {
    let step = column::<UInt64Array>(path, b, "step")?;
    let bs = column::<UInt64Array>(path, b, "batch_size")?;
    let first = column::<UInt64Array>(path, b, "first_sample")?;
    let last = column::<UInt64Array>(path, b, "last_sample")?;
    let count = column::<UInt64Array>(path, b, "count")?;
    if b.num_rows() == 0 {
        bail!("{}: a row group of the state is empty", path.display());
    }
    let key = GroupKey {
        step: step.value(0),
        batch_size: bs.value(0),
        first_sample: first.value(0),
        last_sample: last.value(0),
    };
    if key.last_sample < key.first_sample || count.value(0) == 0 {
        bail!(
            "{}: a row group's samples are not a range (a damaged vmf-kappa state)",
            path.display()
        );
    }
    for r in 1..b.num_rows() {
        if (
            step.value(r),
            bs.value(r),
            first.value(r),
            last.value(r),
            count.value(r),
        ) != (
            key.step,
            key.batch_size,
            key.first_sample,
            key.last_sample,
            count.value(0),
        ) {
            bail!(
                "{}: a row group of the state holds several steps or batch sizes (the file was not written by vmf-kappa --state-out)",
                path.display()
            );
        }
    }
    Ok((key, count.value(0)))
}

/// The columns [`key_of`] reads.
pub const KEY_COLUMNS: [&str; 5] = ["step", "batch_size", "first_sample", "last_sample", "count"];

/// One group read back: its key, summed loss and state, checked against the dimension
/// and the scopes the merge expects.
pub fn from_batch(
    path: &Path,
    b: &RecordBatch,
    dim: usize,
    scopes: &[Scope],
) -> Result<(GroupKey, f64, DirectionalState)> {
    let name = path.display();
    let (key, _) = key_of(path, b)?;
    if b.num_rows() != 1 + scopes.len() {
        bail!(
            "{name}: step {}: {} scope rows, expected {} (the whole vector and each tensor)",
            key.step,
            b.num_rows(),
            1 + scopes.len()
        );
    }
    let scope = column::<StringArray>(path, b, "scope")?;
    let start = column::<UInt64Array>(path, b, "scope_start")?;
    let len = column::<UInt64Array>(path, b, "scope_len")?;
    for r in 0..b.num_rows() {
        let want = if r == 0 {
            ("all", 0, dim)
        } else {
            let s = &scopes[r - 1];
            (s.name.as_str(), s.start, s.len)
        };
        if (
            scope.value(r),
            start.value(r) as usize,
            len.value(r) as usize,
        ) != want
        {
            bail!(
                "{name}: step {}: scope row {r} is '{}' at {}+{}, expected '{}' at {}+{}",
                key.step,
                scope.value(r),
                start.value(r),
                len.value(r),
                want.0,
                want.1,
                want.2
            );
        }
    }
    let count = column::<UInt64Array>(path, b, "count")?.value(0);
    let loss_sum = column::<Float64Array>(path, b, "loss_sum")?.value(0);
    let u = |c: &str| column::<UInt64Array>(path, b, c);
    let f = |c: &str| column::<Float64Array>(path, b, c);
    let (n_dir, n_zero) = (u("n_dir")?, u("n_zero")?);
    let (norm_mean, norm_m2, m2) = (f("norm_mean")?, f("norm_m2")?, f("m2")?);
    let (an, amean, am2) = (u("angle_n")?, f("angle_mean_dev")?, f("angle_m2")?);
    let (under, over) = (u("angle_under")?, u("angle_over")?);
    let counts = column::<LargeListArray>(path, b, "angle_counts")?;
    let units = column::<LargeListArray>(path, b, "unit_sum")?;
    let mean = column::<LargeListArray>(path, b, "mean")?;
    let floats = |l: &LargeListArray, r: usize| -> Result<Vec<f64>> {
        let v = l.value(r);
        let a = v
            .as_any()
            .downcast_ref::<Float64Array>()
            .with_context(|| format!("{name}: a vector column does not hold f64"))?;
        Ok(a.values().to_vec())
    };
    let mut moments = Vec::with_capacity(b.num_rows());
    for r in 0..b.num_rows() {
        let c = counts.value(r);
        let c = c
            .as_any()
            .downcast_ref::<UInt64Array>()
            .with_context(|| format!("{name}: angle_counts does not hold u64"))?;
        if n_dir.value(r) + n_zero.value(r) != count {
            bail!(
                "{name}: step {}: n_dir + n_zero differs from count in scope '{}'",
                key.step,
                scope.value(r)
            );
        }
        let d = len.value(r) as usize;
        let angles = AngleAccumulator::from_parts(
            d,
            an.value(r),
            amean.value(r),
            am2.value(r),
            under.value(r),
            over.value(r),
            c.values().to_vec(),
        )
        .with_context(|| {
            format!(
                "{name}: step {}: the angle histogram of scope '{}' does not add up to its count",
                key.step,
                scope.value(r)
            )
        })?;
        moments.push(ScopeMoments {
            n_dir: n_dir.value(r),
            n_zero: n_zero.value(r),
            norm_mean: norm_mean.value(r),
            norm_m2: norm_m2.value(r),
            m2: m2.value(r),
            angles,
        });
    }
    if mean.is_null(0) {
        bail!("{name}: step {}: the mean vector is missing", key.step);
    }
    let mean = floats(mean, 0)?;
    let unit_all = floats(units, 0)?;
    let unit_scope = if scopes.is_empty() {
        Vec::new()
    } else {
        let mut v = vec![0.0; dim];
        for (r, s) in scopes.iter().enumerate() {
            let part = floats(units, r + 1)?;
            if part.len() != s.len {
                bail!(
                    "{name}: step {}: the unit sum of '{}' has {} values, expected {}",
                    key.step,
                    s.name,
                    part.len(),
                    s.len
                );
            }
            v[s.start..s.start + s.len].copy_from_slice(&part);
        }
        v
    };
    Ok((
        key,
        loss_sum,
        DirectionalState {
            total: count,
            mean,
            unit_all,
            unit_scope,
            moments,
        },
    ))
}
