//! Spectra of a gradient matrix file: the covariance or second-moment eigenvalues of all
//! parameters and of each tensor, at one parameter point (step).
//!
//! Memory is bounded by `block_bytes` plus one `m x m` f64 matrix per scope in turn
//! (`m = min(n, d_scope)`; see `gradscope_stats::spectrum`): the first pass keeps the
//! gradients as f32 while they fit in `block_bytes`; when they do not (and the input is a
//! file, not a stream), the Gram route reads the file once more per block of coordinates,
//! holding only the `n x b` f64 block and the `n x n` Gram matrix. A stream on stdin
//! cannot be read twice, so it is always held in memory.

use anyhow::{bail, Context, Result};
use faer::Mat;
use gradscope_io::{GradReader, Provenance, Sample};
use gradscope_stats::spectrum::{DirectAccumulator, GramAccumulator, MatrixKind, Route, Spectrum};
use gradscope_tool::progress::progress;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A contiguous range of coordinates with a name (`all` or a tensor's name).
#[derive(Debug, Clone)]
pub struct ScopeRange {
    pub name: String,
    pub start: usize,
    pub len: usize,
}

/// Where the gradients are read from after the first pass.
enum Source {
    /// All `n x d` values, row-major.
    Memory(Vec<f32>),
    /// Re-read the file (or the parts), keeping the samples of `step`.
    File(Vec<PathBuf>),
}

/// What the first pass learned and kept.
pub struct GradMatrix {
    pub meta: Provenance,
    pub dim: usize,
    pub n: usize,
    pub step: u64,
    /// The `sample` index of each kept gradient, in order.
    pub samples: Vec<u32>,
    source: Source,
    step_filter: u64,
}

impl GradMatrix {
    /// Reads the matrix `paths` name (one file or stream, or its parts) once, keeping
    /// the samples of `step` (or of the only step present).
    pub fn open(paths: &[PathBuf], step: Option<u64>, block_bytes: usize) -> Result<Self> {
        let mut reader = GradReader::open_all(paths)?;
        let meta = reader.meta().clone();
        let dim = reader.dim();
        let (stdin, name) = match paths {
            [p] => (gradscope_io::is_stdio(p), p.display().to_string()),
            _ => (false, reader.name().to_string()),
        };
        let mut keep = Some(Vec::<f32>::new());
        let mut steps = BTreeSet::new();
        let mut batch_sizes = BTreeSet::new();
        let mut n = 0usize;
        let mut ids: Vec<(u64, u32)> = Vec::new();
        let mut s = Sample::default();
        let bar = progress(None, "reading gradients");
        while reader.next_sample(&mut s)? {
            steps.insert(s.step);
            if step.is_some_and(|want| want != s.step) {
                continue;
            }
            batch_sizes.insert(s.batch_size);
            ids.push((s.step, s.sample));
            n += 1;
            if let Some(v) = keep.as_mut() {
                if stdin || (v.len() + dim) * 4 <= block_bytes {
                    v.extend_from_slice(&s.values);
                } else {
                    keep = None;
                }
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        let list = || {
            steps
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if batch_sizes.len() > 1 {
            bail!(
                "{}: the gradients mix batch sizes ({}); a spectrum needs one: write one batch size per file",
                name,
                batch_sizes
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let chosen = match step {
            Some(want) => {
                if n == 0 {
                    bail!(
                        "{}: no gradients at step {want}; the steps present are: {}",
                        name,
                        list()
                    );
                }
                want
            }
            None => {
                if steps.len() > 1 {
                    bail!(
                        "{}: the gradients come from {} parameter points (steps {}); a spectrum needs one: choose it with --step",
                        name,
                        steps.len(),
                        list()
                    );
                }
                match steps.first() {
                    Some(&s) => s,
                    None => bail!("{name}: the gradient matrix holds no samples"),
                }
            }
        };
        let source = match keep {
            Some(v) => Source::Memory(v),
            None => Source::File(paths.to_vec()),
        };
        Ok(GradMatrix {
            meta,
            dim,
            n,
            step: chosen,
            samples: ids
                .into_iter()
                .filter(|&(st, _)| st == chosen)
                .map(|(_, id)| id)
                .collect(),
            source,
            step_filter: chosen,
        })
    }

    /// Whether the gradients are held in memory (no further passes).
    pub fn in_memory(&self) -> bool {
        matches!(self.source, Source::Memory(_))
    }

    /// Calls `f` with the `[start, start + len)` slice of every kept gradient, in order.
    fn for_each(
        &self,
        start: usize,
        len: usize,
        mut f: impl FnMut(usize, &[f32]) -> Result<()>,
    ) -> Result<()> {
        match &self.source {
            Source::Memory(x) => {
                for t in 0..self.n {
                    let row = &x[t * self.dim..(t + 1) * self.dim];
                    f(t, &row[start..start + len])?;
                }
            }
            Source::File(paths) => {
                let mut reader = GradReader::open_all(paths)?;
                let mut s = Sample::default();
                let mut t = 0;
                while reader.next_sample(&mut s)? {
                    if s.step != self.step_filter {
                        continue;
                    }
                    if t == self.n {
                        bail!("{} changed while it was being read", reader.name());
                    }
                    f(t, &s.values[start..start + len])?;
                    t += 1;
                }
                if t != self.n {
                    bail!("{} changed while it was being read", reader.name());
                }
            }
        }
        Ok(())
    }

    /// The spectrum of the scope `[start, start + len)`: direct when `len <= n`, else
    /// through the Gram matrix with coordinate blocks of at most `block_bytes`.
    pub fn spectrum(
        &self,
        scope: &ScopeRange,
        kind: MatrixKind,
        block_bytes: usize,
    ) -> Result<Spectrum> {
        let n = self.n;
        let what = || format!("the {} spectrum of '{}'", kind.name(), scope.name);
        match Route::choose(n, scope.len) {
            Route::Direct => {
                let block = (block_bytes / (8 * scope.len).max(1)).clamp(1, 4096);
                let mut acc = DirectAccumulator::new(scope.len, kind, block).with_context(what)?;
                self.for_each(scope.start, scope.len, |_, g| Ok(acc.push(g)?))
                    .with_context(what)?;
                acc.finish().with_context(what)
            }
            Route::Gram => self
                .gram(scope, kind, block_bytes)?
                .finish()
                .with_context(what),
        }
    }

    /// The Gram matrix of the scope `[start, start + len)`, summed over blocks of
    /// coordinates of at most `block_bytes` (see `gradscope_stats::spectrum::gram`).
    pub fn gram(
        &self,
        scope: &ScopeRange,
        kind: MatrixKind,
        block_bytes: usize,
    ) -> Result<GramAccumulator> {
        let n = self.n;
        let what = || format!("the {} spectrum of '{}'", kind.name(), scope.name);
        let mut acc = GramAccumulator::new(n, scope.len, kind).with_context(what)?;
        let width = (block_bytes / (8 * n)).clamp(1, scope.len);
        let blocks = scope.len.div_ceil(width);
        let bar = progress(Some(blocks as u64), &format!("Gram {}", scope.name));
        let mut offset = 0;
        while offset < scope.len {
            let w = width.min(scope.len - offset);
            let mut b = Mat::<f64>::zeros(n, w);
            self.for_each(scope.start + offset, w, |t, g| {
                for (j, &v) in g.iter().enumerate() {
                    b[(t, j)] = v as f64;
                }
                Ok(())
            })?;
            acc.add_block(b.as_mut()).with_context(what)?;
            offset += w;
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(acc)
    }

    /// All `n x d` values of the kept step, row-major (read once more from the file when
    /// they were not kept in memory).
    pub fn into_matrix(self) -> Result<Vec<f32>> {
        if let Source::Memory(x) = self.source {
            return Ok(x);
        }
        let mut v = Vec::with_capacity(self.n * self.dim);
        self.for_each(0, self.dim, |_, g| {
            v.extend_from_slice(g);
            Ok(())
        })?;
        Ok(v)
    }

    /// `all`, then (with `per_tensor`) each tensor of the layout.
    pub fn scopes(&self, per_tensor: bool) -> Vec<ScopeRange> {
        let mut v = vec![ScopeRange {
            name: "all".into(),
            start: 0,
            len: self.dim,
        }];
        if per_tensor {
            v.extend(self.meta.layout.iter().map(|t| ScopeRange {
                name: t.name.clone(),
                start: t.offset,
                len: t.numel,
            }));
        }
        v
    }
}
