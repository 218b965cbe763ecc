//! What the tests of one (step, scope) add up to: the counts behind the percentage of
//! Gaussian sets and the mean p-value, and the values behind the quantiles of
//! beta/sigma^3 and of the tail index; then the summary rows made from them.

use super::report::Row;
use super::steps::StepInfo;
use gradscope_io::TensorLayout;
use gradscope_stats::normality::CoordinateReport;

/// The results of one coordinate that the tool keeps (NaN: not run or undefined).
#[derive(Debug, Clone, Copy)]
pub struct CoordOut {
    pub constant: bool,
    pub shapiro_w: f64,
    pub shapiro_p: f64,
    pub skew_z: f64,
    pub kurt_z: f64,
    pub k2: f64,
    pub k2_p: f64,
    pub beta_sigma3: f64,
    pub tail_index: f64,
}

impl From<&CoordinateReport> for CoordOut {
    fn from(r: &CoordinateReport) -> Self {
        let f = |x: Option<f64>| x.unwrap_or(f64::NAN);
        Self {
            constant: r.constant,
            shapiro_w: f(r.shapiro_w),
            shapiro_p: f(r.shapiro_p),
            skew_z: f(r.skew_z),
            kurt_z: f(r.kurt_z),
            k2: f(r.k2),
            k2_p: f(r.k2_p),
            beta_sigma3: f(r.beta_sigma3),
            tail_index: f(r.tail_index),
        }
    }
}

/// Counts behind one test's Gaussian percentage and mean p-value.
#[derive(Debug, Clone, Default)]
pub struct TestAgg {
    /// Non-constant sets with a p-value.
    pub with_p: u64,
    /// Of those, p > alpha.
    pub accepted: u64,
    /// Sum of their p-values (f64, in coordinate order).
    pub sum_p: f64,
}

impl TestAgg {
    pub fn add(&mut self, p: f64, alpha: f64) {
        if !p.is_nan() {
            self.with_p += 1;
            self.accepted += u64::from(p > alpha);
            self.sum_p += p;
        }
    }
}

/// Everything one (step, scope) accumulates.
#[derive(Debug, Clone, Default)]
pub struct Agg {
    pub tested: u64,
    pub constant: u64,
    pub shapiro: TestAgg,
    pub dagostino: TestAgg,
    pub beta_sigma3: Vec<f64>,
    pub tail_index: Vec<f64>,
}

impl Agg {
    pub fn add(&mut self, c: &CoordOut, alpha: f64, keep_quantiles: bool) {
        self.tested += 1;
        if c.constant {
            self.constant += 1;
            return;
        }
        self.shapiro.add(c.shapiro_p, alpha);
        self.dagostino.add(c.k2_p, alpha);
        if keep_quantiles {
            if c.beta_sigma3.is_finite() {
                self.beta_sigma3.push(c.beta_sigma3);
            }
            if c.tail_index.is_finite() {
                self.tail_index.push(c.tail_index);
            }
        }
    }
}

/// The quantile q of sorted finite values: linear interpolation between order
/// statistics (Hyndman and Fan's type 7, numpy's and R's default); NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The 5, 50 and 95 % quantiles of `v` (its NaN-free values, in any order).
pub fn quantiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    [0.05, 0.5, 0.95].map(|q| quantile(&v, q))
}

/// The summary rows, in (step, scope, wise, test) order: per step, the tensors (and in
/// dimension mode the whole gradient, scope `all`), each with its iteration-wise sets
/// (and dimension-wise ones); a scope without a tested set has no row. Quantiles of
/// beta/sigma^3 and the tail index are iteration-wise only (NaN in dimension-wise rows).
pub fn summary_rows(
    steps: &[StepInfo],
    layout: &[TensorLayout],
    dim: usize,
    aggs: &mut [Vec<Agg>],
    mut dim_aggs: Vec<Vec<Agg>>,
    tests: &[&'static str],
    dimension: bool,
    dim_coords: usize,
) -> Vec<Row> {
    let all_scope = layout.len();
    let mut rows: Vec<Row> = Vec::new();
    let scopes = if dimension {
        layout.len() + 1
    } else {
        layout.len()
    };
    for (idx, info) in steps.iter().enumerate() {
        for scope in 0..scopes {
            let name = if scope == all_scope {
                "all".to_string()
            } else {
                layout[scope].name.clone()
            };
            let mut wise = vec![(
                "iteration",
                info.m as u64,
                std::mem::take(&mut aggs[idx][scope]),
            )];
            if dimension {
                let numel = if scope == all_scope {
                    dim
                } else {
                    layout[scope].numel
                };
                let k = dim_coords.min(numel) as u64;
                wise.push(("dimension", k, std::mem::take(&mut dim_aggs[idx][scope])));
            }
            for (kind, n, agg) in wise {
                if agg.tested == 0 {
                    continue;
                }
                let beta_q = if kind == "iteration" {
                    quantiles(agg.beta_sigma3)
                } else {
                    [f64::NAN; 3]
                };
                let tail_q = if kind == "iteration" {
                    quantiles(agg.tail_index)
                } else {
                    [f64::NAN; 3]
                };
                for &test in tests {
                    let t = if test == "shapiro" {
                        &agg.shapiro
                    } else {
                        &agg.dagostino
                    };
                    rows.push(Row {
                        step: info.step,
                        tensor: name.clone(),
                        wise: kind,
                        test,
                        n,
                        batch_size: info.batch_size,
                        tested: agg.tested,
                        constant: agg.constant,
                        undefined: agg.tested - agg.constant - t.with_p,
                        gaussian: t.accepted,
                        gaussian_pct: if t.with_p > 0 {
                            100.0 * t.accepted as f64 / t.with_p as f64
                        } else {
                            f64::NAN
                        },
                        mean_p: if t.with_p > 0 {
                            t.sum_p / t.with_p as f64
                        } else {
                            f64::NAN
                        },
                        beta_q,
                        tail_q,
                    });
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.05, 0.5, 0.95]) = [1.2, 3.0, 8.8]
        let q = quantiles(vec![4.0, 1.0, 10.0, 3.0, 2.0]);
        assert!(
            (q[0] - 1.2).abs() < 1e-12 && q[1] == 3.0 && (q[2] - 8.8).abs() < 1e-12,
            "{q:?}"
        );
        assert!(quantile(&[], 0.5).is_nan());
    }
}
