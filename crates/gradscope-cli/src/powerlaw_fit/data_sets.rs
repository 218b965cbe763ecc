//! The data sets to fit: a numeric column of a table ([`super::column`]), or the
//! eigenvalues (and with `--eigengaps` their gaps) of a gradient matrix's covariance or
//! second moment, from the gradients ([`super::spectra`]) or from summed partial Gram
//! matrices ([`super::gram_merge`]). With `--gram-out` the partial Gram matrix of a block
//! of coordinates instead, one part of a run split by coordinate.
//!
//! Eigenvalues at or below lambda_max * max(n, d) * 2.2e-16 are numerically zero and left
//! out (counted in `dropped`), as are zero gaps.

use super::plan::FitPlan;
use super::spectra::FromMatrix;
use super::{column, gram_merge, spectra, Args, SpectrumArg};
use anyhow::Result;
use gradscope_io::atomic::AtomicFile;
use gradscope_io::Provenance;
use gradscope_stats::powerlaw::eigengaps;
use gradscope_stats::spectrum::{MatrixKind, Spectrum};
use gradscope_tool::tool_name;

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
    let mut prov = Provenance::new("powerlaw-fit", &tool_name("powerlaw-fit"));
    prov.command = std::env::args().collect();
    let mut sets: Vec<DataSet> = Vec::new();
    let mut spectra: Vec<(String, Spectrum)> = Vec::new();
    if let Some(name) = &args.column {
        sets.push(column::read(&args.input, name)?);
    } else if let Some(which) = args.spectrum {
        let kind = match which {
            SpectrumArg::Covariance => MatrixKind::Covariance,
            SpectrumArg::SecondMoment => MatrixKind::SecondMoment,
        };
        let found = if !args.gram.is_empty() {
            vec![(
                "all".to_string(),
                gram_merge::spectrum(&args.gram, kind, &mut prov)?,
            )]
        } else {
            match spectra::from_matrix(args, plan.split, kind, &mut prov)? {
                FromMatrix::GramPart(file) => return Ok(Source::GramPart(file)),
                FromMatrix::Spectra(found) => found,
            }
        };
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
