//! A tool's result rows, described once.
//!
//! Each column says its name, its unit, how its value is read from a row, the label it
//! has in the stderr summary (if the summary shows it) and whether `--json` carries it.
//! The result table, the summary and the JSON are all produced from that one list, so a
//! column is added, renamed or dropped in one place.
//!
//! Formatting: in the table floats are f64 with NaN written as null (missing); in the
//! summary they take [`num`] (6 significant digits); in JSON NaN and infinities are null.
//! A column may format its summary cell its own way ([`Column::summary_with`]: a mean with
//! its sd, a dash for a missing fit) or give JSON a richer value than the table's
//! ([`Column::json_with`]: a shape as an array); a value that only JSON carries (a
//! message) is a [`Column::json_only`] column, which the table leaves out; a column whose
//! table name depends on the mode keeps one JSON key ([`Column::json_as`]); a column
//! the summary shows as a placeholder where the table leaves it out is a
//! [`Column::summary_only`] column.

use crate::table_builder::TableBuilder;
use crate::text_table::{json_num, num, render_table};
use arrow::record_batch::RecordBatch;

/// How a column's value is read from a row.
pub enum Value<R> {
    U64(fn(&R) -> u64),
    F64(fn(&R) -> f64),
    Str(fn(&R) -> &str),
    /// A text made for the row (a shape written `16x8`).
    String(fn(&R) -> String),
    Bool(fn(&R) -> bool),
}

/// One column of a result table.
pub struct Column<R> {
    /// The table's column name (and the JSON key).
    pub name: &'static str,
    /// Its unit ("" when dimensionless or a count).
    pub unit: &'static str,
    pub value: Value<R>,
    /// The header in the stderr summary; None: not shown there.
    pub summary: Option<&'static str>,
    /// The summary cell, when not the value formatted as usual.
    pub summary_text: Option<fn(&R) -> String>,
    /// Shown in the summary only when the rows do not all have the same value.
    pub summary_when_varied: bool,
    /// Whether `--json` carries it.
    pub json: bool,
    /// The JSON value, when not the table's value.
    pub json_value: Option<fn(&R) -> serde_json::Value>,
    /// The JSON key, when not the table's name.
    pub json_key: Option<&'static str>,
    /// Whether the result table has it (false for JSON-only columns).
    pub in_table: bool,
}

impl<R> std::fmt::Debug for Column<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name)
            .field("unit", &self.unit)
            .field("summary", &self.summary)
            .field("json", &self.json)
            .field("json_key", &self.json_key)
            .field("in_table", &self.in_table)
            .finish()
    }
}

