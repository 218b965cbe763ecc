//! The gradient matrix: minibatch gradients taken at one or more parameter points.
//!
//! One row per (step, sample, tensor):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `step` | uint64 | training step of the parameter point |
//! | `sample` | uint32 | index of the minibatch drawn at that point |
//! | `tensor` | dictionary<int32, utf8> | parameter name |
//! | `values` | list<float32> | the flattened (row-major) gradient of that tensor |
//! | `loss` | float64 | the minibatch loss (optional) |
//! | `batch_size` | uint32 | the minibatch size (optional) |
//!
//! That is what gradscope writes. The reader takes other producers' types too (see
//! [`check_schema`]): any integer type for `step`, `sample`, `batch_size`; utf8 or
//! large_utf8, plain or dictionary-encoded, for `tensor`; list, large_list or
//! fixed_size_list of float16, float32 or float64 for `values` (converted to float32:
//! gradients are held as float32 and every statistic accumulates in float64).
//!
//! Rows are ordered by step, then sample, then the parameter order of the layout; every
//! sample holds every tensor of the layout; a Parquet row group never splits a sample.
//! The layout (name, shape, numel, offset of each tensor in the concatenated vector) is in
//! the provenance metadata ([`crate::Provenance`]); a file without it gets the layout of
//! its first sample (tensor order and lengths), which every later sample must match.

use anyhow::{bail, Result};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The column names, in order.
pub const GRAD_COLUMNS: [&str; 6] = ["step", "sample", "tensor", "values", "loss", "batch_size"];

/// One tensor of the parameter layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorLayout {
    pub name: String,
    pub shape: Vec<usize>,
    pub numel: usize,
    /// Position of the tensor's first coordinate in the concatenated gradient.
    pub offset: usize,
}

/// Builds a contiguous layout from (name, shape) pairs.
pub fn layout_from_shapes<S: AsRef<str>>(tensors: &[(S, Vec<usize>)]) -> Vec<TensorLayout> {
    let mut offset = 0;
    tensors
        .iter()
        .map(|(name, shape)| {
            let numel = shape.iter().product();
            let t = TensorLayout {
                name: name.as_ref().to_string(),
                shape: shape.clone(),
                numel,
                offset,
            };
            offset += numel;
            t
        })
        .collect()
}

/// Checks that a layout is usable: non-empty, unique names, numel = product of the shape,
/// offsets contiguous from 0.
pub fn check_layout(layout: &[TensorLayout]) -> Result<()> {
    if layout.is_empty() {
        bail!("the parameter layout is empty");
    }
    let mut seen = HashMap::new();
    let mut offset = 0;
    for (i, t) in layout.iter().enumerate() {
        if let Some(j) = seen.insert(t.name.as_str(), i) {
            bail!(
                "tensor `{}` appears twice in the layout (positions {j} and {i})",
                t.name
            );
        }
        let prod: usize = t.shape.iter().product();
        if prod != t.numel {
            bail!(
                "tensor `{}` has shape {:?} ({prod} values) but numel {}",
                t.name,
                t.shape,
                t.numel
            );
        }
        if t.offset != offset {
            bail!(
                "tensor `{}` has offset {} but the tensors before it end at {offset}",
                t.name,
                t.offset
            );
        }
        if t.numel == 0 {
            bail!("tensor `{}` is empty", t.name);
        }
        offset += t.numel;
    }
    Ok(())
}

/// The Arrow schema of the gradient matrix, with `metadata` (the provenance JSON under
/// [`crate::METADATA_KEY`]).
pub fn grad_schema(metadata: HashMap<String, String>) -> Arc<Schema> {
    Arc::new(
        Schema::new(vec![
            Field::new("step", DataType::UInt64, false),
            Field::new("sample", DataType::UInt32, false),
            Field::new(
                "tensor",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                false,
            ),
            Field::new(
                "values",
                DataType::List(Arc::new(Field::new("item", DataType::Float32, false))),
                false,
            ),
            Field::new("loss", DataType::Float64, true),
            Field::new("batch_size", DataType::UInt32, true),
        ])
        .with_metadata(metadata),
    )
}

/// Positions of the columns in a schema read from a file, after checking their types;
/// `loss` and `batch_size` are optional.
#[derive(Debug, Clone, Copy)]
pub struct ColumnIndex {
    pub step: usize,
    pub sample: usize,
    pub tensor: usize,
    pub values: usize,
    pub loss: Option<usize>,
    pub batch_size: Option<usize>,
}

/// The column names a reader requires, in order.
pub const REQUIRED_COLUMNS: [&str; 4] = ["step", "sample", "tensor", "values"];

/// Whether a `tensor` column of this type is read: utf8, large_utf8 or utf8_view, plain or
/// as a dictionary with any integer keys.
pub fn is_name_type(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(k, v) => {
            k.is_integer() && is_name_type(v) && !matches!(v.as_ref(), DataType::Dictionary(..))
        }
        _ => false,
    }
}

