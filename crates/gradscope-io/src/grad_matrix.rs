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
//! | `loss` | float64 | the minibatch loss |
//! | `batch_size` | uint32 | the minibatch size |
//!
//! Rows are ordered by step, then sample, then the parameter order of the layout; every
//! sample holds every tensor of the layout; a Parquet row group never splits a sample.
//! The layout (name, shape, numel, offset of each tensor in the concatenated vector) is in
//! the provenance metadata ([`crate::Provenance`]).

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

/// Positions of the six columns in a schema read from a file, after checking their types.
#[derive(Debug, Clone, Copy)]
pub struct ColumnIndex {
    pub step: usize,
    pub sample: usize,
    pub tensor: usize,
    pub values: usize,
    pub loss: usize,
    pub batch_size: usize,
}

/// Checks a file's schema: every column present with an acceptable type. The message
/// names the column, its type and what was expected.
pub fn check_schema(schema: &Schema) -> Result<ColumnIndex> {
    let find = |name: &str| -> Result<usize> {
        schema.index_of(name).map_err(|_| {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            anyhow::anyhow!(
                "missing column `{name}` (columns found: {}); a gradient matrix has columns {}",
                have.join(", "),
                GRAD_COLUMNS.join(", ")
            )
        })
    };
    let idx = ColumnIndex {
        step: find("step")?,
        sample: find("sample")?,
        tensor: find("tensor")?,
        values: find("values")?,
        loss: find("loss")?,
        batch_size: find("batch_size")?,
    };
    let ty = |i: usize| schema.field(i).data_type();
    let wrong = |name: &str, got: &DataType, want: &str| {
        anyhow::anyhow!("column `{name}` has type {got}, expected {want}")
    };
    if ty(idx.step) != &DataType::UInt64 {
        return Err(wrong("step", ty(idx.step), "uint64"));
    }
    if ty(idx.sample) != &DataType::UInt32 {
        return Err(wrong("sample", ty(idx.sample), "uint32"));
    }
    match ty(idx.tensor) {
        DataType::Utf8 | DataType::LargeUtf8 => {}
        DataType::Dictionary(_, v)
            if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8) => {}
        other => return Err(wrong("tensor", other, "utf8 (dictionary-encoded)")),
    }
    match ty(idx.values) {
        DataType::List(f) | DataType::LargeList(f) if f.data_type() == &DataType::Float32 => {}
        other => return Err(wrong("values", other, "list<float32>")),
    }
    if ty(idx.loss) != &DataType::Float64 {
        return Err(wrong("loss", ty(idx.loss), "float64"));
    }
    if ty(idx.batch_size) != &DataType::UInt32 {
        return Err(wrong("batch_size", ty(idx.batch_size), "uint32"));
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
        let e = check_schema(&Schema::new(fields)).unwrap_err().to_string();
        assert!(e.starts_with("missing column `loss`"), "{e}");
        let mut fields: Vec<Field> = s.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[3] = Field::new(
            "values",
            DataType::List(Arc::new(Field::new("item", DataType::Float64, true))),
            false,
        );
        let e = check_schema(&Schema::new(fields)).unwrap_err().to_string();
        assert!(
            e.contains("column `values` has type") && e.contains("expected list<float32>"),
            "{e}"
        );
    }
}
