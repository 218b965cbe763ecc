//! A whole result table (CSV or Parquet, by extension) in memory, with its columns as
//! numbers or as text. For the small tables the tools write (one row per step, fit or
//! bin); gradient matrices are read by `gradscope_io::GradReader`, which streams.

use anyhow::{bail, Context, Result};
use arrow::array::{Array, Float64Array, StringArray};
use arrow::compute::{cast, concat_batches};
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A table read whole.
#[derive(Debug)]
pub struct Table {
    path: PathBuf,
    batch: RecordBatch,
}

impl Table {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, name: &str) -> Result<&Arc<dyn Array>> {
        let schema = self.batch.schema();
        match schema.index_of(name) {
            Ok(i) => Ok(self.batch.column(i)),
            Err(_) => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                bail!(
                    "{}: no column '{name}'; the columns are: {}",
                    self.path.display(),
                    names.join(", ")
                )
            }
        }
    }

    /// Column `name` as numbers (None where missing).
    pub fn numeric(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let col = self.column(name)?;
        if !col.data_type().is_numeric() && col.data_type() != &DataType::Null {
            bail!(
                "{}: column '{name}' holds {} values, not numbers",
                self.path.display(),
                col.data_type()
            );
        }
        let a = cast(col, &DataType::Float64)?;
        let a = a
            .as_any()
            .downcast_ref::<Float64Array>()
            .context("cast to f64")?;
        Ok(a.iter().collect())
    }

    /// Column `name` as text (numbers formatted as Arrow casts them, e.g. `64`, `0.5`).
    pub fn text(&self, name: &str) -> Result<Vec<Option<String>>> {
        let col = self.column(name)?;
        let a = cast(col, &DataType::Utf8).with_context(|| {
            format!(
                "{}: column '{name}' cannot be read as text",
                self.path.display()
            )
        })?;
        let a = a
            .as_any()
            .downcast_ref::<StringArray>()
            .context("cast to utf8")?;
        Ok(a.iter().map(|s| s.map(String::from)).collect())
    }
}

/// A table file opened by its extension, with its schema read and no rows yet.
pub(crate) enum TableFile {
    Parquet(ParquetRecordBatchReaderBuilder<File>),
    Csv(CsvTable<File>),
}

/// A CSV table with a header row, its schema inferred from the whole file.
pub(crate) struct CsvTable<R> {
    reader: R,
    schema: SchemaRef,
    format: Format,
}

impl<R: Read + Seek> CsvTable<R> {
    /// Infers the schema of the CSV in `reader` (`path` names it in messages) and
    /// rewinds it. Inference reads every row, so a row of another length anywhere in the
    /// file fails here, named by its line.
    pub(crate) fn infer(mut reader: R, path: &Path) -> Result<Self> {
        let format = Format::default().with_header(true);
        let (schema, _) = format
            .infer_schema(&mut reader, None)
            .with_context(|| format!("{}: cannot read the CSV table", path.display()))?;
        reader.rewind()?;
        Ok(Self {
            reader,
            schema: Arc::new(schema),
            format,
        })
    }
}

impl<R: Read> CsvTable<R> {
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows in batches, of every column or of the columns in `projection`.
    pub(crate) fn batches(self, projection: Option<Vec<usize>>) -> Result<arrow::csv::Reader<R>> {
        let mut builder = arrow::csv::ReaderBuilder::new(self.schema).with_format(self.format);
        if let Some(p) = projection {
            builder = builder.with_projection(p);
        }
        Ok(builder.build(self.reader)?)
    }
}

/// Opens the table at `path` by its extension (`.parquet`/`.pq` or `.csv`, any case) and
/// reads its schema, inferred from the whole file for CSV; None for another extension.
pub(crate) fn open_table(path: &Path) -> Result<Option<TableFile>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(match ext.as_str() {
        "parquet" | "pq" => Some(TableFile::Parquet(
            ParquetRecordBatchReaderBuilder::try_new(file)
                .with_context(|| format!("{}: not a readable Parquet file", path.display()))?,
        )),
        "csv" => Some(TableFile::Csv(CsvTable::infer(file, path)?)),
        _ => None,
    })
}

/// Reads the `.csv` or `.parquet` table at `path`.
pub fn read_table(path: &Path) -> Result<Table> {
    let Some(table) = open_table(path)? else {
        bail!(
            "{}: unknown table format (expected .csv or .parquet)",
            path.display()
        );
    };
    let (schema, batches): (_, Vec<RecordBatch>) = match table {
        TableFile::Parquet(builder) => {
            let schema = builder.schema().clone();
            let batches = builder
                .build()?
                .collect::<Result<_, _>>()
                .with_context(|| format!("{}: cannot read", path.display()))?;
            (schema, batches)
        }
        TableFile::Csv(csv) => {
            let schema = csv.schema().clone();
            let batches = csv
                .batches(None)?
                .collect::<Result<_, _>>()
                .with_context(|| format!("{}: cannot parse the CSV", path.display()))?;
            (schema, batches)
        }
    };
    let batch = concat_batches(&schema, &batches)?;
    Ok(Table {
        path: path.to_path_buf(),
        batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_as_numbers_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "step,scope,kappa\n0,all,1.5\n0,fc1,\n10,all,2.25\n").unwrap();
        let t = read_table(&p).unwrap();
        assert_eq!(t.rows(), 3);
        assert_eq!(
            t.numeric("kappa").unwrap(),
            vec![Some(1.5), None, Some(2.25)]
        );
        assert_eq!(
            t.text("scope").unwrap(),
            vec![Some("all".into()), Some("fc1".into()), Some("all".into())]
        );
        assert_eq!(t.text("step").unwrap()[2].as_deref(), Some("10"));
        let e = t.numeric("scope").unwrap_err().to_string();
        assert!(e.contains("not numbers"), "{e}");
        let e = t.numeric("nope").unwrap_err().to_string();
        assert!(e.contains("the columns are: step, scope, kappa"), "{e}");
    }
}