impl<R> Column<R> {
    pub fn u64(name: &'static str, value: fn(&R) -> u64) -> Self {
        Self::new(name, Value::U64(value))
    }
    pub fn f64(name: &'static str, value: fn(&R) -> f64) -> Self {
        Self::new(name, Value::F64(value))
    }
    pub fn str(name: &'static str, value: fn(&R) -> &str) -> Self {
        Self::new(name, Value::Str(value))
    }
    pub fn string(name: &'static str, value: fn(&R) -> String) -> Self {
        Self::new(name, Value::String(value))
    }
    pub fn bool(name: &'static str, value: fn(&R) -> bool) -> Self {
        Self::new(name, Value::Bool(value))
    }
    /// A column only `--json` carries (the table and the summary leave it out).
    pub fn json_only(name: &'static str, value: fn(&R) -> serde_json::Value) -> Self {
        let mut c = Self::new(name, Value::Str(|_| ""));
        c.in_table = false;
        c.json = true;
        c.json_value = Some(value);
        c
    }
    /// A column only the stderr summary shows, under `label`, its cell written by `text`
    /// (the table and `--json` leave it out): the summary keeps the place of an optional
    /// column that is off in this run (a `-` where no p-value was computed).
    pub fn summary_only(label: &'static str, text: fn(&R) -> String) -> Self {
        let mut c = Self::new(label, Value::Str(|_| ""));
        c.in_table = false;
        c.summary = Some(label);
        c.summary_text = Some(text);
        c
    }
    fn new(name: &'static str, value: Value<R>) -> Self {
        Self {
            name,
            unit: "",
            value,
            summary: None,
            summary_text: None,
            summary_when_varied: false,
            json: false,
            json_value: None,
            json_key: None,
            in_table: true,
        }
    }
    /// The unit (documentation; shown by nothing but the description).
    pub fn unit(mut self, unit: &'static str) -> Self {
        self.unit = unit;
        self
    }
    /// Shown in the stderr summary under `label`.
    pub fn summary(mut self, label: &'static str) -> Self {
        self.summary = Some(label);
        self
    }
    /// Shown in the stderr summary under `label` when the rows differ in it (a batch
    /// size column, which only tells rows apart when a matrix holds several).
    pub fn summary_when_varied(mut self, label: &'static str) -> Self {
        self.summary = Some(label);
        self.summary_when_varied = true;
        self
    }
    /// Shown in the stderr summary under `label`, its cell written by `text`.
    pub fn summary_with(mut self, label: &'static str, text: fn(&R) -> String) -> Self {
        self.summary = Some(label);
        self.summary_text = Some(text);
        self
    }
    /// Carried by `--json`.
    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }
    /// Carried by `--json` as `value` gives it.
    pub fn json_with(mut self, value: fn(&R) -> serde_json::Value) -> Self {
        self.json = true;
        self.json_value = Some(value);
        self
    }
    /// Carried by `--json` under `key` rather than the table's name: a key that stays the
    /// same where the table's name depends on the mode (`coords_tested`, `sets_tested`).
    pub fn json_as(mut self, key: &'static str) -> Self {
        self.json = true;
        self.json_key = Some(key);
        self
    }
    fn text(&self, row: &R) -> String {
        if let Some(f) = self.summary_text {
            return f(row);
        }
        match &self.value {
            Value::U64(f) => f(row).to_string(),
            Value::F64(f) => num(f(row)),
            Value::Str(f) => f(row).to_string(),
            Value::String(f) => f(row),
            Value::Bool(f) => f(row).to_string(),
        }
    }
    fn json_value(&self, row: &R) -> serde_json::Value {
        if let Some(f) = self.json_value {
            return f(row);
        }
        match &self.value {
            Value::U64(f) => serde_json::json!(f(row)),
            Value::F64(f) => json_num(f(row)),
            Value::Str(f) => serde_json::json!(f(row)),
            Value::String(f) => serde_json::json!(f(row)),
            Value::Bool(f) => serde_json::json!(f(row)),
        }
    }
}

/// The columns of a tool's result rows, in table order.
#[derive(Debug)]
pub struct Report<R> {
    pub columns: Vec<Column<R>>,
}

impl<R> Report<R> {
    pub fn new(columns: Vec<Column<R>>) -> Self {
        Self { columns }
    }

    /// The result table: every column, in order.
    pub fn table(&self, rows: &[R]) -> anyhow::Result<RecordBatch> {
        let mut t = TableBuilder::new();
        for c in self.columns.iter().filter(|c| c.in_table) {
            t = match &c.value {
                Value::U64(f) => t.u64(c.name, rows.iter().map(f)),
                Value::F64(f) => t.f64(c.name, rows.iter().map(f)),
                Value::Str(f) => t.str(c.name, rows.iter().map(f)),
                Value::String(f) => t.str(c.name, rows.iter().map(f)),
                Value::Bool(f) => t.bool(c.name, rows.iter().map(f)),
            };
        }
        t.build()
    }

