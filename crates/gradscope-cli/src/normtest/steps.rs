//! The first pass over the gradients: the parameter points (steps) and their sample
//! counts, the whole file checked (order, NaN, too few samples) before any
//! iteration-wise test runs; then which gradients of each step are tested.

use super::dimension_wise::DimensionWise;
use super::draws::{seed_for, subset, SALT_SAMPLES};
use super::input::rename;
use super::plan::Plan;
use super::Args;
use anyhow::{bail, Result};
use gradscope_io::{GradReader, Provenance, Sample};
use gradscope_stats::normality::{SHAPIRO_WILK_MAX_N, SHAPIRO_WILK_MIN_N};
use gradscope_stats::rng::stream;
use gradscope_tool::errln;
use gradscope_tool::progress::progress;

/// One parameter point as the first pass saw it.
#[derive(Debug, Clone)]
pub struct StepInfo {
    pub step: u64,
    /// Gradients at this step.
    pub n: usize,
    pub batch_size: u32,
    /// Position of each gradient in the tested sample (None: not tested), when only a
    /// subset of the gradients is tested.
    pub slots: Option<Vec<Option<u32>>>,
    /// Gradients tested per coordinate.
    pub m: usize,
}

impl StepInfo {
    /// Whether `sample` belongs to this group: the same step and batch size.
    pub fn holds(&self, sample: &Sample) -> bool {
        (self.step, self.batch_size) == (sample.step, sample.batch_size)
    }

    /// The position of the `pos`-th gradient of the step in the tested sample.
    pub fn slot(&self, pos: usize) -> Option<usize> {
        match &self.slots {
            None => Some(pos),
            Some(s) => s[pos].map(|v| v as usize),
        }
    }
}

/// What the first pass found.
pub struct FirstPass {
    /// The groups (step, batch size), in file order.
    pub steps: Vec<StepInfo>,
    /// The dimension-wise results per step and scope (empty in iteration mode).
    pub dim_aggs: Vec<Vec<super::aggregate::Agg>>,
    /// Gradients in the file.
    pub samples_total: u64,
}

/// Reads the whole file once: the steps and their sample counts; in dimension mode also
/// the dimension-wise tests, which need one gradient at a time.
pub fn first_pass(
    args: &Args,
    plan: &Plan,
    reader: &mut GradReader,
    meta: &Provenance,
) -> Result<FirstPass> {
    let input = &plan.input;
    let bar = progress(None, "normtest: counting");
    let mut steps: Vec<StepInfo> = Vec::new();
    let mut dimension_wise = plan.dimension.then(|| {
        DimensionWise::new(
            &meta.layout,
            meta.dim(),
            args.dim_coords(),
            plan.min_n,
            args.alpha,
            args.seed,
            plan.dim_selection(),
        )
    });
    let mut sample = Sample::default();
    let mut samples_total: u64 = 0;
    while reader
        .next_sample(&mut sample)
        .map_err(|e| rename(e, input))?
    {
        // A group per step and batch size (`dump-grads -b 64,128` writes both at one step).
        if steps.last().is_none_or(|s| !s.holds(&sample)) {
            steps.push(StepInfo {
                step: sample.step,
                n: 0,
                batch_size: sample.batch_size,
                slots: None,
                m: 0,
            });
            if let Some(d) = &mut dimension_wise {
                d.new_step();
            }
        }
        let info = steps.last_mut().expect("pushed above");
        info.n += 1;
        if let Some(d) = &mut dimension_wise {
            d.test(&sample, samples_total, &input.name)?;
        }
        samples_total += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if steps.is_empty() {
        bail!("{}: the gradient matrix holds no samples", input.name);
    }
    Ok(FirstPass {
        steps,
        dim_aggs: dimension_wise.map(|d| d.aggs).unwrap_or_default(),
        samples_total,
    })
}

/// Which gradients of each step are tested (all, or a seeded random subset of
/// `--max-samples`, in dimension mode `--iter-samples`), each step checked against the
/// selected tests' sample sizes.
pub fn choose_tested(steps: &mut [StepInfo], args: &Args, plan: &Plan) -> Result<()> {
    let input = &plan.input;
    let (dimension, shapiro, min_n) = (plan.dimension, plan.shapiro, plan.min_n);
    for (i, info) in steps.iter_mut().enumerate() {
        let limit = if dimension {
            Some(args.iter_samples())
        } else {
            args.max_samples
        };
        info.m = info.n;
        if let Some(k) = limit.filter(|&k| k < info.n) {
            let mut rng = stream(seed_for(args.seed, SALT_SAMPLES), i as u64);
            let mut slots = vec![None; info.n];
            for (slot, pos) in subset(&mut rng, info.n, k).into_iter().enumerate() {
                slots[pos] = Some(slot as u32);
            }
            info.slots = Some(slots);
            info.m = k;
        }
        let what = if dimension {
            "iteration-wise tests over --iter-samples"
        } else {
            "each coordinate's test"
        };
        if shapiro && info.m < SHAPIRO_WILK_MIN_N {
            bail!(
                "{}: step {} holds {} gradient(s): Shapiro-Wilk needs at least {} samples per coordinate (write more minibatch gradients per step)",
                input.name, info.step, info.n, SHAPIRO_WILK_MIN_N
            );
        }
        if info.m < min_n {
            bail!(
                "{}: step {} holds {} gradients: D'Agostino's skewness test needs at least {min_n} samples per coordinate (use --test shapiro, or write more gradients per step)",
                input.name, info.step, info.n
            );
        }
        if shapiro && info.m > SHAPIRO_WILK_MAX_N {
            bail!(
                "{}: step {} holds {} gradients: Shapiro-Wilk (AS R94) is validated for at most {SHAPIRO_WILK_MAX_N} samples; use --max-samples {SHAPIRO_WILK_MAX_N} (a seeded random subset) or --test dagostino",
                input.name, info.step, info.n
            );
        }
        if dimension && info.n < args.iter_samples() {
            errln!(
                "note: step {} holds {} gradients, fewer than --iter-samples {}: the {what} use all of them",
                info.step, info.n, args.iter_samples()
            );
        }
    }
    Ok(())
}
