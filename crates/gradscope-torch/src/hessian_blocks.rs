//! Curvature per block of parameters: the diagonal blocks of the Hessian.
//!
//! For a block b of the parameters (a set of tensors: one layer's weight and bias, one
//! tensor, or the tensors under a name prefix), H_bb is the d_b x d_b submatrix of H on
//! the block's coordinates: the curvature of the loss when only that block moves and the
//! rest of the network stays where it is. A product with it is a product with the whole
//! Hessian restricted to the block: H_bb v_b = P_b H P_b^T v_b, with P_b^T v_b the block's
//! vector padded with zeros to all d coordinates and P_b reading the block's coordinates
//! back. So every method that needs only products (Lanczos's top eigenvalues,
//! Hutchinson's trace, stochastic Lanczos quadrature's density) runs on H_bb unchanged,
//! at the cost of one full Hessian-vector product per block product (the zero pieces of
//! v still pass through the network).
//!
//! Why the diagonal blocks: the blocks' traces add up to the whole trace, tr(H) =
//! sum_b tr(H_bb), when the blocks partition the parameters (`layer`, `tensor`), so the
//! trace splits into each layer's share; the top eigenvalue of H_bb is the sharpness of
//! the loss along that layer alone, which is at most the whole top eigenvalue (Cauchy's
//! interlacing theorem); and the spectrum of H_bb is what a per-layer method (K-FAC's
//! block-diagonal approximation, per-layer learning rates) sees. PyHessian's users ask for
//! exactly these (per-layer eigenvalues and traces). Units: those of H, loss per squared
//! parameter unit.

use anyhow::{bail, Result};
use gradscope_io::TensorLayout;
use tch::{Kind, Tensor};

/// How the parameters are split into blocks (`--blocks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockSpec {
    /// One block per module: the tensors sharing the name before their last `.`
    /// (`fc1.weight` and `fc1.bias` form `fc1`).
    Layer,
    /// One block per parameter tensor.
    Tensor,
    /// One block per prefix: the tensors whose name is the prefix or continues it at a
    /// `.` (`features` takes `features.0.weight`, not `features2.weight`; a prefix ending
    /// in `.` takes every name it begins).
    Prefixes(Vec<String>),
}

impl BlockSpec {
    /// `layer`, `tensor`, or comma-separated name prefixes.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "layer" => Ok(Self::Layer),
            "tensor" => Ok(Self::Tensor),
            list => {
                let prefixes: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
                if prefixes.iter().any(|p| p.is_empty()) {
                    bail!("--blocks {s}: expected `layer`, `tensor` or comma-separated parameter-name prefixes, with no empty one");
                }
                Ok(Self::Prefixes(prefixes))
            }
        }
    }
}

/// One block of parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The layer, tensor or prefix that names it.
    pub name: String,
    /// Its tensors, in layout order.
    pub tensors: Vec<String>,
    /// (offset, length) of each tensor in the flat parameter vector, in layout order.
    ranges: Vec<(i64, i64)>,
    /// The number of parameters d_b (H_bb is d_b x d_b).
    pub dim: usize,
    /// The whole network's d.
    total: usize,
}

/// A tensor's module: its name before the last `.` (the whole name if it has none).
pub fn module_of(name: &str) -> &str {
    name.rsplit_once('.').map(|(m, _)| m).unwrap_or(name)
}

fn under_prefix(name: &str, prefix: &str) -> bool {
    name == prefix
        || (name.starts_with(prefix)
            && (prefix.ends_with('.') || name[prefix.len()..].starts_with('.')))
}

/// The blocks of `spec` over a model's parameter layout, in layout order of their first
/// tensor (prefixes: in the order given). A prefix that matches no tensor is an error
/// naming the model's modules.
pub fn blocks(spec: &BlockSpec, layout: &[TensorLayout]) -> Result<Vec<Block>> {
    let total: usize = layout.iter().map(|t| t.numel).sum();
    let make = |name: &str, members: Vec<&TensorLayout>| Block {
        name: name.to_string(),
        tensors: members.iter().map(|t| t.name.clone()).collect(),
        ranges: members
            .iter()
            .map(|t| (t.offset as i64, t.numel as i64))
            .collect(),
        dim: members.iter().map(|t| t.numel).sum(),
        total,
    };
    let mut out: Vec<Block> = Vec::new();
    match spec {
        BlockSpec::Tensor => {
            for t in layout {
                out.push(make(&t.name, vec![t]));
            }
        }
        BlockSpec::Layer => {
            let mut names: Vec<&str> = Vec::new();
            for t in layout {
                let m = module_of(&t.name);
                if !names.contains(&m) {
                    names.push(m);
                }
            }
            for m in names {
                let members = layout.iter().filter(|t| module_of(&t.name) == m).collect();
                out.push(make(m, members));
            }
        }
        BlockSpec::Prefixes(prefixes) => {
            for p in prefixes {
                let members: Vec<&TensorLayout> =
                    layout.iter().filter(|t| under_prefix(&t.name, p)).collect();
                if members.is_empty() {
                    let mut modules: Vec<&str> = Vec::new();
                    for t in layout {
                        let m = module_of(&t.name);
                        if !modules.contains(&m) {
                            modules.push(m);
                        }
                    }
                    bail!(
                        "--blocks {p}: matches no parameter tensor (the model's layers: {})",
                        modules.join(", ")
                    );
                }
                // A tensor in two blocks measures it twice under two names (`fc1,fc1`,
                // `fc1.weight,fc1`): refused, so that the rows are disjoint blocks.
                if let Some((other, t)) = out.iter().find_map(|b: &Block| {
                    members
                        .iter()
                        .find(|t| b.tensors.contains(&t.name))
                        .map(|t| (b.name.clone(), t.name.clone()))
                }) {
                    bail!("--blocks {p}: {t} is already in block {other}; the blocks must not share tensors");
                }
                out.push(make(p, members));
            }
        }
    }
    Ok(out)
}

