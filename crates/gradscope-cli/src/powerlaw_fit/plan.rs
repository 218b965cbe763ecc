//! Every check of the arguments and output formats, before any work.

use super::{parse_xmin, Args, STUDY_TOP_K};
use anyhow::{bail, Result};
use gradscope_io::TableFormat;
use gradscope_stats::powerlaw::{Support, XminRule};
use gradscope_tool::args::check_outputs;
use gradscope_tool::coord_split::CoordSplit;
use std::path::{Path, PathBuf};

/// What the run does, checked.
pub enum Plan {
    /// `--views`: the element views' power-law rates, top-k fits of k values.
    Views { top_k: usize },
    /// Fits of a column or a spectrum (or with `--gram-out` a partial Gram matrix).
    Fits(FitPlan),
}

/// The checked options of a fitting run.
pub struct FitPlan {
    /// `--coords` or `--shard`: the block of coordinates of a partial Gram matrix.
    pub split: Option<CoordSplit>,
    /// Where the `--compare` table goes (none: the summary only).
    pub compare_out: Option<PathBuf>,
    /// `--xmin` or `--top-k` (none: scan for a column, the study's top-k for a spectrum).
    pub explicit_rule: Option<XminRule>,
    /// The default rule of a `--column` fit: the KS scan bounded by `--alpha-max`.
    pub scan_rule: XminRule,
    pub support: Support,
}

/// `dir/stem-compare.ext` for `dir/stem.ext`.
fn derived_compare_path(out: &Path) -> Option<PathBuf> {
    if gradscope_io::is_stdio(out) {
        return None;
    }
    let stem = out.file_stem()?.to_string_lossy().to_string();
    let name = match out.extension() {
        Some(e) => format!("{stem}-compare.{}", e.to_string_lossy()),
        None => format!("{stem}-compare"),
    };
    Some(out.with_file_name(name))
}

/// Checks the arguments and output formats and sets the thread count. Nothing here reads
/// an input: its errors are of the command line, usage errors (exit 2).
pub fn plan(args: &Args) -> Result<Plan> {
    // Usage checks and output formats first, before any work.
    if args.column.is_some()
        && (args.per_tensor
            || args.eigengaps
            || args.step.is_some()
            || args.spectrum_output.is_some())
    {
        bail!(
            "--per-tensor, --eigengaps, --step and --spectrum-output need --spectrum, not --column"
        );
    }
    if args.views_raw && args.views.is_empty() {
        bail!("--views-raw applies to --views");
    }
    if args.discrete && args.spectrum.is_some() {
        bail!("--discrete does not apply to eigenvalues, which are real numbers");
    }
    if !(args.significance > 0.0 && args.significance < 1.0) {
        bail!("--significance {} must lie in (0, 1)", args.significance);
    }
    if args.block_mb_arg.is_some() && (args.spectrum.is_none() || !args.gram.is_empty()) {
        bail!("--block-mb bounds the gradients read for --spectrum; a --column, --views or --gram run does not read them by blocks");
    }
    if !(args.block_mb().is_finite() && args.block_mb() > 0.0) {
        bail!(
            "--block-mb {} must be a positive number of MiB",
            args.block_mb()
        );
    }
    let split = match (&args.coords, &args.shard) {
        (Some(c), _) => Some(CoordSplit::parse_range("--coords", c)?),
        (None, Some(sh)) => Some(CoordSplit::parse_shard(sh)?),
        (None, None) => None,
    };
    let parts_flag = split
        .map(|sp| sp.describe())
        .or_else(|| args.gram_out.as_ref().map(|_| "--gram-out".to_string()))
        .or_else(|| (!args.gram.is_empty()).then(|| "--gram".to_string()));
    if let Some(flag) = &parts_flag {
        if args.spectrum.is_none() {
            bail!("{flag}: Gram parts are for --spectrum");
        }
    }
    if let Some(sp) = split {
        if args.gram_out.is_none() {
            bail!(
                "{}: a block of coordinates gives a partial Gram matrix, not a spectrum: write it with --gram-out and fit the parts with --gram",
                sp.describe()
            );
        }
    }
    if args.gram_out.is_some() {
        if args.per_tensor {
            bail!("--gram-out: a partial Gram matrix is of the whole gradient; --per-tensor does not apply");
        }
        if args.output.is_some()
            || args.spectrum_output.is_some()
            || args.plot.is_some()
            || args.json.enabled
            || args.compare
        {
            bail!("--gram-out writes a partial Gram matrix and fits nothing: fit the summed parts with --gram");
        }
    }
    let compare_out = if args.compare {
        args.compare_output
            .clone()
            .or_else(|| args.output.as_deref().and_then(derived_compare_path))
    } else {
        None
    };
    if let Some(out) = &compare_out {
        TableFormat::from_path(out)?;
    }
    check_outputs(
        args.json.enabled,
        args.input.iter().chain(&args.gram).map(PathBuf::as_path),
        [
            args.output.as_deref(),
            compare_out.as_deref(),
            args.spectrum_output.as_deref(),
            args.plot.as_deref(),
            args.gram_out.as_deref(),
        ],
    )?;
    args.threads.init();
    if !args.views.is_empty() {
        if args.per_tensor
            || args.eigengaps
            || args.spectrum_output.is_some()
            || args.xmin.is_some()
            || args.alpha_max_arg.is_some()
        {
            bail!("--views takes --top-k, --step and --views-raw; not --per-tensor, --eigengaps, --spectrum-output, --xmin or --alpha-max");
        }
        if args.bootstrap > 0 || args.compare || args.plot.is_some() || args.discrete {
            bail!("--views reports rates over many fits; --bootstrap, --compare, --plot and --discrete do not apply");
        }
        let k = args.top_k.unwrap_or(STUDY_TOP_K);
        if k < 2 {
            bail!("--top-k {k}: at least 2");
        }
        return Ok(Plan::Views { top_k: k });
    }
    // --alpha-max bounds the default scan too: checked here, before any input is read.
    let scan_rule = parse_xmin("scan", args.alpha_max())?;
    let explicit_rule = match (&args.xmin, args.top_k) {
        (Some(s), _) => Some(parse_xmin(s, args.alpha_max())?),
        (None, Some(k)) => Some(parse_xmin(&format!("top-k:{k}"), args.alpha_max())?),
        (None, None) => None,
    };
    // A scan is the rule of --xmin scan, and of --column without --xmin or --top-k.
    let scans = match explicit_rule {
        Some(rule) => matches!(rule, XminRule::Scan(_)),
        None => args.spectrum.is_none(),
    };
    if let (Some(a), false) = (args.alpha_max_arg, scans) {
        bail!("--alpha-max {a} bounds the xmin scan, and this run does not scan (its xmin rule is fixed:X or top-k:K; a spectrum's default is top-k:1000): add --xmin scan");
    }
    let support = if args.discrete {
        Support::Discrete(Default::default())
    } else {
        Support::Continuous
    };
    Ok(Plan::Fits(FitPlan {
        split,
        compare_out,
        explicit_rule,
        scan_rule,
        support,
    }))
}
