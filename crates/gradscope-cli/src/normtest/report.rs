//! The rows `normtest` writes, each described once: the summary rows (`-o`, the stderr
//! summary and `--json`) and the per-coordinate rows (`--per-coordinate`).
//!
//! Percentages are of the tested non-constant sets that have a p-value; p-values and
//! beta/sigma^3 = E|X - mu|^3 / sigma^3 are dimensionless, and so is the tail index
//! alpha in (0, 2] (2: Gaussian tails).

use super::aggregate::CoordOut;
use super::steps::StepInfo;
use gradscope_io::TensorLayout;
use gradscope_tool::errln;
use gradscope_tool::report::{Column, Report};

/// One summary row.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: u64,
    pub tensor: String,
    /// "iteration" or "dimension".
    pub wise: &'static str,
    /// "shapiro" or "dagostino".
    pub test: &'static str,
    /// Values per tested set (samples per coordinate, or coordinates per gradient).
    pub n: u64,
    pub batch_size: u32,
    pub tested: u64,
    pub constant: u64,
    /// Non-constant sets without a p-value (the test is undefined for them).
    pub undefined: u64,
    pub gaussian: u64,
    pub gaussian_pct: f64,
    pub mean_p: f64,
    /// Quantiles 5, 50, 95 % of beta/sigma^3 and of the tail index (NaN where not kept).
    pub beta_q: [f64; 3],
    pub tail_q: [f64; 3],
}

/// One per-coordinate row as measured: the step and tensor by their index.
#[derive(Debug, Clone)]
pub struct CoordRow {
    pub step_idx: u32,
    pub scope: u32,
    pub index: u64,
    pub n: u32,
    pub out: CoordOut,
}

/// One per-coordinate row as written: the step and the tensor's name.
#[derive(Debug, Clone, Copy)]
pub struct CoordLine<'a> {
    pub step: u64,
    pub tensor: &'a str,
    pub row: &'a CoordRow,
}

/// The per-coordinate rows with their step and tensor named.
pub fn coordinate_lines<'a>(
    rows: &'a [CoordRow],
    steps: &[StepInfo],
    layout: &'a [TensorLayout],
) -> Vec<CoordLine<'a>> {
    rows.iter()
        .map(|r| CoordLine {
            step: steps[r.step_idx as usize].step,
            tensor: layout[r.scope as usize].name.as_str(),
            row: r,
        })
        .collect()
}

/// The summary rows, described once. The table's count columns are named for what was
/// tested (`coords_*` iteration-wise, `sets_*` with dimension-wise rows beside them) and
/// `wise` is a table column in dimension mode only; `--json` carries both under one
/// name whatever the mode (`tested`, `constant`, `undefined`, `wise`).
pub fn summary_report(dimension: bool) -> Report<Row> {
    let (tested, constant, undefined) = count_columns(dimension);
    let wise = if dimension {
        Column::str("wise", |r: &Row| r.wise).summary("wise").json()
    } else {
        Column::json_only("wise", |r: &Row| serde_json::json!(r.wise))
    };
    Report::new(vec![
        Column::u64("step", |r: &Row| r.step).summary("step").json(),
        Column::str("tensor", |r: &Row| r.tensor.as_str())
            .summary("tensor")
            .json(),
        wise,
        Column::str("test", |r: &Row| r.test).summary("test").json(),
        Column::u64("n", |r: &Row| r.n).summary("n").json(),
        Column::u64(tested, |r: &Row| r.tested)
            .summary("tested")
            .json_as("tested"),
        Column::u64(constant, |r: &Row| r.constant)
            .summary("constant")
            .json_as("constant"),
        Column::u64(undefined, |r: &Row| r.undefined).json_as("undefined"),
        Column::u64("gaussian", |r: &Row| r.gaussian).json(),
        Column::f64("gaussian_pct", |r: &Row| r.gaussian_pct)
            .unit("%")
            .summary("gaussian %")
            .json(),
        Column::f64("mean_p", |r: &Row| r.mean_p)
            .summary("mean p")
            .json(),
        Column::f64("beta_sigma3_q05", |r: &Row| r.beta_q[0]),
        Column::f64("beta_sigma3_q50", |r: &Row| r.beta_q[1])
            .summary("beta/s3 q50")
            .json(),
        Column::f64("beta_sigma3_q95", |r: &Row| r.beta_q[2]),
        Column::f64("tail_index_q05", |r: &Row| r.tail_q[0]),
        Column::f64("tail_index_q50", |r: &Row| r.tail_q[1])
            .summary("tail q50")
            .json(),
        Column::f64("tail_index_q95", |r: &Row| r.tail_q[2]),
        Column::u64("batch_size", |r: &Row| r.batch_size as u64)
            .summary_when_varied("batch")
            .json(),
    ])
}

