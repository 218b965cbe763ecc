//! Every check of the arguments, before any gradient is read, then the input opened.

use super::input::{note_spill, open_input, open_reader, Input};
use super::{Args, Mode, TestChoice};
use anyhow::Result;
use gradscope_io::GradReader;
use gradscope_stats::normality::{
    TestSelection, SHAPIRO_WILK_MAX_N, SHAPIRO_WILK_MIN_N, SKEW_TEST_MIN_N,
};
use gradscope_tool::args::check_outputs;
use gradscope_tool::coord_split::CoordSplit;
use gradscope_tool::{usage_bail, UsageError};

/// The run's options, checked.
pub struct Plan {
    /// `--coords K`: a seeded random subset of K coordinates per tensor.
    pub subset_k: Option<usize>,
    /// `--coords START:END` or `--shard I/N`: the part of a run split by coordinate.
    pub split: Option<CoordSplit>,
    /// Whether Shapiro-Wilk runs.
    pub shapiro: bool,
    /// Whether D'Agostino-Pearson K^2 runs.
    pub dagostino: bool,
    /// The fewest values the selected tests take (K^2 needs 8, Shapiro-Wilk 3).
    pub min_n: usize,
    /// `--mode dimension`.
    pub dimension: bool,
    /// The input, readable more than once.
    pub input: Input,
}

impl Plan {
    /// The tests of the iteration-wise (per-coordinate) sets: the normality tests, the
    /// moments (beta/sigma^3) and the tail index.
    pub fn selection(&self) -> TestSelection {
        TestSelection {
            shapiro_wilk: self.shapiro,
            dagostino: self.dagostino,
            moments: true,
            tail_index: true,
            tail_block: None,
        }
    }

    /// The tests of the dimension-wise sets: the normality tests alone.
    pub fn dim_selection(&self) -> TestSelection {
        TestSelection {
            moments: false,
            tail_index: false,
            ..self.selection()
        }
    }

    /// The tests run, in the order of their summary rows.
    pub fn tests(&self) -> Vec<&'static str> {
        [(self.shapiro, "shapiro"), (self.dagostino, "dagostino")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }
}

/// Checks the arguments, sets the thread count, opens the input: the plan and the reader
/// of the first pass.
pub fn plan(args: &Args) -> Result<(Plan, GradReader)> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        usage_bail!("--alpha {} must lie strictly between 0 and 1", args.alpha);
    }
    if !(args.block_mb.is_finite() && args.block_mb > 0.0) {
        usage_bail!(
            "--block-mb {} must be a positive number of MiB",
            args.block_mb
        );
    }
    // --coords is a count (a random subset per tensor) or a range (a part of a split run).
    let (subset_k, split) = match (&args.coords, &args.shard) {
        (Some(c), _) if c.contains(':') => (None, Some(CoordSplit::parse_range("--coords", c)?)),
        (Some(c), _) => {
            let k: usize = c.trim().parse().map_err(|_| {
                UsageError(format!(
                    "--coords {c}: expected a number of coordinates K or a range START:END"
                ))
            })?;
            (Some(k), None)
        }
        (None, Some(sh)) => (None, Some(CoordSplit::parse_shard(sh)?)),
        (None, None) => (None, None),
    };
    if subset_k == Some(0) {
        usage_bail!("--coords 0 tests nothing: give a positive number of coordinates per tensor");
    }
    if let Some(sp) = split {
        if args.mode == Mode::Dimension {
            usage_bail!(
                "{}: a split by coordinate applies to --mode iteration (dimension-wise tests draw from every coordinate of a gradient)",
                sp.describe()
            );
        }
    }
    if args.mode == Mode::Iteration
        && (args.dim_coords_arg.is_some() || args.iter_samples_arg.is_some())
    {
        usage_bail!("--dim-coords and --iter-samples apply to --mode dimension; --mode iteration tests every coordinate over the step's gradients (--coords, --max-samples)");
    }
    if args.mode == Mode::Dimension && args.max_samples.is_some() {
        // Dimension mode draws its own subset: --iter-samples.
        usage_bail!("--max-samples applies to --mode iteration; --mode dimension draws --iter-samples gradients per step");
    }
    check_outputs(
        args.json.enabled,
        args.input.paths.iter().map(std::path::PathBuf::as_path),
        [args.output.as_deref(), args.per_coordinate.as_deref()],
    )?;
    args.threads.init();
    let shapiro = matches!(args.test, TestChoice::Shapiro | TestChoice::Both);
    let dagostino = matches!(args.test, TestChoice::Dagostino | TestChoice::Both);
    let min_n = if dagostino {
        SKEW_TEST_MIN_N
    } else {
        SHAPIRO_WILK_MIN_N
    };
    let dimension = args.mode == Mode::Dimension;
    if dimension && args.dim_coords() < min_n {
        usage_bail!(
            "--dim-coords {} is too few: the selected tests need at least {min_n} values",
            args.dim_coords()
        );
    }
    if dimension && args.iter_samples() < min_n {
        usage_bail!(
            "--iter-samples {} is too few: the selected tests need at least {min_n} values",
            args.iter_samples()
        );
    }
    if let Some(m) = args.max_samples {
        if shapiro && m > SHAPIRO_WILK_MAX_N {
            usage_bail!("--max-samples {m}: Shapiro-Wilk (AS R94) is validated for at most {SHAPIRO_WILK_MAX_N} samples");
        }
        if m < min_n {
            usage_bail!(
                "--max-samples {m} is too few: the selected tests need at least {min_n} samples"
            );
        }
    }

    let input = open_input(&args.input)?;
    let reader = open_reader(&input)?;
    note_spill(&input);
    Ok((
        Plan {
            subset_k,
            split,
            shapiro,
            dagostino,
            min_n,
            dimension,
            input,
        },
        reader,
    ))
}
