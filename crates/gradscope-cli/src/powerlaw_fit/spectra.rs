//! `--spectrum` from a gradient matrix: the covariance or second-moment spectrum of one
//! step, of all parameters and with `--per-tensor` of each tensor (`crate::
//! spectra_from_file`: held in memory, or re-read once per block of coordinates beyond
//! `--block-mb`). With `--gram-out`, instead, the partial Gram matrix of a block of
//! coordinates (`--coords`, `--shard`; all of them by default).

use super::Args;
use crate::gram_parts;
use crate::spectra_from_file::{GradMatrix, ScopeRange};
use anyhow::Result;
use gradscope_io::atomic::AtomicFile;
use gradscope_io::Provenance;
use gradscope_stats::spectrum::{MatrixKind, Spectrum};
use gradscope_tool::coord_split::CoordSplit;
use gradscope_tool::errln;

/// What the gradient matrix gives.
pub enum FromMatrix {
    /// `--gram-out`: the partial Gram matrix, in a temporary file committed with the
    /// run's outputs.
    GramPart(AtomicFile),
    /// The spectra, one per scope (`all`, then each tensor).
    Spectra(Vec<(String, Spectrum)>),
}

/// Reads the step's gradients; their source, step, matrix and sample count go to `prov`.
pub fn from_matrix(
    args: &Args,
    split: Option<CoordSplit>,
    kind: MatrixKind,
    prov: &mut Provenance,
) -> Result<FromMatrix> {
    // A float-to-integer cast saturates: --block-mb 1e30 means "everything in memory".
    let block_bytes = (args.block_mb() * 1048576.0) as usize;
    let m = GradMatrix::open(&args.input, args.step, block_bytes)?;
    if let Some(path) = &args.gram_out {
        let block = match split {
            Some(sp) => sp.range(m.dim)?,
            None => 0..m.dim,
        };
        let scope = ScopeRange {
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
        return Ok(FromMatrix::GramPart(gram_parts::write(
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
            m.n, m.dim, args.block_mb()
        );
    }
    let mut found: Vec<(String, Spectrum)> = Vec::new();
    for scope in m.scopes(args.per_tensor) {
        let s = m.spectrum(&scope, kind, block_bytes)?;
        found.push((scope.name, s));
    }
    Ok(FromMatrix::Spectra(found))
}
