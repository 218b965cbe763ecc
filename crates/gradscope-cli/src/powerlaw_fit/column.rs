//! `--column`: the values of a numeric column of one Parquet or CSV table, missing values
//! skipped (with a note).

use super::data_sets::DataSet;
use crate::read_column::read_column;
use anyhow::Result;
use gradscope_tool::errln;
use gradscope_tool::usage_bail;
use std::path::PathBuf;

/// The column `name` of the one table of `inputs`, as the data set (name, `values`).
pub fn read(inputs: &[PathBuf], name: &str) -> Result<DataSet> {
    let [input] = inputs else {
        usage_bail!(
            "--input: --column reads one table, not {} inputs",
            inputs.len()
        );
    };
    let col = read_column(input, name)?;
    if col.missing > 0 {
        errln!(
            "note: {} missing value(s) of column '{name}' skipped",
            col.missing
        );
    }
    Ok((name.to_string(), "values".into(), col.values, 0))
}