    /// The stderr summary: the columns with a summary label, as an aligned text table.
    pub fn summary(&self, rows: &[R]) -> String {
        let varies = |c: &Column<R>| {
            let mut cells = rows.iter().map(|r| c.text(r));
            cells
                .next()
                .is_some_and(|first| cells.any(|other| other != first))
        };
        let shown: Vec<&Column<R>> = self
            .columns
            .iter()
            .filter(|c| c.summary.is_some() && (!c.summary_when_varied || varies(c)))
            .collect();
        let header: Vec<&str> = shown.iter().filter_map(|c| c.summary).collect();
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| shown.iter().map(|c| c.text(r)).collect())
            .collect();
        render_table(&header, &body)
    }

    /// One row's summary columns on one line, each as `label value` (a progress log's
    /// line, e.g. one per epoch while training).
    pub fn line(&self, row: &R) -> String {
        let parts: Vec<String> = self
            .columns
            .iter()
            .filter_map(|c| c.summary.map(|label| format!("{label} {}", c.text(row))))
            .collect();
        parts.join("  ")
    }

    /// One JSON object per row with the columns `--json` carries.
    pub fn json(&self, rows: &[R]) -> serde_json::Value {
        serde_json::Value::Array(
            rows.iter()
                .map(|r| {
                    let mut o = serde_json::Map::new();
                    for c in self.columns.iter().filter(|c| c.json) {
                        o.insert(c.json_key.unwrap_or(c.name).to_string(), c.json_value(r));
                    }
                    serde_json::Value::Object(o)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        step: u64,
        scope: String,
        kappa: f64,
    }

    #[test]
    fn one_description_three_renderings() {
        let report = Report::new(vec![
            Column::u64("step", |r: &Row| r.step).summary("step").json(),
            Column::str("scope", |r: &Row| r.scope.as_str()).json(),
            Column::f64("kappa", |r: &Row| r.kappa)
                .summary("kappa")
                .json(),
        ]);
        let rows = vec![
            Row {
                step: 0,
                scope: "all".into(),
                kappa: 6527.0912,
            },
            Row {
                step: 10,
                scope: "fc1".into(),
                kappa: f64::NAN,
            },
        ];
        let t = report.table(&rows).unwrap();
        assert_eq!(t.num_columns(), 3);
        assert_eq!(t.column(2).null_count(), 1);
        assert_eq!(
            report.summary(&rows),
            "step    kappa\n   0  6527.09\n  10      NaN\n"
        );
        let j = report.json(&rows);
        assert_eq!(j[1]["kappa"], serde_json::Value::Null);
        assert_eq!(j[0]["scope"], "all");
    }

    #[test]
    fn own_summary_cells_and_json_values() {
        let report = Report::new(vec![
            Column::str("scope", |r: &Row| r.scope.as_str())
                .summary("scope")
                .json_with(|r| serde_json::json!([r.scope.len()])),
            Column::f64("kappa", |r: &Row| r.kappa)
                .summary_with("kappa +- step", |r| format!("{:.1} ± {}", r.kappa, r.step)),
            Column::json_only("note", |r: &Row| serde_json::json!(r.step > 5)),
        ]);
        let rows = vec![Row {
            step: 10,
            scope: "fc1".into(),
            kappa: 2.5,
        }];
        let t = report.table(&rows).unwrap();
        assert_eq!(
            t.num_columns(),
            2,
            "json-only columns stay out of the table"
        );
        assert_eq!(
            report.summary(&rows),
            "scope  kappa +- step\n  fc1       2.5 ± 10\n"
        );
        assert_eq!(report.line(&rows[0]), "scope fc1  kappa +- step 2.5 ± 10");
        let j = report.json(&rows);
        assert_eq!(j[0]["scope"], serde_json::json!([3]));
        assert_eq!(j[0]["note"], true);
        assert!(j[0].get("kappa").is_none());
    }

    #[test]
    fn json_key_other_than_the_table_name() {
        let report = Report::new(vec![
            Column::u64("coords_tested", |r: &Row| r.step)
                .summary("tested")
                .json_as("tested"),
            Column::str("scope", |r: &Row| r.scope.as_str()).json(),
        ]);
        let rows = vec![Row {
            step: 7,
            scope: "fc1".into(),
            kappa: 1.0,
        }];
        let t = report.table(&rows).unwrap();
        assert_eq!(t.schema().field(0).name(), "coords_tested");
        assert_eq!(report.summary(&rows), "tested\n     7\n");
        let j = report.json(&rows);
        assert_eq!(j[0]["tested"], 7);
        assert!(j[0].get("coords_tested").is_none());
        assert_eq!(j[0]["scope"], "fc1");
    }

    #[test]
    fn columns_shown_when_they_tell_rows_apart() {
        let report = Report::new(vec![
            Column::u64("step", |r: &Row| r.step).summary("step"),
            Column::f64("kappa", |r: &Row| r.kappa).summary_when_varied("batch"),
        ]);
        let row = |kappa| Row {
            step: 1,
            scope: "all".into(),
            kappa,
        };
        // Two rows of one step: without the varying column they would read the same.
        assert_eq!(
            report.summary(&[row(8.0), row(64.0)]),
            "step    batch\n   1  8.00000\n   1  64.0000\n"
        );
        assert_eq!(report.summary(&[row(8.0), row(8.0)]), "step\n   1\n   1\n");
        assert_eq!(report.summary(&[]), "step\n");
    }

    #[test]
    fn summary_only_columns() {
        let report = Report::new(vec![
            Column::u64("step", |r: &Row| r.step).summary("step").json(),
            Column::summary_only("p_gof", |_: &Row| "-".into()),
        ]);
        let rows = vec![Row {
            step: 3,
            scope: "all".into(),
            kappa: 1.0,
        }];
        assert_eq!(report.table(&rows).unwrap().num_columns(), 1);
        assert_eq!(report.summary(&rows), "step  p_gof\n   3      -\n");
        assert!(report.json(&rows)[0].get("p_gof").is_none());
    }
}
