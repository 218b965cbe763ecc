//! Building result tables column by column.

use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Named columns of equal length, turned into an Arrow record batch.
#[derive(Debug, Default)]
pub struct TableBuilder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl TableBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A float column; NaN is written as null so that readers see a missing value.
    pub fn f64(mut self, name: &str, values: impl IntoIterator<Item = f64>) -> Self {
        let a: Float64Array = values
            .into_iter()
            .map(|v| (!v.is_nan()).then_some(v))
            .collect();
        self.fields.push(Field::new(name, DataType::Float64, true));
        self.columns.push(Arc::new(a));
        self
    }

    pub fn u64(mut self, name: &str, values: impl IntoIterator<Item = u64>) -> Self {
        self.fields.push(Field::new(name, DataType::UInt64, false));
        self.columns
            .push(Arc::new(UInt64Array::from_iter_values(values)));
        self
    }

    pub fn bool(mut self, name: &str, values: impl IntoIterator<Item = bool>) -> Self {
        let a: BooleanArray = values.into_iter().map(Some).collect();
        self.fields.push(Field::new(name, DataType::Boolean, false));
        self.columns.push(Arc::new(a));
        self
    }

    pub fn str<S: AsRef<str>>(mut self, name: &str, values: impl IntoIterator<Item = S>) -> Self {
        self.fields.push(Field::new(name, DataType::Utf8, false));
        self.columns
            .push(Arc::new(StringArray::from_iter_values(values)));
        self
    }

    pub fn build(self) -> anyhow::Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(self.fields)),
            self.columns,
        )?)
    }
}