/// Whether a `values` column of this type is read: list, large_list or fixed_size_list
/// of float16, float32 or float64.
pub fn is_values_type(dt: &DataType) -> bool {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => matches!(
            f.data_type(),
            DataType::Float16 | DataType::Float32 | DataType::Float64
        ),
        _ => false,
    }
}

/// Checks a file's schema: the required columns present, and every column of the
/// gradient matrix of an accepted type (any integer type for `step`, `sample` and
/// `batch_size`; any float type for `loss`; see [`is_name_type`], [`is_values_type`]).
/// The message names the column, its type and what was expected.
pub fn check_schema(schema: &Schema) -> Result<ColumnIndex> {
    let find = |name: &str| -> Result<usize> {
        schema.index_of(name).map_err(|_| {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            anyhow::anyhow!(
                "missing column `{name}` (columns found: {}); a gradient matrix has columns {} (and optionally loss, batch_size)",
                have.join(", "),
                REQUIRED_COLUMNS.join(", ")
            )
        })
    };
    let idx = ColumnIndex {
        step: find("step")?,
        sample: find("sample")?,
        tensor: find("tensor")?,
        values: find("values")?,
        loss: schema.index_of("loss").ok(),
        batch_size: schema.index_of("batch_size").ok(),
    };
    let ty = |i: usize| schema.field(i).data_type();
    let wrong = |name: &str, got: &DataType, want: &str| {
        anyhow::anyhow!("column `{name}` has type {got}, expected {want}")
    };
    for (name, i) in [
        ("step", Some(idx.step)),
        ("sample", Some(idx.sample)),
        ("batch_size", idx.batch_size),
    ] {
        if let Some(i) = i {
            if !ty(i).is_integer() {
                return Err(wrong(name, ty(i), "an integer type"));
            }
        }
    }
    if !is_name_type(ty(idx.tensor)) {
        return Err(wrong(
            "tensor",
            ty(idx.tensor),
            "utf8 or large_utf8 (plain or dictionary-encoded)",
        ));
    }
    if !is_values_type(ty(idx.values)) {
        return Err(wrong(
            "values",
            ty(idx.values),
            "list, large_list or fixed_size_list of float16, float32 or float64",
        ));
    }
    if let Some(i) = idx.loss {
        if !ty(i).is_floating() {
            return Err(wrong("loss", ty(i), "a float type"));
        }
    }
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_checked() {
        let l = layout_from_shapes(&[("a", vec![2, 3]), ("b", vec![4])]);
        assert_eq!(l[1].offset, 6);
        check_layout(&l).unwrap();
        let mut bad = l.clone();
        bad[1].offset = 5;
        assert!(check_layout(&bad)
            .unwrap_err()
            .to_string()
            .contains("offset 5"));
        let mut bad = l.clone();
        bad[1].name = "a".into();
        assert!(check_layout(&bad)
            .unwrap_err()
            .to_string()
            .contains("appears twice"));
        let mut bad = l;
        bad[0].numel = 7;
        assert!(check_layout(&bad)
            .unwrap_err()
            .to_string()
            .contains("numel 7"));
    }

    #[test]
    fn schema_check_names_the_column() {
        let s = grad_schema(HashMap::new());
        check_schema(&s).unwrap();
        let fields: Vec<Field> = s
            .fields()
            .iter()
            .filter(|f| f.name() != "loss")
            .map(|f| f.as_ref().clone())
            .collect();
        // `loss` is optional.
        let idx = check_schema(&Schema::new(fields)).unwrap();
        assert!(idx.loss.is_none() && idx.batch_size.is_some());
        let fields: Vec<Field> = s
            .fields()
            .iter()
            .filter(|f| f.name() != "step")
            .map(|f| f.as_ref().clone())
            .collect();
        let e = check_schema(&Schema::new(fields)).unwrap_err().to_string();
        assert!(e.starts_with("missing column `step`"), "{e}");
        let with = |i: usize, f: Field| {
            let mut fields: Vec<Field> = s.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields[i] = f;
            check_schema(&Schema::new(fields))
        };
        let item = |t: DataType| Arc::new(Field::new("item", t, true));
        for ok in [
            DataType::List(item(DataType::Float64)),
            DataType::LargeList(item(DataType::Float16)),
            DataType::FixedSizeList(item(DataType::Float32), 6),
        ] {
            with(3, Field::new("values", ok, false)).unwrap();
        }
        let e = with(
            3,
            Field::new("values", DataType::List(item(DataType::Int32)), false),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("column `values` has type") && e.contains("expected list"),
            "{e}"
        );
        let e = with(3, Field::new("values", DataType::Float32, false))
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `values` has type Float32"), "{e}");
        for ok in [DataType::Int8, DataType::Int64, DataType::UInt16] {
            with(0, Field::new("step", ok, false)).unwrap();
        }
        let e = with(1, Field::new("sample", DataType::Float64, false))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column `sample` has type Float64, expected an integer type"),
            "{e}"
        );
        with(2, Field::new("tensor", DataType::LargeUtf8, false)).unwrap();
        with(
            2,
            Field::new(
                "tensor",
                DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::LargeUtf8)),
                false,
            ),
        )
        .unwrap();
    }
}
