//! `--gram`: the partial Gram matrices of a run split by coordinate (written by
//! `--gram-out` over blocks that cover every coordinate once), summed, and the spectrum
//! of the sum: the one a single run over the whole matrix would fit.

use crate::gram_parts;
use anyhow::{bail, Context, Result};
use gradscope_io::Provenance;
use gradscope_stats::spectrum::{MatrixKind, Spectrum};
use std::path::PathBuf;

/// The spectrum of the summed parts `paths`, which must be of the `kind` matrix; their
/// source, step, matrix and sample count go to `prov`.
pub fn spectrum(paths: &[PathBuf], kind: MatrixKind, prov: &mut Provenance) -> Result<Spectrum> {
    let (acc, part, source) = gram_parts::merge(paths)?;
    let first = paths[0].display();
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
    acc.finish()
        .with_context(|| format!("the {} spectrum of the Gram parts", kind.name()))
}
