//! The fits of the data sets: the power law above xmin (the rule given, or the scan for
//! a column and the study's top-k for a spectrum), the study's and the exact KS critical
//! values, with `--bootstrap` the goodness-of-fit p-value, and with `--compare` the
//! likelihood-ratio tests against the alternatives.

use super::data_sets::DataSet;
use super::plan::FitPlan;
use super::report::{alt_name, FitRow};
use super::{Args, STUDY_TOP_K};
use anyhow::{anyhow, Context, Result};
use gradscope_stats::powerlaw::{
    fit, goodness_of_fit, likelihood_ratio_test, Alternative, BootstrapOptions, FitOptions,
    LikelihoodRatio, XminRule,
};
use gradscope_tool::args::inputs_name;
use gradscope_tool::errln;

/// The fits, in data-set order, and the comparisons (`(index of the fit, test)`, each
/// fit's alternatives in [`Alternative::ALL`] order).
pub struct Fits {
    pub rows: Vec<FitRow>,
    pub comparisons: Vec<(usize, LikelihoodRatio)>,
}

/// Fits every data set (then bootstraps and compares them). Writes nothing.
pub fn fit_all(args: &Args, plan: &FitPlan, sets: Vec<DataSet>) -> Result<Fits> {
    let (explicit_rule, support) = (plan.explicit_rule, plan.support);
    let mut rows: Vec<FitRow> = Vec::new();
    for (scope, series, data, dropped) in sets {
        let what = || format!("{}: {scope} {series}", inputs_name(&args.input));
        let rule = match explicit_rule {
            Some(r) => r,
            None if args.spectrum.is_some() => {
                let k = STUDY_TOP_K.min(data.len());
                if k < STUDY_TOP_K {
                    errln!("note: {scope} {series}: {} positive values, fewer than the study's 1000; fitting the top {k}", data.len());
                }
                if k < 2 {
                    return Err(anyhow!("only {k} positive value(s); at least 2 are needed"))
                        .with_context(what);
                }
                XminRule::TopK(k)
            }
            None => plan.scan_rule,
        };
        let options = FitOptions {
            support,
            xmin: rule,
        };
        let f = fit(&data, &options).with_context(what)?;
        if f.scan.is_some_and(|s| s.none_valid) {
            errln!(
                "note: {scope} {series}: no xmin candidate fits an alpha below --alpha-max {}; xmin minimises the KS distance over all candidates (alpha {:.4}). The powerlaw package would clamp alpha at {} and set noise_flag; --alpha-max inf fits steep tails without the bound",
                args.alpha_max(),
                f.alpha,
                args.alpha_max()
            );
        }
        let ks_crit = f.critical_value_study();
        let ks_crit_exact = f.critical_value_exact(args.significance);
        rows.push(FitRow {
            scope,
            series,
            n: data.len(),
            dropped,
            fit: f,
            ks_crit,
            ks_crit_exact,
            p_gof: None,
            data,
        });
    }
    if args.bootstrap > 0 {
        for r in &mut rows {
            let g = goodness_of_fit(
                &r.data,
                &r.fit,
                &BootstrapOptions {
                    replicates: args.bootstrap,
                    seed: args.seed,
                },
            )
            .with_context(|| format!("bootstrap of {} {}", r.scope, r.series))?;
            if g.failed > 0 {
                errln!(
                    "note: {} {}: {} of {} bootstrap fits failed and were left out of p_gof",
                    r.scope,
                    r.series,
                    g.failed,
                    args.bootstrap
                );
            }
            r.p_gof = Some(g.p_value);
        }
    }
    let mut comparisons: Vec<(usize, LikelihoodRatio)> = Vec::new();
    if args.compare {
        for (i, r) in rows.iter().enumerate() {
            for alt in Alternative::ALL {
                let lr = likelihood_ratio_test(&r.data, &r.fit, alt).with_context(|| {
                    format!("{} {} against the {}", r.scope, r.series, alt_name(alt))
                })?;
                comparisons.push((i, lr));
            }
        }
    }

    Ok(Fits { rows, comparisons })
}
