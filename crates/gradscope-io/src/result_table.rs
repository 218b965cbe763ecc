//! Result tables: small tables of numbers that open in polars, DuckDB, pandas or a
//! spreadsheet.
//!
//! The format follows the output path's extension: `.parquet` (with the provenance JSON
//! in the key-value metadata under `gradscope`), `.csv` (a header line, then one line per
//! row), `.json` (an array of row objects); `-` writes CSV to stdout so results can be
//! piped into other tools. Files are written atomically.

use crate::atomic::AtomicFile;
use crate::provenance::Provenance;
use crate::{is_stdio, METADATA_KEY};
use anyhow::{bail, Context, Result};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::io::Write;
use std::path::Path;

/// The formats of result tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    Csv,
    Json,
}

impl TableFormat {
    /// The format a path asks for; `-` is CSV on stdout.
    pub fn from_path(path: &Path) -> Result<Self> {
        if is_stdio(path) {
            return Ok(Self::Csv);
        }
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("parquet") | Some("pq") => Ok(Self::Parquet),
            Some("csv") => Ok(Self::Csv),
            Some("json") => Ok(Self::Json),
            _ => bail!("{}: unknown output format; name the file .parquet, .csv or .json (or `-` for CSV on stdout)", path.display()),
        }
    }
}

/// Writes `batch` to `path` in the format its extension names.
pub fn write_table(path: &Path, batch: &RecordBatch, provenance: &Provenance) -> Result<()> {
    if is_stdio(path) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        lock.write_all(&csv_bytes(batch)?)
            .context("cannot write to stdout")?;
        lock.flush().context("cannot write to stdout")?;
        return Ok(());
    }
    stage_table(path, batch, provenance)?.commit()
}

/// The table as CSV bytes (what `-` writes to stdout).
pub fn csv_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_csv(&mut out, batch)?;
    Ok(out)
}

/// Writes `batch` to a temporary file beside `path` in the format its extension names,
/// and returns it uncommitted: it appears under `path` only when committed, so a tool
/// writing several outputs can commit them all or none.
pub fn stage_table(
    path: &Path,
    batch: &RecordBatch,
    provenance: &Provenance,
) -> Result<AtomicFile> {
    let format = TableFormat::from_path(path)?;
    if is_stdio(path) {
        bail!("stdout cannot be staged; write its bytes at the end instead");
    }
    let file = AtomicFile::create(path)?;
    let name = path.display().to_string();
    match format {
        TableFormat::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_key_value_metadata(Some(vec![KeyValue::new(
                    METADATA_KEY.to_string(),
                    provenance.to_json(),
                )]))
                .build();
            let mut w = ArrowWriter::try_new(file.file()?, batch.schema(), Some(props))
                .with_context(|| format!("cannot write {name}"))?;
            w.write(batch)
                .with_context(|| format!("cannot write {name}"))?;
            w.close().with_context(|| format!("cannot write {name}"))?;
        }
        TableFormat::Csv => {
            let mut w = file.writer()?;
            write_csv(&mut w, batch).with_context(|| format!("cannot write {name}"))?;
            w.flush().with_context(|| format!("cannot write {name}"))?;
        }
        TableFormat::Json => {
            let mut w = file.writer()?;
            let mut jw = arrow::json::ArrayWriter::new(&mut w);
            jw.write(batch)
                .with_context(|| format!("cannot write {name}"))?;
            jw.finish()
                .with_context(|| format!("cannot write {name}"))?;
            drop(jw);
            w.flush().with_context(|| format!("cannot write {name}"))?;
        }
    }
    Ok(file)
}

fn write_csv<W: Write>(w: &mut W, batch: &RecordBatch) -> Result<()> {
    let mut cw = arrow::csv::WriterBuilder::new().with_header(true).build(w);
    cw.write(batch)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("scope", DataType::Utf8, false),
            Field::new("kappa", DataType::Float64, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["all", "fc1"])),
                Arc::new(Float64Array::from(vec![Some(1.5), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn three_formats() {
        let dir = tempfile::tempdir().unwrap();
        let p = Provenance::new("test", "t 0");
        write_table(&dir.path().join("r.csv"), &batch(), &p).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("r.csv")).unwrap(),
            "scope,kappa\nall,1.5\nfc1,\n"
        );
        write_table(&dir.path().join("r.json"), &batch(), &p).unwrap();
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap())
                .unwrap();
        assert_eq!(j[0]["kappa"], serde_json::json!(1.5));
        write_table(&dir.path().join("r.parquet"), &batch(), &p).unwrap();
        let f = std::fs::File::open(dir.path().join("r.parquet")).unwrap();
        let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        let kv = b.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == METADATA_KEY));
        let e = write_table(&dir.path().join("r.txt"), &batch(), &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown output format"), "{e}");
    }
}