impl Block {
    /// P_b v: the block's coordinates of a flat vector of all d parameters.
    pub fn restrict(&self, v: &Tensor) -> Result<Tensor> {
        let parts: Vec<Tensor> = self
            .ranges
            .iter()
            .map(|&(o, n)| v.f_narrow(0, o, n))
            .collect::<Result<_, _>>()?;
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    /// P_b^T v_b: a block vector padded with zeros to all d parameters.
    pub fn embed(&self, vb: &Tensor) -> Result<Tensor> {
        let full = Tensor::f_zeros([self.total as i64], (Kind::Double, vb.device()))?;
        let mut at = 0;
        for &(o, n) in &self.ranges {
            full.f_narrow(0, o, n)?
                .f_copy_(&vb.f_narrow(0, at, n)?.f_to_kind(Kind::Double)?)?;
            at += n;
        }
        Ok(full)
    }

    /// H_bb v_b = P_b H P_b^T v_b from the whole operator's product `apply`.
    pub fn apply(
        &self,
        vb: &Tensor,
        mut apply: impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        if vb.numel() != self.dim {
            bail!(
                "block {}: a vector of {} values for {} parameters",
                self.name,
                vb.numel(),
                self.dim
            );
        }
        self.restrict(&apply(&self.embed(vb)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hessian::tests::tiny;
    use crate::hessian::LossHessian;
    use crate::hessian_spectrum::{hutchinson_trace, lanczos, stochastic_lanczos_quadrature};
    use gradscope_io::grad_matrix::layout_from_shapes;
    use tch::Device;

    fn layout() -> Vec<TensorLayout> {
        layout_from_shapes(&[
            ("features.0.weight", vec![4, 3]),
            ("features.0.bias", vec![4]),
            ("features2.weight", vec![2, 4]),
            ("fc.weight", vec![3, 2]),
            ("scale", vec![1]),
        ])
    }

    #[test]
    fn blocks_group_tensors_by_layer_tensor_or_prefix() {
        let l = layout();
        let by_layer = blocks(&BlockSpec::parse("layer").unwrap(), &l).unwrap();
        let names: Vec<&str> = by_layer.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["features.0", "features2", "fc", "scale"]);
        assert_eq!(
            by_layer[0].tensors,
            ["features.0.weight", "features.0.bias"]
        );
        assert_eq!(by_layer[0].dim, 16);
        assert_eq!(by_layer.iter().map(|b| b.dim).sum::<usize>(), 31);
        let by_tensor = blocks(&BlockSpec::parse("tensor").unwrap(), &l).unwrap();
        assert_eq!(by_tensor.len(), 5);
        let p = blocks(&BlockSpec::parse("features, fc.").unwrap(), &l).unwrap();
        assert_eq!(p[0].tensors, ["features.0.weight", "features.0.bias"]);
        assert_eq!(p[1].tensors, ["fc.weight"]);
        let err = blocks(&BlockSpec::parse("fc9").unwrap(), &l).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--blocks fc9: matches no parameter tensor (the model's layers: features.0, features2, fc, scale)"
        );
        assert!(BlockSpec::parse("fc,,x").is_err());
        for (spec, want) in [
            ("fc,fc", "--blocks fc: fc.weight is already in block fc"),
            (
                "features.0.weight,features",
                "--blocks features: features.0.weight is already in block features.0.weight",
            ),
        ] {
            let err = blocks(&BlockSpec::parse(spec).unwrap(), &l).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{want}; the blocks must not share tensors")
            );
        }
        // restrict and embed are each other's inverse on the block
        let v = Tensor::arange(31, (Kind::Double, Device::Cpu));
        let b = &p[0];
        let vb = b.restrict(&v).unwrap();
        assert_eq!(
            Vec::<f64>::try_from(&vb).unwrap(),
            (0..16).map(f64::from).collect::<Vec<_>>()
        );
        let back = b.embed(&vb).unwrap();
        assert_eq!(
            b.restrict(&back)
                .unwrap()
                .sum(Kind::Double)
                .double_value(&[]),
            120.0
        );
        assert_eq!(back.sum(Kind::Double).double_value(&[]), 120.0);
    }

    /// The dense Hessian H of a small network (163 parameters, tanh, 64 examples; column by
    /// column from products) gives its diagonal blocks by slicing; each block operator's
    /// own dense matrix, built from block products, must be that slice, the blocks' traces
    /// must add up to tr(H) (to rounding: the same diagonal entries), and Lanczos on a block
    /// must find the top eigenvalues of the slice as libtorch's dense solver (LAPACK syevd
    /// via linalg_eigh) gives them.
    #[test]
    fn block_curvature_matches_the_dense_diagonal_blocks() {
        let (m, x, y) = tiny(4, 8, 64);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let dense = h.dense().unwrap();
        let dense = (&dense + dense.transpose(0, 1)) * 0.5;
        let whole: f64 = dense.trace().double_value(&[]);
        let layout = m.store.layout();
        for spec in ["layer", "tensor"] {
            let bs = blocks(&BlockSpec::parse(spec).unwrap(), &layout).unwrap();
            let mut sum = 0.0;
            for b in &bs {
                let idx: Vec<i64> = b.ranges.iter().flat_map(|&(o, n)| o..o + n).collect();
                let idx = Tensor::from_slice(&idx);
                let slice = dense.index_select(0, &idx).index_select(1, &idx);
                // the block operator's dense matrix
                let cols: Vec<Tensor> = (0..b.dim as i64)
                    .map(|j| {
                        let e = Tensor::zeros([b.dim as i64], (Kind::Double, Device::Cpu));
                        let _ = e.narrow(0, j, 1).fill_(1.0);
                        b.apply(&e, |v| h.hvp(v)).unwrap()
                    })
                    .collect();
                let own = Tensor::stack(&cols, 1);
                let diff = (&own - &slice).abs().max().double_value(&[]);
                let scale = slice.abs().max().double_value(&[]);
                assert!(diff <= 1e-5 * scale, "{}: {diff} vs {scale}", b.name);
                sum += own.trace().double_value(&[]);
                // top eigenvalues against the dense solver on the slice
                let (ev, _) = slice.linalg_eigh("L");
                let mut ev: Vec<f64> = Vec::<f64>::try_from(&ev).unwrap();
                ev.sort_by(|a, b| b.total_cmp(a));
                let k = 3.min(b.dim);
                let e = lanczos(b.dim, k, b.dim, 1e-10, 1, Device::Cpu, |v| {
                    b.apply(v, |w| h.hvp(w))
                })
                .unwrap();
                for i in 0..k {
                    let rel = (e.values[i] - ev[i]).abs() / ev[0].abs();
                    assert!(
                        rel < 1e-6,
                        "{spec} {}: eigenvalue {i}: {} vs {} ({rel:e})",
                        b.name,
                        e.values[i],
                        ev[i]
                    );
                }
            }
            let rel = (sum - whole).abs() / whole.abs();
            assert!(
                rel < 1e-6,
                "{spec}: block traces {sum} vs {whole} ({rel:e})"
            );
        }
    }

    /// With probes, each block's Hutchinson estimate carries its standard error, and the
    /// sum of the estimates is within 4 combined standard errors of the exact trace; a
    /// block's SLQ weights sum to 1 and its nodes lie in the block's spectrum's range.
    #[test]
    fn hutchinson_block_traces_add_up_within_their_errors() {
        let (m, x, y) = tiny(5, 8, 64);
        let mut h = LossHessian::new(&m, &x, &y, 1000, true).unwrap();
        let dense = h.dense().unwrap();
        let whole: f64 = dense.trace().double_value(&[]);
        let bs = blocks(&BlockSpec::Layer, &m.store.layout()).unwrap();
        let (mut sum, mut var) = (0.0, 0.0);
        for b in &bs {
            let (t, se) =
                hutchinson_trace(b.dim, 300, 2, Device::Cpu, |v| b.apply(v, |w| h.hvp(w))).unwrap();
            sum += t;
            var += se * se;
        }
        assert!(
            (sum - whole).abs() < 4.0 * var.sqrt(),
            "{sum} +- {} vs {whole}",
            var.sqrt()
        );
        let b = &bs[1];
        let q = stochastic_lanczos_quadrature(b.dim, 2, 20, 3, Device::Cpu, |v| {
            b.apply(v, |w| h.hvp(w))
        })
        .unwrap();
        for p in &q {
            assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-10);
        }
    }
}
