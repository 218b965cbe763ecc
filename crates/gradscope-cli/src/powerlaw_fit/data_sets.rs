//! The data sets to fit: a numeric column of a table (`--column`), or the eigenvalues
//! (and with `--eigengaps` their gaps) of a gradient matrix's covariance or second
//! moment (`--spectrum`), for all parameters and with `--per-tensor` for each tensor,
//! from the gradients or from summed partial Gram matrices (`--gram`). With `--gram-out`
//! the partial Gram matrix of a block of coordinates instead, one part of a run split
//! by coordinate.

use super::plan::FitPlan;
use super::{Args, SpectrumArg};
use crate::gram_parts;
use crate::read_column::read_column;
use crate::spectra_from_file::GradMatrix;
use anyhow::{bail, Context, Result};
use gradscope_io::atomic::AtomicFile;
use gradscope_io::Provenance;
use gradscope_stats::powerlaw::eigengaps;
use gradscope_stats::spectrum::{MatrixKind, Spectrum};
use gradscope_tool::{errln, tool_name};

/// One data set: (scope, series, values, dropped).
pub type DataSet = (String, String, Vec<f64>, usize);

/// What the input gives.
pub enum Source {
    /// `--gram-out`: the partial Gram matrix, in a temporary file committed with the
    /// run's outputs.
    GramPart(AtomicFile),
    /// The data sets, the spectra they came from (for `--spectrum-output`) and the
    /// provenance of the run's tables.
    Sets {
        sets: Vec<DataSet>,
        spectra: Vec<(String, Spectrum)>,
        prov: Box<Provenance>,
    },
}

/// Reads the input: the data sets to fit, or a partial Gram matrix.
pub fn read(args: &Args, plan: &FitPlan) -> Result<Source> {
    let split = plan.split;
    // The data sets to fit: (scope, series, values, dropped).
    let mut sets: Vec<(String, String, Vec<f64>, usize)> = Vec::new();
    let mut spectra: Vec<(String, Spectrum)> = Vec::new();
    let mut prov = Provenance::new("powerlaw-fit", &tool_name("powerlaw-fit"));
    prov.command = std::env::args().collect();
    if let Some(name) = &args.column {
        let [input] = args.input.as_slice() else {
            bail!(
                "--input: --column reads one table, not {} inputs",
                args.input.len()
            );
        };
        let col = read_column(input, name)?;
        if col.missing > 0 {
            errln!(
                "note: {} missing value(s) of column '{name}' skipped",
                col.missing
            );
        }
        sets.push((name.clone(), "values".into(), col.values, 0));
    } else if let Some(which) = args.spectrum {
        let kind = match which {
            SpectrumArg::Covariance => MatrixKind::Covariance,
            SpectrumArg::SecondMoment => MatrixKind::SecondMoment,
        };
        let block_bytes = args.block_mb << 20;
        let mut found: Vec<(String, Spectrum)> = Vec::new();
        if !args.gram.is_empty() {
            // The partial Gram matrices of a run split by coordinate, summed.
            let (acc, part, source) = gram_parts::merge(&args.gram)?;
            let first = args.gram[0].display();
            if part.kind != kind {
                bail!(
                    "{first}: a partial Gram of the {} matrix, not of --spectrum {}",
                    part.kind.name(),
                    kind.name()
                );
            }
            if part.dim <= part.samples.len() {
                bail!(
                    "{first}: {} coordinates for {} gradients: a single run takes the direct route (d <= n) there, which Gram parts cannot give",
                    part.dim,
                    part.samples.len()
                );
            }
            prov.source = Some(Box::new(source));
            prov.extra.insert("step".into(), part.step.into());
            prov.extra.insert("matrix".into(), kind.name().into());
            prov.extra
                .insert("samples".into(), (part.samples.len() as u64).into());
            let s = acc
                .finish()
                .with_context(|| format!("the {} spectrum of the Gram parts", kind.name()))?;
            found.push(("all".into(), s));
        } else {
            let m = GradMatrix::open(&args.input, args.step, block_bytes)?;
            if let Some(path) = &args.gram_out {
                let block = match split {
                    Some(sp) => sp.range(m.dim)?,
                    None => 0..m.dim,
                };
                let scope = crate::spectra_from_file::ScopeRange {
                    name: "all".into(),
                    start: block.start,
                    len: block.len(),
                };
                let acc = m.gram(&scope, kind, block_bytes)?;
                let part = gram_parts::GramPart {
                    kind,
                    step: m.step,
                    samples: m.samples.clone(),
                    dim: m.dim,
                    block,
                };
                return Ok(Source::GramPart(gram_parts::write(
                    path, &m.meta, &part, &acc,
                )?));
            }
            prov.source = Some(Box::new(m.meta.clone()));
            prov.extra.insert("step".into(), m.step.into());
            prov.extra.insert("matrix".into(), kind.name().into());
            prov.extra.insert("samples".into(), (m.n as u64).into());
            if !m.in_memory() {
                errln!(
                    "note: {} x {} gradients exceed --block-mb {}; reading the file once per block of coordinates",
                    m.n, m.dim, args.block_mb
                );
            }
            for scope in m.scopes(args.per_tensor) {
                let s = m.spectrum(&scope, kind, block_bytes)?;
                found.push((scope.name, s));
            }
        }
        for (name, s) in found {
            let sig = s.significant();
            let dropped = s.eigenvalues.len() - sig.len();
            if args.eigengaps {
                let gaps = eigengaps(&sig).unwrap_or_default();
                let pos: Vec<f64> = gaps.iter().copied().filter(|&g| g > 0.0).collect();
                let gdrop = gaps.len() - pos.len();
                sets.push((name.clone(), "eigenvalues".into(), sig, dropped));
                sets.push((name.clone(), "eigengaps".into(), pos, gdrop));
            } else {
                sets.push((name.clone(), "eigenvalues".into(), sig, dropped));
            }
            spectra.push((name, s));
        }
    }

    Ok(Source::Sets {
        sets,
        spectra,
        prov: Box::new(prov),
    })
}
