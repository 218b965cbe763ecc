//! `--blocks`: the curvature of each diagonal block H_bb of the Hessian (one layer's, one
//! tensor's or one name prefix's parameters), measured as the whole network's is: the
//! products are H v with v zero outside the block, read back on the block
//! (`gradscope_torch::hessian_blocks`).

use super::curvature::{curvature, Curvature};
use super::report::BlockRow;
use super::Args;
use anyhow::Result;
use gradscope_tool::progress::progress;
use gradscope_torch::hessian::LossHessian;
use gradscope_torch::hessian_blocks::Block;
use tch::{Device, Tensor};

/// Each block's curvature, in the blocks' order.
pub fn measure(
    args: &Args,
    blocks: &[Block],
    grid: Option<(f64, f64, usize)>,
    device: Device,
    hess: &mut LossHessian,
) -> Result<Vec<Curvature>> {
    let bar = progress(Some(blocks.len() as u64), "blocks");
    let mut per_block = Vec::with_capacity(blocks.len());
    for b in blocks {
        let c = curvature(args, &b.name, b.dim, grid, device, &mut |v: &Tensor| {
            b.apply(v, |w| hess.hvp(w))
        })?;
        per_block.push(c);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(per_block)
}

/// `--blocks-output`'s rows: one per curvature (the whole network's, `all`, first), with
/// the block's tensors; none without `--blocks`.
pub fn rows(curvatures: &[&Curvature], blocks: &[Block], step: u64) -> Vec<BlockRow> {
    if blocks.is_empty() {
        return Vec::new();
    }
    curvatures
        .iter()
        .map(|c| {
            let (trace, trace_se) = c.trace.unwrap_or((f64::NAN, f64::NAN));
            BlockRow {
                step,
                block: c.block.clone(),
                tensors: blocks
                    .iter()
                    .find(|b| b.name == c.block)
                    .map(|b| b.tensors.join(","))
                    .unwrap_or_default(),
                parameters: c.dim as u64,
                top_eigenvalue: c.top_eigenvalue(),
                trace,
                trace_se,
                hvps: c.hvps as u64,
            }
        })
        .collect()
}