/// The table names of the tested, constant and undefined counts: sets with
/// dimension-wise rows beside the iteration-wise ones, coordinates otherwise.
fn count_columns(dimension: bool) -> (&'static str, &'static str, &'static str) {
    if dimension {
        ("sets_tested", "sets_constant", "sets_undefined")
    } else {
        ("coords_tested", "coords_constant", "coords_undefined")
    }
}

/// The per-coordinate rows, described once (a table only; NaN: a test not run or
/// undefined).
pub fn coordinate_report<'a>() -> Report<CoordLine<'a>> {
    Report::new(vec![
        Column::u64("step", |r: &CoordLine<'a>| r.step),
        Column::str("tensor", |r: &CoordLine<'a>| r.tensor),
        Column::u64("index", |r: &CoordLine<'a>| r.row.index),
        Column::u64("n", |r: &CoordLine<'a>| r.row.n as u64),
        Column::f64("shapiro_w", |r: &CoordLine<'a>| r.row.out.shapiro_w),
        Column::f64("shapiro_p", |r: &CoordLine<'a>| r.row.out.shapiro_p),
        Column::f64("skew_z", |r: &CoordLine<'a>| r.row.out.skew_z),
        Column::f64("kurt_z", |r: &CoordLine<'a>| r.row.out.kurt_z),
        Column::f64("k2", |r: &CoordLine<'a>| r.row.out.k2),
        Column::f64("k2_p", |r: &CoordLine<'a>| r.row.out.k2_p),
        Column::f64("beta_sigma3", |r: &CoordLine<'a>| r.row.out.beta_sigma3),
        Column::f64("tail_index", |r: &CoordLine<'a>| r.row.out.tail_index),
    ])
}

/// The summary on stderr: the report's summary columns, then notes on the constant and
/// undefined sets left out of the percentage, and what the percentage is.
pub fn print_summary(report: &Report<Row>, rows: &[Row], dimension: bool, alpha: f64) {
    gradscope_tool::console::err(&report.summary(rows));
    let first = rows.first().map(|r| r.test);
    let constant: Vec<String> = rows
        .iter()
        .filter(|r| Some(r.test) == first && r.constant > 0 && !(dimension && r.tensor == "all"))
        .map(|r| {
            format!(
                "{} at step {}: {} of {}",
                r.tensor, r.step, r.constant, r.tested
            )
        })
        .collect();
    if !constant.is_empty() {
        errln!(
            "note: constant coordinates (every gradient equal, e.g. dead units), not tested and left out of gaussian % (column {}): {}",
            count_columns(dimension).1,
            constant.join("; ")
        );
    }
    let undefined: u64 = rows.iter().map(|r| r.undefined).sum();
    if undefined > 0 {
        errln!("note: {undefined} test results were undefined (spread below floating-point resolution) and left out of gaussian % (column *_undefined)");
    }
    errln!("gaussian %: share of tested non-constant sets with p > {alpha}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            step: 2,
            tensor: "fc1".into(),
            wise: "iteration",
            test: "shapiro",
            n: 40,
            batch_size: 8,
            tested: 20,
            constant: 1,
            undefined: 0,
            gaussian: 18,
            gaussian_pct: 18.0 / 19.0 * 100.0,
            mean_p: 0.5,
            beta_q: [1.0, 1.5, 2.0],
            tail_q: [f64::NAN; 3],
        }
    }

    #[test]
    fn table_names_follow_the_mode_json_keys_do_not() {
        let rows = [row()];
        for dimension in [false, true] {
            let report = summary_report(dimension);
            let t = report.table(&rows).unwrap();
            let names: Vec<String> = t
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let prefix = if dimension { "sets" } else { "coords" };
            assert!(names.contains(&format!("{prefix}_tested")), "{names:?}");
            assert_eq!(names.contains(&"wise".to_string()), dimension);
            let j = report.json(&rows);
            let mut keys: Vec<&String> = j[0].as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "batch_size",
                    "beta_sigma3_q50",
                    "constant",
                    "gaussian",
                    "gaussian_pct",
                    "mean_p",
                    "n",
                    "step",
                    "tail_index_q50",
                    "tensor",
                    "test",
                    "tested",
                    "undefined",
                    "wise"
                ]
            );
            assert_eq!(j[0]["tail_index_q50"], serde_json::Value::Null);
        }
        assert_eq!(
            summary_report(false).summary(&rows),
            "step  tensor     test   n  tested  constant  gaussian %    mean p  beta/s3 q50  tail q50\n   \
             2     fc1  shapiro  40      20         1     94.7368  0.500000      1.50000       NaN\n"
        );
    }
}
